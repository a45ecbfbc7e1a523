"""Torn checkpoints never block a resume; checkpoints appear atomically; time and counters add up."""

from __future__ import annotations

import inspect
import json
import shutil

import pytest

from ladder_core.cli import run
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.testing.compose import compose_config
from ladder_core.testing.tiny_models import tiny_llama
from ladder_core.testing.toy_domain import ToyPlugin
from ladder_core.training.checkpoints import (
    AttemptLedger,
    TornCheckpointWarning,
    checkpoint_problem,
    latest_valid_checkpoint,
)


def test_canary_private_trainer_methods_we_override_keep_their_shape():
    """AtomicCheckpointMixin overrides Trainer._save_checkpoint and _get_output_dir: fail loudly if they change."""
    from transformers import Trainer

    assert list(inspect.signature(Trainer._save_checkpoint).parameters) == ["self", "model", "trial"]
    assert list(inspect.signature(Trainer._get_output_dir).parameters) == ["self", "trial"]
    source = inspect.getsource(Trainer._save_checkpoint)
    # the checkpoint folder is placed under whatever _get_output_dir returns, and rotation happens there
    assert "self._get_output_dir(trial=trial)" in source
    assert "os.path.join(run_dir, checkpoint_folder)" in source
    assert "rotate_checkpoints(" in source
    # TRL's override writes its extra files under _get_output_dir too, so they land in the staging folder
    from trl import GRPOTrainer

    assert list(inspect.signature(GRPOTrainer._save_checkpoint).parameters) == ["self", "model", "trial"]
    trl_source = inspect.getsource(GRPOTrainer._save_checkpoint)
    assert "super()._save_checkpoint(model, trial)" in trl_source
    assert "os.path.join(run_dir" not in trl_source and "self.args.output_dir, checkpoint_folder" not in trl_source
    from transformers.trainer_utils import rotate_checkpoints

    assert {"output_dir", "save_total_limit", "best_model_checkpoint", "use_mtime"} <= set(
        inspect.signature(rotate_checkpoints).parameters)


def _fake_checkpoint(path, step, complete=True):
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (path / "model.safetensors").write_bytes(b"x" * 10)


def test_the_newest_complete_checkpoint_is_chosen_and_torn_ones_are_named(tmp_path):
    _fake_checkpoint(tmp_path / "checkpoint-2", 2)
    _fake_checkpoint(tmp_path / "checkpoint-10", 10)
    _fake_checkpoint(tmp_path / "checkpoint-20", 20, complete=False)
    (tmp_path / "checkpoint-30").mkdir()
    (tmp_path / "checkpoint-30" / "trainer_state.json").write_text("{trunc")
    with pytest.warns(TornCheckpointWarning) as caught:
        assert latest_valid_checkpoint(tmp_path) == tmp_path / "checkpoint-10"
    messages = [str(w.message) for w in caught]
    assert any("checkpoint-30" in m and "unreadable" in m for m in messages)
    assert any("checkpoint-20" in m and "no trainer_state.json" in m for m in messages)
    assert checkpoint_problem(tmp_path / "checkpoint-2") is None
    assert latest_valid_checkpoint(tmp_path / "missing") is None


def test_attempt_ledger_adds_up_and_survives_a_missing_stop(tmp_path):
    path = tmp_path / "attempts.json"
    first = AttemptLedger(path, heartbeat_s=0.05)
    first.start()
    import time

    time.sleep(0.3)
    first._stop.set()  # a kill: no stop(), only heartbeats were written
    first._thread.join()
    written = json.loads(path.read_text())["attempts"]
    assert len(written) == 1 and written[0]["seconds"] >= 0.2 and not written[0]["finished"]
    second = AttemptLedger(path)
    second.start()
    total = second.stop()
    assert total >= 0.2 and second.attempts == 2
    fresh = AttemptLedger(path)
    fresh.start(fresh=True)
    assert fresh.stop() < 0.2 and fresh.attempts == 1


SMALL = [
    "+domain=toy", "pipeline.stages=[variants,train,report]", "trainer.max_steps=4", "trainer.prompts_per_step=2",
    "trainer.num_generations=4", "trainer.report_to=[]", "trainer.save_steps=2", "trainer.save_total_limit=5",
    "model.max_completion_length=8", "variants.per_root=6", "variants.max_depth=2",
    "variants.children_per_node=3", "variants.generators=[toy-rules]",
]


def test_a_run_whose_newest_checkpoint_holds_only_config_json_resumes_from_the_previous(tmp_path):
    model = tiny_llama(tmp_path / "model", hidden=32, layers=1)
    run_dir = tmp_path / "run"
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    cfg = compose_config(host, [*SMALL, f"model.name_or_path={model}"], run_dir=run_dir)
    run(cfg, host)
    ckpts = run_dir / "train" / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not list((ckpts / ".staging").glob("checkpoint-*"))  # staged, then renamed into place
    assert (ckpts / "checkpoint-4" / "ladder_reward_faults.json").exists()
    first = json.loads((run_dir / "train" / "summary.json").read_text())
    first_stage_s = json.loads((run_dir / "timings.json").read_text())["seconds"]["train"]

    # What a kill during HF's write of checkpoint-4 leaves behind: a folder with config.json only.
    for name in ("DONE.json", "summary.json"):
        (run_dir / "train" / name).unlink()
    shutil.rmtree(run_dir / "train" / "final")
    for item in (ckpts / "checkpoint-4").iterdir():
        if item.name != "config.json":
            shutil.rmtree(item) if item.is_dir() else item.unlink()

    first_log = (run_dir / "train" / "log.jsonl").read_text().splitlines()
    with pytest.warns(TornCheckpointWarning, match="checkpoint-4"):
        run(cfg, host)
    lines = (run_dir / "train" / "log.jsonl").read_text().splitlines()
    assert lines[:2] == first_log[:2]  # resumed from checkpoint-2: steps 1-2 kept, not retrained
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4]
    second = json.loads((run_dir / "train" / "summary.json").read_text())
    assert second["steps"] == 4 and second["attempts"] == 2
    assert second["seconds"] > first["seconds"]  # both attempts' training time
    assert second["reward_checks"] == first["reward_checks"]  # 2 steps restored + 2 steps redone
    assert checkpoint_problem(ckpts / "checkpoint-4") is None  # re-saved whole
    timings = json.loads((run_dir / "timings.json").read_text())["seconds"]
    assert timings["train"] > first_stage_s
    report = json.loads((run_dir / "report.json").read_text())
    assert report["training"]["steps"] == 4
