"""benchmarks/ablation.py on the toy domain: validation for tuning, test once, intervals and paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark_modules import load_benchmark
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.testing.toy_domain import ToyPlugin

ROOT = Path(__file__).resolve().parents[1]


def _ablation():
    return load_benchmark("ablation")


def test_ablation_tiny_configuration_intervals_and_paired_tests(tmp_path, model_dir):
    ablation = _ablation()
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    overrides = [f"model.name_or_path={model_dir}", "trainer.max_steps=1", "trainer.prompts_per_step=2",
                 "trainer.num_generations=2", "trainer.report_to=[]", "model.max_completion_length=4",
                 "variants.per_root=3", "variants.max_depth=1", "variants.children_per_node=3",
                 "variants.generators=[toy-rules]", "evaluation.samples=2", "evaluation.k=[1,2]",
                 "ttrl.max_problems=1", "ttrl.max_steps=1", "ttrl.variants_per_problem=2", "ttrl.eval_samples=2"]
    common = ["--domain", "toy", "--seeds", "0", "1", "--ttrl-seeds", "0", "--out", str(tmp_path / "runs"),
              "--overrides", *overrides]
    # tuning runs evaluate the validation set: the run's test set is pointed at it
    assert ablation.split_overrides("validation", host, ["+domain=toy"]) == ["domain.test_set=toy_valid"]
    assert ablation.split_overrides("test", host, ["+domain=toy"]) == []
    test = ablation.main(["--split", "test", *common], host=host, results=tmp_path / "t.json")
    assert set(test["rows"][0]["problems"]["adaptive"]) == {f"toy_test/{i:03d}" for i in range(6)}
    arms = test["analysis"]["arms"]
    assert set(arms) == {"base", "roots_only", "uniform", "adaptive"}
    entry = arms["adaptive"]["pass@1"]
    assert entry["n"] == 2 and entry["method"] == "t" and entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
    pair = test["analysis"]["pairs"]["adaptive vs base (pass@1)"]
    assert pair["over_seeds_and_problems"]["n"] == 6 and pair["over_seeds_and_problems"]["seeds"] == 2
    assert 0 < pair["over_seeds_and_problems"]["p_value"] <= 1
    assert pair["over_seeds"]["n"] == 2
    assert test["analysis"]["ttrl"]["seeds"] == 1
    # TTRL pooled over the attempted problems: the counts are the run's own ttrl/results.jsonl
    attempted = test["analysis"]["ttrl"]["attempted"]
    lines = (tmp_path / "runs" / "test" / "seed0" / "adaptive" / "ttrl" / "results.jsonl").read_text().splitlines()
    assert attempted["n"] == len(lines) == 1
    assert attempted["solved"] == sum(json.loads(line)["solved"] for line in lines)
    assert attempted["paired"]["pass@1"]["n"] == 1 and attempted["solved_control"] in (0, 1)
    # training signal per arm: useful (non-zero variance) groups per second, from train/summary.json
    sig = test["rows"][0]["train"]["adaptive"]
    assert sig["groups"] == 2 and 0 <= sig["useful_groups"] <= 2 and sig["seconds"] > 0
    assert test["analysis"]["train"]["roots_only"]["useful_groups_per_s"]["n"] == 2
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["split"] == "test"
    table = ablation.summarise(test["analysis"], "test", 2)
    assert "evaluated once, after tuning on validation" in table and "| adaptive vs base (pass@1) |" in table
    assert "useful groups/s" in table
    assert (f"TTRL on the problems it attempted, over seeds (1 attempts of 1 distinct problems): solved "
            f"**{attempted['solved']} of 1**") in table
    # a second call with --analyse-only reads the finished seeds and trains nothing again
    again = ablation.main(["--split", "test", "--analyse-only", *common], host=host, results=tmp_path / "t2.json")
    assert again["rows"][0]["means"] == test["rows"][0]["means"]
    assert again["rows"][0]["train"]["adaptive"]["seconds"] == sig["seconds"]
    # the seed's compute time is its stages' own timings, not the time re-reading them took
    assert again["rows"][0]["seconds"] == test["rows"][0]["seconds"] > 0
    with pytest.raises(SystemExit):
        ablation.main(["--split", "test", "--analyse-only", *common[:2], "7", *common[4:]], host=host,
                      results=tmp_path / "t3.json")


def test_ttrl_attempts_of_one_problem_under_several_seeds_count_once():
    """Seeds may attempt the same problem: the paired TTRL comparison is over distinct problems, each the mean of
    its attempts, so a problem solved under two seeds does not count as two independent successes."""
    ablation = _ablation()

    def attempt(pid, solved):
        return {"problem_id": pid, "pass@1": solved / 2, "pass@1_control": 0.0, "solved": float(solved),
                "solved_control": 0.0}

    rows = [{"seed": s, "problems": {}, "means": {}, "ttrl": {"accuracy": 0.5, "problems": attempts}}
            for s, attempts in enumerate([[attempt("p/1", 1), attempt("p/2", 0)], [attempt("p/1", 1), attempt("p/3", 0)]])]
    att = ablation.analyse(rows)["ttrl"]["attempted"]
    assert (att["n"], att["distinct_problems"], att["solved"]) == (4, 3, 2)
    solved = att["paired"]["solved"]
    assert solved["n"] == 3 and abs(solved["delta"] - 1 / 3) < 1e-9  # pooled attempts would give 2 / 4


def test_write_docs_needs_the_test_split():
    with pytest.raises(SystemExit):
        _ablation().main(["--split", "validation", "--write-docs"])


def _heldout():
    return load_benchmark("heldout")


def _heldout_rows() -> list[dict]:
    """Two seeds: training gains one hard problem's greedy answer per seed and loses nothing."""
    rows = []
    for seed in (0, 1):
        base = {f"heldout4/{i:03d}": {"pass@1": 0.0, "greedy": 0.0} for i in (0, 1, 400)}
        after = {**base, "heldout4/000": {"pass@1": 0.5, "greedy": 1.0}}
        rows.append({"seed": seed, "problems": {"base": base, "adaptive": after, "uniform": base,
                                                "roots_only": base}})
    return rows


def test_heldout_parts_and_paired_deltas():
    heldout = _heldout()
    assert heldout.HELDOUT.name == "heldout4_tiny_products.jsonl" and heldout.N_HARD == 400
    assert heldout.part("heldout4/000") == "hard" and heldout.part("heldout4/399") == "hard"
    assert heldout.part("heldout4/400") == "rung2"
    analysis: dict = {}
    table = heldout.by_part(_heldout_rows(), analysis)
    hard = analysis["parts"]["hard"]
    assert hard["adaptive"]["greedy"]["mean"] == 0.5 and hard["base"]["greedy"]["mean"] == 0.0
    greedy = hard["adaptive vs base (greedy)"]
    assert greedy["delta"] == 0.5 and greedy["n"] == 2 and greedy["seeds"] == 2  # 2 problems x 2 seeds
    assert analysis["parts"]["rung2"]["adaptive vs base (pass@1)"]["delta"] == 0.0
    assert "| hard | adaptive minus base | +25.0 [" in table and "| hard | uniform minus base | +0.0 [" in table
    assert analysis["parts"]["hard"]["adaptive vs uniform (greedy)"]["delta"] == 0.5
    # the embedded model's training data: the 18 single products of rungs 1-2 it learnt from, no hard problem
    assert "heldout4/400" in analysis["seen_in_pretraining"] and "heldout4/000" not in analysis["seen_in_pretraining"]
    assert "18 of its problems are integrands the tiny model was trained on" in table
    assert "(0 of the 400 hard problems" in table and "hard, unseen in pre-training" not in analysis["parts"]


def test_heldout_splits_the_hard_part_by_what_the_model_saw(monkeypatch):
    heldout = _heldout()
    monkeypatch.setattr(heldout, "seen_in_pretraining", lambda: {"heldout4/001", "heldout4/400"})
    analysis: dict = {}
    table = heldout.by_part(_heldout_rows(), analysis)
    unseen, seen = analysis["parts"]["hard, unseen in pre-training"], analysis["parts"]["hard, seen in pre-training"]
    assert unseen["adaptive vs base (greedy)"]["delta"] == 1.0 and unseen["adaptive vs base (greedy)"]["n"] == 1
    assert seen["adaptive vs base (greedy)"]["delta"] == 0.0 and seen["adaptive vs base (greedy)"]["n"] == 1
    assert "(1 of the 400 hard problems" in table and "*unseen in pre-training* (399 problems)" in table


def test_heldout_runs_the_shipped_job_only():
    with pytest.raises(SystemExit):
        _heldout().main(["--seeds", "0", "--overrides", "trainer.max_steps=1"])


def test_heldout_pools_the_hard_part_with_the_earlier_file(tmp_path):
    """The previous held-out file's stored rows join this file's per seed: one seed x problem grid over both hard
    parts (rung-2 problems and seeds only one file has are left out)."""
    heldout = _heldout()
    assert heldout.part("heldout3/299") == "hard" and heldout.part("heldout3/300") == "rung2"
    assert heldout.part("heldout/119") == "hard" and heldout.part("heldout/120") == "rung2"
    earlier = []
    for seed in (0, 1, 7):  # seed 7 has no run on this file
        base = {f"heldout3/{i:03d}": {"pass@1": 0.0, "greedy": 1.0} for i in (0, 1, 2, 300)}
        after = {**base, "heldout3/001": {"pass@1": 0.0, "greedy": 0.0}}  # a greedy answer lost, every seed
        earlier.append({"seed": seed, "problems": {"base": base, "adaptive": after, "uniform": base, "roots_only": base}})
    stored = tmp_path / "heldout_v3.json"
    stored.write_text(json.dumps({"rows": earlier}))
    analysis: dict = {}
    table = heldout.pooled_with_earlier(_heldout_rows(), analysis, earlier=stored)
    pooled = analysis["pooled_with_earlier"]
    assert pooled["seeds"] == [0, 1] and pooled["hard_problems"] == {"heldout3": 3, "heldout4": 2}
    greedy = pooled["adaptive vs base (greedy)"]  # +1 on one of 5 problems, -1 on another: net 0
    assert greedy["n"] == 5 and greedy["seeds"] == 2 and abs(greedy["delta"]) < 1e-12
    assert abs(pooled["adaptive vs base (pass@1)"]["delta"] - 0.5 / 5) < 1e-12
    assert "| adaptive minus base | +10.0 [" in table and "3 heldout3 + 2 heldout4" in table
    assert heldout.pooled_with_earlier(_heldout_rows(), {}, earlier=tmp_path / "missing.json") == ""
