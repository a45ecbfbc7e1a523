"""The report stage on synthetic run directories laid out as in docs/run-directory.md."""

from __future__ import annotations

import dataclasses
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ladder_core.artifacts import (
    EvalProblemResult,
    EvalSummary,
    GeneratorTotals,
    StageDone,
    StageTimings,
    TrainStep,
    TrainSummary,
    TreeNode,
    TtrlProblemResult,
    TtrlSummary,
    VariantsStats,
    Report,
    from_dict,
    read_json,
    to_dict,
    write_json,
    write_jsonl,
)
from ladder_core.report import build_report, collect_run, pass_at_k, ttrl_accuracy
from ladder_core.report.plots import PLOTS

PLOT_TITLES = {name: title for name, (title, _) in PLOTS.items()}

IDS = [f"test-{i}" for i in range(10)]
BASE_CORRECT = [0, 0, 1, 0, 0, 0, 2, 0, 0, 0]
BASE_GREEDY = [False] * 6 + [True] + [False] * 3
TRAINED_CORRECT = [8, 6, 4, 0, 2, 8, 7, 0, 1, 5]
TRAINED_GREEDY = [True, True, True, False, False, True, True, False, False, True]
SAMPLES = 8
KS = [1, 2, 4, 8]
# TTRL attempts the four problems the trained model fails greedily; the control is the un-adapted model.
def _ttrl_row(pid: str, adapted: int, a_greedy: bool, control: int, c_greedy: bool, steps: int) -> dict[str, Any]:
    return {"problem_id": pid, "trained_on_problem": False, "variants": 59, "steps": steps, "samples": 8,
            "adapted_correct": adapted, "adapted_greedy": a_greedy, "control_correct": control,
            "control_greedy": c_greedy, "solved": a_greedy, "control_solved": c_greedy, "steps_to_solve": None,
            "decontamination": {"dropped": {"ttrl_problem": {"canonical": 1, "equivalent": 0}}}, "seconds": 20.0}


TTRL_ROWS = [
    _ttrl_row("test-3", 6, True, 1, False, 10),
    _ttrl_row("test-4", 2, False, 2, False, 10),
    _ttrl_row("test-7", 0, False, 0, False, 10),
    _ttrl_row("test-8", 8, True, 1, False, 10),
]
TIMINGS = {"baseline": 12.5, "variants": 30.0, "train": 300.0, "evaluate": 14.0, "ttrl": 140.0}
CONFIG_YAML = """\
seed: 0
run_dir: {run_dir}
model:
  name: integration-tiny
  name_or_path: /opt/ladder/tiny-model
  scale: tiny
domain:
  name: integration
  train_set: auto
  test_set: auto
pipeline:
  stages: {stages}
  force: []
evaluation:
  samples: 8
  k: [1, 2, 4, 8]
ttrl:
  eval_samples: 8
report:
  plots: true
"""


def _mean_pass(correct: list[int], k: int) -> float:
    return sum(pass_at_k(SAMPLES, c, k) for c in correct) / len(correct)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _write_eval(run_dir: Path, stage: str, correct: list[int], greedy: list[bool], seconds: float) -> None:
    rows = []
    for pid, c, g in zip(IDS, correct, greedy):
        statuses = ["correct"] * c + ["incorrect"] * (SAMPLES - c - 1) + (["unparseable"] if c < SAMPLES else [])
        rows.append(EvalProblemResult(
            problem_id=pid, problem=f"integrate(x**{pid[-1]}, x)",
            completions=[f"<ANSWER>x</ANSWER> {i}" for i in range(SAMPLES)], statuses=statuses, n=SAMPLES,
            n_correct=c, greedy_completion="<ANSWER>x</ANSWER>", greedy_correct=g))
    write_jsonl(run_dir / stage / "results.jsonl", rows)
    write_json(run_dir / stage / "summary.json", EvalSummary(
        problem_set="tiny_hard_test", n_problems=len(IDS), samples=SAMPLES, temperature=1.0,
        pass_at_k={str(k): _mean_pass(correct, k) for k in KS}, greedy_accuracy=sum(greedy) / len(greedy),
        solved_any_sample=sum(c > 0 for c in correct), seconds=seconds))
    write_json(run_dir / stage / "DONE.json", StageDone(seconds=1.0))


def _write_variants(run_dir: Path) -> None:
    nodes = []
    for r in range(2):
        root = f"train-{r}"
        nodes.append(TreeNode(id=root, root_id=root, parent_id=None, depth=0, text="integrate(x*sin(x), x)",
                              canonical="x*sin(x)"))
        for i in range(3):
            child = f"{root}-{i}"
            nodes.append(TreeNode(id=child, root_id=root, parent_id=root, depth=1, text="integrate(sin(x), x)",
                                  canonical=f"sin(x)+{i}", transformations=("drop a term",), persona="Euler",
                                  temperature=1.0, generator="programmatic"))
            for j in range(5 if i < 2 else 0):
                nodes.append(TreeNode(id=f"{child}-{j}", root_id=root, parent_id=child, depth=2,
                                      text="integrate(x, x)", canonical=f"x+{i}{j}",
                                      transformations=("reduce an exponent",), temperature=0.8,
                                      generator="programmatic"))
    write_jsonl(run_dir / "variants" / "nodes.jsonl", nodes)
    # duplicates are rejection reasons
    write_json(run_dir / "variants" / "stats.json", VariantsStats(
        roots=2, variants=26, variants_per_root={"min": 13, "max": 13, "mean": 13.0}, complete_roots=0,
        nodes_per_depth={"0": 2, "1": 6, "2": 20}, proposed=50, accepted=26, acceptance_rate=0.52,
        rejections={"duplicate_canonical": 4, "duplicate_exact": 6, "not_easier": 4, "too_long": 2,
                    "unparseable": 8},
        per_generator={"programmatic": GeneratorTotals(proposed=50, accepted=26, acceptance_rate=0.52)},
        rounds_run=3, seconds=29.5, resumed=False, new_nodes=26))
    (run_dir / "variants" / "tree_train-0.html").write_text("<html>tree</html>", encoding="utf-8")
    (run_dir / "variants" / "tree_train-1.html").write_text("<html>tree</html>", encoding="utf-8")
    write_json(run_dir / "variants" / "DONE.json", StageDone(seconds=1.0))


def _write_train(run_dir: Path, steps: int = 40) -> None:
    rows = []
    for s in range(1, steps + 1):
        depth_reward = {"1": min(1.05, 0.2 + 0.02 * s), "2": min(1.05, 0.5 + 0.015 * s)}
        if s % 3 == 0:  # roots are only probed now and then
            depth_reward["0"] = min(1.05, 0.01 * s)
        rows.append(TrainStep(step=s, reward=sum(depth_reward.values()) / len(depth_reward), reward_std=0.3,
                              frac_zero_std=0.1, depth_reward=depth_reward,
                              depth_success={"0": 0.01 * s, "1": min(1.0, 0.2 + 0.015 * s),
                                             "2": min(1.0, 0.5 + 0.01 * s)},
                              roots_mastered=s // 20,
                              dynamic={"zero_std_groups": s // 2, "replaced": s // 3, "dropped": s // 8},
                              seconds=7.5))
    write_jsonl(run_dir / "train" / "log.jsonl", rows)
    write_json(run_dir / "train" / "summary.json", TrainSummary(
        steps=steps, seconds=300.0, reward_first=rows[0].reward, reward_last=rows[-1].reward,
        dynamic_sampling={"zero_std_groups": 20, "replaced": 13, "dropped": 5},
        reward_failures={"timeout": 2, "error": 1}, reward_checks=3200, final_depth_success={"0": 0.4, "1": 0.8, "2": 0.9},
        train_set="tiny_train"))
    (run_dir / "train" / "final").mkdir()
    (run_dir / "train" / "final" / "config.json").write_text("{}", encoding="utf-8")
    write_json(run_dir / "train" / "DONE.json", StageDone(seconds=1.0))


def _write_ttrl(run_dir: Path) -> None:
    write_jsonl(run_dir / "ttrl" / "results.jsonl", [from_dict(TtrlProblemResult, row) for row in TTRL_ROWS])
    write_json(run_dir / "ttrl" / "summary.json", TtrlSummary(
        protocol="variants_only", trained_on_problem=False, reset_weights=True, start_stage="evaluate", attempted=4,
        solved=2, control_solved=0, skipped_already_solved=6, eval_samples=8, seconds=80.0))
    write_json(run_dir / "ttrl" / "DONE.json", StageDone(seconds=1.0))


def make_run_dir(root: Path, stages: tuple[str, ...] = ("baseline", "variants", "train", "evaluate", "ttrl")) -> Path:
    run_dir = root / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(
        CONFIG_YAML.format(run_dir=run_dir, stages="[" + ", ".join((*stages, "report")) + "]"), encoding="utf-8")
    if "baseline" in stages:
        _write_eval(run_dir, "baseline", BASE_CORRECT, BASE_GREEDY, 12.0)
    if "variants" in stages:
        _write_variants(run_dir)
    if "train" in stages:
        _write_train(run_dir)
    if "evaluate" in stages:
        _write_eval(run_dir, "evaluate", TRAINED_CORRECT, TRAINED_GREEDY, 13.5)
    if "ttrl" in stages:
        _write_ttrl(run_dir)
    write_json(run_dir / "timings.json", StageTimings({s: TIMINGS[s] for s in stages}))
    return run_dir


def assert_valid_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 300
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.01, f"{path} is blank"


def _strict_load(path: Path) -> dict[str, Any]:
    def reject(token: str) -> None:
        raise AssertionError(f"non-standard JSON constant {token} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


# --------------------------------------------------------------------------- full run


def _report(run_dir: Path, cfg: Any = None) -> dict[str, Any]:
    """Build the report; the record it returns is the one ``report.json`` reads back as, and the file (the
    public format, checked by the tests below) is strict JSON."""
    returned = build_report(run_dir, cfg)
    assert isinstance(returned, Report)
    if (run_dir / "report.json").exists():
        assert read_json(run_dir / "report.json", Report) == returned
        return _strict_load(run_dir / "report.json")
    return to_dict(returned)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run_dir = make_run_dir(tmp_path_factory.mktemp("full"))
    return run_dir, _report(run_dir)


def test_full_run_header_and_evaluation(full_report: tuple[Path, dict[str, Any]]) -> None:
    _, r = full_report
    assert r["model"] == {"name": "integration-tiny", "name_or_path": "/opt/ladder/tiny-model", "schema_version": 1}
    assert r["domain"] == "integration"
    assert r["test_set"] == "tiny_hard_test"
    assert r["train_set"] == "tiny_train"  # the names the stages recorded, not the config's "auto"
    assert r["stages_run"] == ["baseline", "variants", "train", "evaluate", "ttrl"]
    assert r["stages_missing"] == []
    base, final = r["baseline"], r["final"]
    assert base["n_problems"] == final["n_problems"] == 10
    assert base["pass@1"] == pytest.approx(3 / 80)
    assert final["pass@1"] == pytest.approx(41 / 80)
    assert set(final["pass_at_k"]) == {"1", "2", "4", "8"}
    assert final["pass_at_k"]["8"] == pytest.approx(0.8)  # 8 of 10 problems have a correct sample
    assert base["greedy_accuracy"] == pytest.approx(0.1)
    assert final["greedy_accuracy"] == pytest.approx(0.6)
    assert r["delta_pass@1"] == pytest.approx(38 / 80)
    assert r["delta_greedy_accuracy"] == pytest.approx(0.5)
    assert final["status_counts"]["correct"] == 41
    assert not final["recomputed_from_results"]


def test_full_run_variants_training_timings(full_report: tuple[Path, dict[str, Any]]) -> None:
    _, r = full_report
    v = r["variants"]
    assert v["generated"] == 50 and v["accepted"] == 26 and v["roots"] == 2
    assert v["acceptance_rate"] == pytest.approx(26 / 50)
    assert v["per_depth"] == {"0": 2, "1": 6, "2": 20}  # counted from nodes.jsonl
    # most frequent first, ties by name
    assert list(v["rejections"]) == ["unparseable", "duplicate_exact", "duplicate_canonical", "not_easier", "too_long"]
    assert v["duplicates"] == 10
    assert v["raw"]["variants_per_root"] == {"min": 13, "max": 13, "mean": 13.0}
    assert v["tree_html"] == ["variants/tree_train-0.html", "variants/tree_train-1.html"]

    t = r["training"]
    assert t["steps"] == 40 and t["logged_steps"] == 40
    assert t["reward_first"] == pytest.approx((0.22 + 0.515) / 2)
    assert t["reward_last"] > t["reward_first"]
    assert t["dynamic_sampling"] == {"zero_std_groups": 20, "replaced": 13, "dropped": 5}
    assert t["reward_failures"] == {"timeout": 2, "error": 1} and t["reward_failures_total"] == 3
    assert t["final_depth_success"] == {"0": 0.4, "1": 0.8, "2": 0.9}
    assert t["final_model_saved"] is True

    assert r["wall_time"] == TIMINGS
    assert r["wall_time_total"] == pytest.approx(sum(TIMINGS.values()))


def test_full_run_ttrl_accuracies(full_report: tuple[Path, dict[str, Any]]) -> None:
    _, r = full_report
    t = r["ttrl"]
    assert (t["attempted"], t["solved"], t["control_solved"]) == (4, 2, 0)
    assert t["trained_on_problem"] is False
    assert t["base_stage"] == "evaluate" and t["solved_before_ttrl"] == 6
    assert t["accuracy"] == pytest.approx(0.8)  # 6 greedy-solved + 2 solved by the adapted models
    assert t["accuracy_control"] == pytest.approx(0.6)  # the control solves none of the four
    # pass@1 of untouched problems (1, .75, .5, 1, .875, .625) + adapted samples (.75, .25, 0, 1)
    assert t["pass@1"] == pytest.approx(6.75 / 10)
    assert t["pass@1_control"] == pytest.approx(5.25 / 10)  # control samples (1, 2, 0, 1)/8 instead
    vs = t["vs_control"]["attempted"]["pass@1"]
    assert vs["delta"] == pytest.approx((5 + 0 + 0 + 7) / 8 / 4)
    assert vs["p_value"] == pytest.approx(0.5)  # exact sign flip: 2 non-zero differences of 4 -> 4/8 patterns
    assert r["comparison"]["ttrl_vs_control"] == t["vs_control"]
    assert [p["problem_id"] for p in t["problems"]] == ["test-3", "test-4", "test-7", "test-8"]
    assert set(r["definitions"]) >= {"ttrl", "ttrl_accuracy", "ttrl_pass@1", "solved", "ci95", "paired"}
    assert r["warnings"] == []


def test_full_run_intervals_and_paired_comparison(full_report: tuple[Path, dict[str, Any]]) -> None:
    _, r = full_report
    ci = r["final"]["ci95"]["pass@1"]
    assert ci["mean"] == pytest.approx(41 / 80) and ci["n"] == 10
    assert ci["ci95"][0] < ci["mean"] < ci["ci95"][1]
    assert 0 <= r["baseline"]["ci95"]["greedy"]["ci95"][0] <= 0.1 <= r["baseline"]["ci95"]["greedy"]["ci95"][1]
    paired = r["comparison"]["final_vs_baseline"]
    assert paired["pass@1"]["delta"] == pytest.approx(38 / 80)
    assert paired["pass@1"]["ci95"][0] > 0 and paired["pass@1"]["p_value"] < 0.05
    assert paired["greedy"]["delta"] == pytest.approx(0.5)
    # greedy: 5 problems improve, none gets worse: exact sign-flip p = 2/32
    assert paired["greedy"]["p_value"] == pytest.approx(2 / 32)


def test_full_run_markdown_and_plots(full_report: tuple[Path, dict[str, Any]]) -> None:
    run_dir, r = full_report
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# LADDER run report")
    assert "integration-tiny (`/opt/ladder/tiny-model`)" in md
    assert "| model | pass@1 | pass@2 | pass@4 | pass@8 | greedy | solved | problems |" in md
    assert "| baseline | 3.8% [" in md
    assert "| after training | 51.2% [" in md
    assert "| after TTRL | 67.5% [" in md and "| – | – | – | – | 80.0% [" in md
    control = r["ttrl"]["pass@1_control"]
    assert f"| TTRL control | {100 * control:.1f}% |" in md and md.index("| TTRL control |") < md.index("| after TTRL |")
    assert "+47.5 points [" in md and "p = " in md
    assert "| 2 | 20 |" in md and "| duplicate_exact | 6 | 25.0% |" in md
    assert "[variants/tree_train-0.html](variants/tree_train-0.html)" in md
    assert "| dynamic sampling: replaced | 13 |" in md and "| reward checks failed: timeout | 2 |" in md
    assert "| programmatic | proposed 50, accepted 26, acceptance_rate 0.520 |" in md
    assert "| test-3 | no | 59 | 10 | 6/8 | yes | 1/8 | no |" in md
    assert "| ttrl | 2.3 min |" in md
    assert "## Definitions" in md and "## Warnings" not in md
    assert set(r["plots"]) == {"accuracy", "depth_reward", "pass_at_k", "ttrl_steps"}
    assert r["plots_skipped"] == {}
    for name, rel in r["plots"].items():
        assert rel == f"plots/{name}.png"
        assert f"![{PLOT_TITLES[name]}]({rel})" in md
        assert_valid_png(run_dir / rel)


# --------------------------------------------------------------------------- partial and broken runs


def test_partial_run_baseline_only(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, stages=("baseline",))
    r = _report(run_dir, {"pipeline": {"stages": ["baseline", "report"]}})
    assert r["stages_run"] == ["baseline"]
    assert r["stages_missing"] == ["variants", "train", "evaluate", "ttrl"]
    assert r["final"] is None and r["variants"] is None and r["training"] is None and r["ttrl"] is None
    assert r["delta_pass@1"] is None
    assert r["baseline"]["pass@1"] == pytest.approx(3 / 80)
    assert r["model"]["name"] == "integration-tiny"  # from config.yaml when cfg lacks it
    assert r["plots"]["accuracy"] == "plots/accuracy.png" and r["plots"]["depth_reward"] is None
    assert "train/log.jsonl" in r["plots_skipped"]["depth_reward"]
    assert r["plots_skipped"]["ttrl_steps"] == "TTRL did not run"
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "variants (not in pipeline.stages)" in md and "ttrl (not in pipeline.stages)" in md
    assert "The train stage did not run." in md and "The ttrl stage did not run." in md
    assert "| after training | – | – | – | – | – | – | not run |" in md
    assert "skipped: TTRL did not run" in md
    assert_valid_png(run_dir / "plots" / "accuracy.png")
    assert not (run_dir / "plots" / "ttrl_steps.png").exists()


def test_interrupted_stage_is_reported_as_started(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, stages=("baseline",))
    write_jsonl(run_dir / "train" / "log.jsonl", [TrainStep(step=1, reward=0.1, depth_reward={"1": 0.1})])
    r = _report(run_dir, {"pipeline": {"stages": ["baseline", "train", "report"]}})
    assert r["stage_status"]["train"] == "partial" and "train" in r["stages_missing"]
    assert r["training"]["steps"] == 1 and r["training"]["reward_last"] == pytest.approx(0.1)
    assert "train (started, not finished)" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_malformed_artifacts_become_warnings(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    (run_dir / "evaluate" / "summary.json").write_text("{not json", encoding="utf-8")
    with (run_dir / "train" / "log.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"step": 41, "reward": NaN-oops\n[1, 2]\n')  # a bad line in the middle: corruption
    with (run_dir / "ttrl" / "results.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"problem_id": "test-9", "solv')  # a torn last line: dropped as everywhere
    _write_json(run_dir / "variants" / "stats.json", [1, 2, 3])
    _write_json(run_dir / "timings.json", {"seconds": {"baseline": "fast", "train": {"seconds": 99.0}}})
    _write_json(run_dir / "ttrl" / "summary.json", {"attempted": "four", "steps_to_solve": "many"})
    r = _report(run_dir, None)
    text = " ".join(r["warnings"])
    assert "evaluate/summary.json: unreadable" in text
    assert "train/log.jsonl: line 41 is not JSON" in text
    assert "variants/stats.json: expected a JSON object" in text
    assert "ttrl/summary.json: unknown field(s)" in text or "ttrl/summary.json: missing field(s)" in text
    assert "timings.json: StageTimings.seconds['baseline']: expected a number" in text
    assert r["training"]["logged_steps"] == 0 and r["training"]["steps"] == 40  # the summary still reads
    # evaluate numbers are recomputed from results.jsonl with the same estimator
    assert r["final"]["recomputed_from_results"] is True
    assert r["final"]["pass@1"] == pytest.approx(41 / 80)
    assert r["final"]["pass_at_k"]["8"] == pytest.approx(0.8)
    assert r["final"]["greedy_accuracy"] == pytest.approx(0.6)
    assert r["variants"]["accepted"] == 26 and r["variants"]["generated"] is None
    assert r["ttrl"]["attempted"] == 4 and r["ttrl"]["solved"] == 2  # from results.jsonl
    assert r["wall_time"]["train"] == 300.0  # falls back to the stages' summary seconds
    assert r["wall_time"]["baseline"] == 12.0
    _strict_load(run_dir / "report.json")
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Warnings" in md and "evaluate/summary.json: unreadable" in md


def test_missing_or_empty_run_dir_still_reports(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _report(empty, None)
    assert r["stages_run"] == [] and len(r["stages_missing"]) == 5
    assert all(v is None for v in r["plots"].values())
    assert "No evaluation ran" in (empty / "report.md").read_text(encoding="utf-8")
    r = _report(tmp_path / "nowhere", None)
    assert any("does not exist" in w for w in r["warnings"])


def test_results_only_recompute_pass_at_k(tmp_path: Path) -> None:
    def row(pid: str, statuses: list[str]) -> EvalProblemResult:
        return EvalProblemResult(problem_id=pid, problem="p", completions=["c"] * len(statuses), statuses=statuses,
                                 n=len(statuses), n_correct=statuses.count("correct"))

    write_jsonl(tmp_path / "baseline" / "results.jsonl",
                [row("a", ["correct", "incorrect", "incorrect", "timeout"]), row("b", ["correct"] * 4)])
    summary = collect_run(tmp_path, {"evaluation": {"k": [1, 2, 4]}})
    assert summary.baseline is not None and summary.baseline.recomputed
    # a: n=4, c=1 -> pass@2 = 1 - C(3,2)/C(4,2) = 0.5; b always passes
    assert summary.baseline.pass_at_k == pytest.approx({1: (0.25 + 1) / 2, 2: 0.75, 4: 1.0})
    assert summary.baseline.greedy_accuracy is None
    assert summary.baseline.status_counts == {"correct": 5, "incorrect": 2, "timeout": 1}
    assert summary.stage_status["baseline"] == "partial"


def test_artifacts_in_another_shape_are_refused_not_guessed(tmp_path: Path) -> None:
    _write_json(tmp_path / "variants" / "stats.json", {
        "per_depth": {"0": {"nodes": 3}, "1": {"nodes": 12, "proposed": 30}, "2": {"accepted": 9}},
        "rejections": [{"reason": "invalid", "count": 5}], "roots": ["r0", "r1", "r2"]})
    _write_json(tmp_path / "train" / "summary.json", {"steps": 3, "train_set": "x", "reward": 0.5})
    summary = collect_run(tmp_path)
    assert summary.variants is None and summary.training is None
    text = " ".join(summary.warnings)
    assert "variants/stats.json: unknown field(s) per_depth" in text
    assert "train/summary.json: unknown field(s) reward" in text


def test_ttrl_without_per_problem_results_gives_no_made_up_accuracy(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, stages=("baseline", "ttrl"))
    (run_dir / "baseline" / "results.jsonl").unlink()
    summary = collect_run(run_dir)
    acc = ttrl_accuracy(summary.final or summary.baseline, summary.ttrl)
    assert acc.base_stage == "baseline" and acc.accuracy is None and acc.pass_at_1 is None
    assert "per-problem" in acc.notes[0]


def test_old_ttrl_lines_are_a_warning_not_a_number(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    write_jsonl(run_dir / "ttrl" / "results.jsonl", [{"problem_id": "test-3", "solved_any_time": True}])
    r = _report(run_dir, None)
    assert r["ttrl"]["problems"] == [] and any("older ladder" in w and "rerun" in w for w in r["warnings"])


def test_model_cell_keeps_its_backticks_closed(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path, stages=("baseline",))
    long_path = "/very/long/" + "x" * 120 + "/model"
    _report(run_dir, {"model": {"name": "m", "name_or_path": long_path}})
    line = next(l for l in (run_dir / "report.md").read_text().splitlines() if l.startswith("| model |"))
    assert line.count("`") == 2 and line.endswith("`) |")


def test_accuracy_plot_axis_scales_to_small_values(tmp_path: Path) -> None:
    from ladder_core.report.plots import _accuracy
    from ladder_core.report.metrics import ttrl_accuracy as acc_of

    run_dir = make_run_dir(tmp_path, stages=("baseline",))
    summary = collect_run(run_dir)
    fig = _accuracy(summary, acc_of(summary.baseline, None))
    top = fig.axes[0].get_ylim()[1]
    assert 10 <= top <= 15  # values of 3.8% and 10%: an axis to 12.5%, not 0-110%


def test_decontamination_counts_in_report(tmp_path: Path) -> None:
    run_dir = make_run_dir(tmp_path)
    stats = json.loads((run_dir / "variants" / "stats.json").read_text())
    stats["decontamination"] = {"dropped": {"test": {"canonical": 3, "equivalent": 1}}, "total_dropped": 4,
                                "overlapping_roots": [{"root_id": "train-1", "text": "t", "set": "test",
                                                       "problem_id": "test-2", "reason": "canonical"}],
                                "kept_overlapping_roots": True}
    _write_json(run_dir / "variants" / "stats.json", stats)
    r = _report(run_dir, None)
    d = r["decontamination"]
    assert d["variants"]["dropped"]["test"] == {"canonical": 3, "equivalent": 1, "schema_version": 1}
    assert d["overlapping_training_roots"] == 1 and "REPRODUCTION" in d["label"]
    md = (run_dir / "report.md").read_text()
    assert "| variants | test | 3 | 1 |" in md and "REPRODUCTION OF THE PUBLISHED SPLIT" in md


def test_plots_off_and_unresolvable_config(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    run_dir = make_run_dir(tmp_path, stages=("baseline", "evaluate"))
    cfg = OmegaConf.create({"model": {"name": "tiny", "name_or_path": "${oc.env:LADDER_TEST_SURELY_UNSET_VARIABLE}"},
                            "domain": {"name": "toy"}, "report": {"plots": False}})
    r = _report(run_dir, cfg)
    assert r["model"] == {"name": "tiny", "name_or_path": "/opt/ladder/tiny-model", "schema_version": 1}  # from config.yaml
    assert r["domain"] == "toy" and r["plots"] == {}
    assert not (run_dir / "plots").exists()
    assert "Plots are off" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_pass_at_k_estimator() -> None:
    assert pass_at_k(8, 0, 4) == 0.0
    assert pass_at_k(8, 8, 1) == 1.0
    assert pass_at_k(8, 2, 1) == pytest.approx(0.25)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # 1 - C(7,5)/C(10,5)
    assert pass_at_k(0, 0, 1) == 0.0


def test_import_is_cheap() -> None:
    code = "import sys, ladder_core.report; print(sorted(m for m in ('matplotlib', 'omegaconf', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_report_markdown_parses_into_well_formed_tables(full_report: tuple[Path, dict[str, Any]]) -> None:
    """report.md read by a CommonMark parser (GFM tables on): every table line is a table row of its
    table's width, and no backtick is left open (an open one swallows the rest of the line)."""
    from markdown_it import MarkdownIt

    run_dir, _ = full_report
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    tables = [t for t in tokens if t.type == "table_open"]
    assert tables
    table_lines = {line for t in tables for line in range(*t.map)}
    for number, line in enumerate(md.splitlines()):
        if line.startswith("|"):
            assert number in table_lines, f"line {number + 1} is not part of a parsed table: {line!r}"
    inline = [t for t in tokens if t.type == "inline"]
    for tok in inline:
        text = "".join(c.content for c in tok.children if c.type == "text")
        assert "`" not in text, f"unclosed code span in: {tok.content!r}"
    # each row has as many cells as its header
    i = 0
    while i < len(tokens):
        if tokens[i].type == "table_open":
            widths, cells = [], 0
            j = i
            while tokens[j].type != "table_close":
                if tokens[j].type == "tr_open":
                    cells = 0
                elif tokens[j].type in ("th_open", "td_open"):
                    cells += 1
                elif tokens[j].type == "tr_close":
                    widths.append(cells)
                j += 1
            assert len(set(widths)) == 1, widths
            i = j
        i += 1


def test_report_code_reads_typed_records_not_dict_keys() -> None:
    """The report reads the run directory's records (ladder_core.artifacts) and renders the Report record:
    no ``.get("key")`` guessing on raw dicts anywhere in the report package, and, outside the config reader
    (collect.py merges config mappings), no literal-key subscripts or dict-shape sniffing either."""
    import re

    import ladder_core.report as report_pkg

    get_literal = re.compile(r"""\.get\(\s*[rbuf]?["']""")
    subscript = re.compile(r"""[\w)\]]\[\s*[rbuf]?["'][^"']*["']\s*\]""")
    sniffing = re.compile(r"isinstance\([^)]*\b(Mapping|dict)\b")
    bad = []
    for path in sorted(Path(report_pkg.__file__).parent.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if code.strip().startswith(('"""', "``")) or '"""' in code and "``" in code:
                continue  # docstrings may quote a definition like DEFINITIONS["solved"]
            checks = [get_literal] + ([] if path.name == "collect.py" else [subscript, sniffing])
            bad += [f"{path.name}:{number}: {line.strip()}" for check in checks if check.search(code)]
    assert not bad, "\n".join(bad)


def test_group_counters_are_named_for_what_ran() -> None:
    """With dynamic sampling off (zero-variance groups, none replaced or dropped) the report does not call the
    counters "dynamic sampling"; with it on it shows every counter."""
    from ladder_core.report.markdown import _group_rows

    off = _group_rows({"batches": 80, "groups_seen": 640, "zero_variance": 469, "replaced": 0,
                       "dropped_unreplaced": 0, "extra_rounds": 0, "zero_variance_rate": 0.733})
    assert off == [("groups trained (dynamic sampling off)", "640"),
                   ("zero-variance groups (dynamic sampling off)", "469"),
                   ("zero-variance share (dynamic sampling off)", off[2][1])]
    assert off[2][1].startswith("0.73")
    on = _group_rows({"batches": 2, "groups_seen": 16, "zero_variance": 5, "replaced": 4, "dropped_unreplaced": 1})
    assert [k for k, _ in on][3] == "dynamic sampling: replaced" and len(on) == 5


def test_test_problems_the_model_was_trained_on_are_named(tmp_path: Path) -> None:
    """The baseline records the domain's pre-training overlap; the report says how many and report.json which."""
    from ladder_core.artifacts import read_json

    (tmp_path / "a").mkdir()
    run_dir = make_run_dir(tmp_path / "a")
    summary = read_json(run_dir / "baseline" / "summary.json", EvalSummary)
    write_json(run_dir / "baseline" / "summary.json", dataclasses.replace(summary, trained_on=[IDS[0], IDS[3]]))
    r = _report(run_dir)
    assert r["baseline"]["trained_on"] == [IDS[0], IDS[3]] and r["final"]["trained_on"] is None
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "**2 of the 10 test problems are in the model's own training data**" in md
    # unknown (a domain that cannot tell) or none: no such line
    (tmp_path / "b").mkdir()
    clean = make_run_dir(tmp_path / "b")
    _report(clean)
    assert "own training data" not in (clean / "report.md").read_text(encoding="utf-8")
