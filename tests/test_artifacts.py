"""The run directory's one schema: typed records, one JSONL reader/writer, one torn-line rule."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import types
import typing

from pathlib import Path

import pytest

from ladder_core import artifacts
from ladder_core.artifacts import (
    ArtifactError,
    EvalProblemResult,
    EvalSummary,
    TrainStep,
    TrainSummary,
    append_jsonl,
    cut_torn_tail,
    from_dict,
    read_json,
    read_jsonl,
    to_dict,
    write_json,
)
from ladder_core.observers import RunReport, TrainStepInfo
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.hookspecs import hookimpl
from ladder_core.records import TreeNode


def _steps(n):
    return [TrainStep(step=i, reward=0.1 * i, depth_reward={"0": 0.5}, dynamic={"groups_seen": i}) for i in range(n)]


def test_torn_last_line_is_dropped_with_a_warning_and_cut_before_appending(tmp_path, caplog):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, _steps(3))
    with path.open("a") as fh:
        fh.write('{"step": 3, "rew')  # a kill in the middle of a write
    with caplog.at_level(logging.WARNING):
        assert [s.step for s in read_jsonl(path, TrainStep)] == [0, 1, 2]
    assert "torn last line" in caplog.text and "line 4" in caplog.text
    assert cut_torn_tail(path) == len('{"step": 3, "rew')
    append_jsonl(path, [TrainStep(step=3)])
    assert [s.step for s in read_jsonl(path, TrainStep)] == [0, 1, 2, 3]


def test_a_complete_looking_last_line_without_its_newline_is_torn_too(tmp_path):
    path = tmp_path / "log.jsonl"
    append_jsonl(path, _steps(2))
    with path.open("a") as fh:
        fh.write(artifacts.dumps_line(TrainStep(step=2)))  # the newline never made it
    assert len(read_jsonl(path, TrainStep)) == 2


def test_a_bad_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "results.jsonl"
    append_jsonl(path, _steps(1))
    with path.open("a") as fh:
        fh.write("not json\n")
    append_jsonl(path, _steps(1))
    with pytest.raises(ArtifactError, match=r"results\.jsonl: line 2 is not JSON"):
        read_jsonl(path)
    with pytest.raises(ArtifactError, match="line 2"):
        cut_torn_tail(path)  # a resumed writer refuses too, rather than appending after corruption


def test_a_line_that_does_not_fit_its_record_names_file_line_and_field(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1}\n{"step": 2, "rewad": 0.5}\n{"step": "three"}\n')
    with pytest.raises(ArtifactError, match=r"log\.jsonl: line 2: unknown field\(s\) rewad"):
        read_jsonl(path, TrainStep)
    path.write_text('{"step": 1}\n{"step": "three"}\n')
    with pytest.raises(ArtifactError, match=r"line 2: TrainStep\.step: expected int"):
        read_jsonl(path, TrainStep)


def test_missing_fields_and_newer_versions_are_refused(tmp_path):
    with pytest.raises(ArtifactError, match="missing field"):
        from_dict(EvalSummary, {"n_problems": 3})
    data = to_dict(TrainStep(step=1))
    assert data["schema_version"] == TrainStep.SCHEMA_VERSION
    data["schema_version"] = TrainStep.SCHEMA_VERSION + 1
    with pytest.raises(ArtifactError, match="newer than this ladder reads"):
        from_dict(TrainStep, data)
    del data["schema_version"]  # files from before the schema are version 1
    assert from_dict(TrainStep, data) == TrainStep(step=1)


def _example(cls):
    """A record of ``cls`` with every required field filled by type (nested records built the same way)."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        values[f.name] = _value(artifacts._hints(cls)[f.name])
    return cls(**values)


def _value(hint):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _value(args[0])  # the first option: a real value, not None
    if dataclasses.is_dataclass(hint):
        return _example(hint)
    if origin is tuple:
        return tuple(_value(a) for a in args)
    return {dict: {}, list: []}.get(origin, {float: 1.5, int: 2, bool: True}.get(hint, "x"))


@pytest.mark.parametrize("cls", [c for c in vars(artifacts).values() if isinstance(c, type)
                                 and dataclasses.is_dataclass(c) and "SCHEMA_VERSION" in c.__dict__
                                 and c.__module__ == artifacts.__name__], ids=lambda c: c.__name__)
def test_every_record_round_trips_through_its_file(tmp_path, cls):
    record = _example(cls)
    write_json(tmp_path / "one.json", record)
    assert read_json(tmp_path / "one.json", cls) == record
    append_jsonl(tmp_path / "many.jsonl", [record, record])
    assert read_jsonl(tmp_path / "many.jsonl", cls) == [record, record]


def test_tree_nodes_round_trip_and_load_with_datasets(tmp_path):
    nodes = [TreeNode("r", None, 0, "r", "t", meta={"answer": 3}),
             TreeNode("r/v1", "r", 1, "r", "u", transformations=("simplify",), temperature=0.7)]
    path = tmp_path / "nodes.jsonl"
    append_jsonl(path, nodes)
    back = read_jsonl(path, TreeNode)
    assert back == nodes and back[0].meta == {"answer": 3}
    row = json.loads(path.read_text().splitlines()[1])
    assert row["schema_version"] == 1 and isinstance(row["meta"], str)


#: Names of records that were merged into one (the tree node, the evaluation and TTRL lines, the report's views).
OLD_NAMES = ("VariantNode", "TrainingNode", "CurriculumNode", "ProblemResult", "ProblemOutcome", "TTRLProblemResult",
             "TrainResult", "TrainingResult")


def test_the_old_record_names_are_gone_from_code_and_docs():
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\b(" + "|".join(OLD_NAMES) + r")\b")
    hits = []
    for folder in ("ladder_core", "plugins", "benchmarks", "docs", "tests"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".md") and path != Path(__file__).resolve():
                hits += [f"{path.relative_to(root)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
                         if pattern.search(line)]
    for name in ("README.md",):
        hits += [name] if pattern.search((root / name).read_text()) else []
    assert not hits, hits


def test_run_end_observers_get_typed_stage_records(tmp_path):
    write_json(tmp_path / "baseline" / "summary.json",
               EvalSummary(n_problems=4, samples=2, temperature=1.0, pass_at_k={"1": 0.25}, greedy_accuracy=0.5,
                           solved_any_sample=1))
    write_json(tmp_path / "train" / "summary.json",
               TrainSummary(steps=3, seconds=1.0, reward_first=0.1, reward_last=0.4, dynamic_sampling={},
                            reward_failures={}, reward_checks=12, final_depth_success={"0": 0.5}))
    (tmp_path / "evaluate").mkdir()
    (tmp_path / "evaluate" / "summary.json").write_text('{"n_problems": "four"}')
    seen = []

    class Observer:
        @hookimpl
        def ladder_run_end(self, report, run_dir):
            seen.append((report, run_dir))

    pm = create_plugin_manager(autoload=False, extra_plugins=[Observer()])
    PluginHost(pm).run_end(tmp_path)
    (report, run_dir), = seen
    assert isinstance(report, RunReport) and run_dir == tmp_path
    assert report.baseline.pass_at(1) == 0.25 and report.train.reward_last == 0.4
    assert report.final is None and report.ttrl is None
    assert any("evaluate/summary.json" in p for p in report.problems)


def test_train_step_payload_carries_run_dir_problem_and_the_log_record(tmp_path):
    info = TrainStepInfo(stage="ttrl", step=2, log=TrainStep(step=2, reward=0.5, loss=0.1), run_dir=tmp_path,
                         problem_id="p7")
    assert info.metrics["reward"] == 0.5 and info.problem_id == "p7" and info.run_dir == tmp_path


def test_eval_results_are_the_records_the_report_reads(tmp_path):
    from ladder_core.evaluation.evaluate import read_results

    path = tmp_path / "results.jsonl"
    result = EvalProblemResult("p1", "t", ["a", "b"], ["correct", "incorrect"], 2, 1, "a", True)
    append_jsonl(path, [result])
    assert read_results(path) == [result] and read_results(path)[0].pass_at_1 == 0.5


def test_a_reward_restricted_to_one_domain_is_not_applied_to_another_domains_run(caplog):
    from omegaconf import OmegaConf

    from ladder_core.records import RewardSpec
    from ladder_core.testing.toy_domain import ToyDomain
    from ladder_core.training.run import extra_reward_functions

    def brevity(completions, **kw):
        return [0.0 for _ in completions]

    def other(completions, **kw):
        return [1.0 for _ in completions]

    class Rewards:
        @hookimpl
        def ladder_reward_functions(self):
            return [RewardSpec("brevity", lambda d, c: brevity, domains=(ToyDomain.name,)),
                    RewardSpec("countdown-only", lambda d, c: other, domains=("countdown",)),
                    RewardSpec("anywhere", lambda d, c: other)]

    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[Rewards()]))
    cfg = OmegaConf.create({"reward": {"extra": ["brevity", "countdown-only", "anywhere"],
                                       "weights": {"brevity": 0.5}}})
    with caplog.at_level(logging.WARNING):
        funcs, weights = extra_reward_functions(cfg, ToyDomain(), host)
    assert funcs == [brevity, other] and weights == [0.5, 1.0]
    assert "countdown-only" in caplog.text and "not applied" in caplog.text


def test_run_directory_doc_names_every_file_and_record():
    """docs/run-directory.md lists each record of artifacts.RUN_FILES (the layout a test reads a real run with)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "run-directory.md").read_text()
    missing = sorted({cls.__name__ for cls in artifacts.RUN_FILES.values()} - set(re.findall(r"`(\w+)`", doc)))
    assert not missing, f"records missing from docs/run-directory.md: {missing}"
    for name in ("stage_attempts.json", "train_attempts.json", "plugin_faults.json", "ladder_curriculum.json",
                 "ladder_reward_faults.json", "training_nodes.jsonl", "report.json"):
        assert name in doc, name


def test_record_for_maps_run_paths_and_refuses_foreign_files(tmp_path):
    assert artifacts.record_for("train/checkpoints/checkpoint-12/ladder_reward_faults.json") is \
        artifacts.RewardFaultsCheckpoint
    assert artifacts.record_for("ttrl/trees/p_1/nodes.jsonl") is TreeNode
    assert artifacts.record_for("baseline/validation/summary.json") is artifacts.EvalSummary
    assert artifacts.record_for("train/checkpoints/checkpoint-12/trainer_state.json") is None  # HF's own
    with pytest.raises(ArtifactError, match="not a ladder artifact"):
        artifacts.read_artifact(tmp_path, "train/final/config.json")


def test_old_attempt_and_fault_files_still_read_and_newer_ones_are_refused(tmp_path):
    """Files written before these were records (no schema_version) read as version 1; a newer one is named."""
    (tmp_path / "stage_attempts.json").write_text(
        '{"attempts": [{"started": "2026-01-01T00:00:00", "seconds": 3.5, "finished": true}]}')
    assert read_json(tmp_path / "stage_attempts.json", artifacts.Attempts).seconds == 3.5
    (tmp_path / "plugin_faults.json").write_text('{"total": {"x.timeout": 2}, "earlier_attempts": {}, '
                                                 '"this_attempt": {"x.timeout": 2}}')
    assert read_json(tmp_path / "plugin_faults.json", artifacts.PluginFaults).total == {"x.timeout": 2}
    (tmp_path / "new.json").write_text('{"faults": {}, "checks": 1, "schema_version": 99}')
    with pytest.raises(ArtifactError, match="new.json: schema_version 99 of RewardFaultsCheckpoint is newer"):
        read_json(tmp_path / "new.json", artifacts.RewardFaultsCheckpoint)


def test_fields_with_json_keys_round_trip_under_those_keys(tmp_path):
    delta = artifacts.PairedDelta(delta=0.1, ci95=(0.0, 0.2), p_value=0.04, n=10, significant=True)
    data = artifacts.to_dict(artifacts.PairedEval(pass_at_1=delta))
    assert data["pass@1"]["significant_at_0.05"] is True and "pass_at_1" not in data
    assert from_dict(artifacts.PairedEval, data) == artifacts.PairedEval(pass_at_1=delta)
    with pytest.raises(ArtifactError, match="unknown field"):
        from_dict(artifacts.PairedEval, {"pass_at_1": artifacts.to_dict(delta)})  # the Python name is not the key
