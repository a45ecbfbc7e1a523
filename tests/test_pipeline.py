"""The whole pipeline end to end on the toy domain and a tiny random model, and its resumption."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ladder_core.artifacts import TrainStep, TtrlProblemResult, read_jsonl
from ladder_core.cli import run
from ladder_core.hookspecs import hookimpl
from ladder_core.pipeline.runner import StageError, run_pipeline
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.testing.compose import compose_config
from ladder_core.testing.toy_domain import ToyPlugin

SMALL = [
    "+domain=toy", "trainer.max_steps=4", "trainer.prompts_per_step=2", "trainer.num_generations=4",
    "trainer.report_to=[]", "trainer.save_steps=2", "model.max_completion_length=8",
    "variants.per_root=6", "variants.max_depth=2", "variants.children_per_node=3", "variants.generators=[toy-rules]",
    "evaluation.samples=2", "evaluation.k=[1,2]", "evaluation.batch_size=8",
    "ttrl.max_problems=2", "ttrl.max_steps=2", "ttrl.variants_per_problem=4", "ttrl.eval_samples=2",
]


class Observer:
    """Records what the observer hooks receive."""

    def __init__(self):
        self.steps, self.ends, self.trees, self.ttrl = [], [], [], []

    @hookimpl
    def ladder_train_step_end(self, info):
        self.steps.append(info)

    @hookimpl
    def ladder_run_end(self, report, run_dir):
        self.ends.append((report, run_dir))

    @hookimpl
    def ladder_tree_grew(self, root_id, run_dir):
        self.trees.append((root_id, run_dir))

    @hookimpl
    def ladder_ttrl_problem_end(self, result, run_dir):
        self.ttrl.append((result.problem_id, run_dir))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, model_dir):
    """One run of every stage on the toy domain (shared by the tests below: about 25 s)."""
    tmp_path = tmp_path_factory.mktemp("full_run")
    observer = Observer()
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin(), observer]))
    cfg = compose_config(host, [*SMALL, f"model.name_or_path={model_dir}"], run_dir=tmp_path)
    return tmp_path, run(cfg, host), observer


def test_full_pipeline_writes_every_artifact_and_report(full_run):
    tmp_path, report, observer = full_run
    for stage in ("baseline", "variants", "train", "evaluate", "ttrl", "report"):
        assert (tmp_path / stage / "DONE.json").exists(), stage
    assert (tmp_path / "report.md").exists() and (tmp_path / "report.json").exists()
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["domain"] == "toy"
    assert saved["training"]["steps"] == 4
    assert saved["variants"]["accepted"] > 0
    assert set(saved["baseline"]["pass_at_k"]) == {"1", "2"}
    assert saved["ttrl"]["attempted"] <= 2
    log = [json.loads(x) for x in (tmp_path / "train" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert all(r["depth_reward"] for r in log)
    results = [json.loads(x) for x in (tmp_path / "baseline" / "results.jsonl").read_text().splitlines()]
    assert len(results) == 6 and all(len(r["completions"]) == 2 for r in results)
    assert report.domain == "toy"
    # observers get typed payloads with the run directory (and, in TTRL, the problem)
    train_steps = [i for i in observer.steps if i.stage == "train"]
    assert [i.step for i in train_steps] == [1, 2, 3, 4]
    assert all(i.run_dir == tmp_path.resolve() and i.problem_id is None for i in train_steps)
    assert [i.log for i in train_steps] == read_jsonl(tmp_path / "train" / "log.jsonl", TrainStep)
    ttrl_ids = {r.problem_id for r in read_jsonl(tmp_path / "ttrl" / "results.jsonl", TtrlProblemResult)}
    assert {i.problem_id for i in observer.steps if i.stage == "ttrl"} == ttrl_ids
    assert {pid for pid, _ in observer.ttrl} == ttrl_ids and observer.trees
    assert {d for _, d in observer.trees + observer.ttrl} == {tmp_path.resolve()}
    (end, end_dir), = observer.ends
    assert end_dir == tmp_path.resolve() and end.train.steps == 4 and end.final.pass_at(1) is not None
    assert end.report_json == tmp_path.resolve() / "report.json" and end.problems == ()


#: Files a run holds that are not ladder's records: HF's model/checkpoint files and the pictures and texts for people.
NOT_RECORDS = ("config.yaml", "report.md", "plots/*.png", "variants/tree_*.html", "train/final/*",
               "train/checkpoints/README.md", "*/checkpoints/checkpoint-*/*")


def test_every_file_of_a_run_reads_back_as_its_typed_record(full_run):
    """Every JSON/JSONL file the run wrote is named in artifacts.RUN_FILES and reads with the one reader into its
    record; every other file is one ladder does not own (HF's checkpoint and model files, pictures, report.md)."""
    from pathlib import PurePosixPath

    from ladder_core.artifacts import Report, read_artifact, read_json, record_for

    run_dir, report, _ = full_run
    read = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir).as_posix()
        cls = record_for(rel)
        if cls is None:
            assert any(PurePosixPath(rel).match(pattern) for pattern in NOT_RECORDS), f"{rel}: no record"
            assert not path.name.startswith("ladder_"), f"{rel}: a ladder file without a record"
            continue
        value = read_artifact(run_dir, rel)  # raises ArtifactError naming the file (and line) on any mismatch
        rows = value if isinstance(value, list) else [value]
        assert rows and all(isinstance(row, cls) for row in rows), rel
        assert json.loads(path.read_text().splitlines()[0] if path.suffix == ".jsonl" else path.read_text())[
            "schema_version"] == cls.SCHEMA_VERSION, f"{rel}: written without its schema_version"
        read[rel] = cls
    for expected in ("plugin_faults.json", "train/stage_attempts.json", "train/train_attempts.json",
                     "train/checkpoints/checkpoint-2/ladder_curriculum.json",
                     "train/checkpoints/checkpoint-2/ladder_reward_faults.json", "report.json", "timings.json"):
        assert expected in read, expected
    assert read_json(run_dir / "report.json", Report) == report


def test_unknown_stage_lists_valid_ones(tmp_path, host, model_dir, capsys):
    cfg = compose_config(host, [*SMALL, f"model.name_or_path={model_dir}", "pipeline.stages=[baseline,tain]"],
                         run_dir=tmp_path / "run")
    with pytest.raises(SystemExit):  # refused by the config check, before the run directory exists
        run(cfg, host)
    assert "pipeline.stages" in capsys.readouterr().err and not (tmp_path / "run").exists()
    with pytest.raises(StageError, match="valid stages.*baseline, variants, train"):
        run_pipeline(cfg, host)


RUNNER = textwrap.dedent("""
    import sys
    from ladder_core.cli import run
    from ladder_core.plugins import PluginHost, create_plugin_manager
    from ladder_core.testing.compose import compose_config
    from ladder_core.testing.toy_domain import ToyPlugin
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    cfg = compose_config(host, sys.argv[2:], run_dir=sys.argv[1])
    run(cfg, host)
""")


def test_kill_during_training_then_resume(tmp_path, model_dir):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    run_dir = tmp_path / "run"
    args = [*SMALL, f"model.name_or_path={model_dir}", "trainer.max_steps=8", "trainer.save_steps=2",
            "pipeline.stages=[baseline,variants,train,report]"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt_root = run_dir / "train" / "checkpoints"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any((c / "ladder_curriculum.json").exists() for c in ckpt_root.glob("checkpoint-*")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "train" / "DONE.json").exists()
    baseline_mtime = (run_dir / "baseline" / "results.jsonl").stat().st_mtime_ns
    nodes_before = (run_dir / "variants" / "nodes.jsonl").read_text()

    done = subprocess.run([sys.executable, str(script), str(run_dir), *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stage baseline: already done, skipped" in done.stderr
    assert "stage variants: already done, skipped" in done.stderr
    assert (run_dir / "baseline" / "results.jsonl").stat().st_mtime_ns == baseline_mtime
    assert (run_dir / "variants" / "nodes.jsonl").read_text() == nodes_before
    log = [json.loads(x) for x in (run_dir / "train" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 9)), "each step logged exactly once across the kill"
    assert json.loads((run_dir / "train" / "summary.json").read_text())["steps"] == 8
    assert (run_dir / "report.json").exists()
