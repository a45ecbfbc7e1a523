"""TTRL by the authors' protocol: variants only, a control, weights restored bit for bit (full and LoRA)."""

from __future__ import annotations

import json

import pytest

from ladder_core.cli import run
from ladder_core.testing.compose import compose_config
from ladder_core.testing.toy_domain import ToyDomain, make_problems
from ladder_core.config_nodes import ConfigError
from ladder_core.schema import TTRLConfig
from ladder_core.ttrl.weights import WeightSnapshot
from ladder_core.records import TreeNode

SMALL = [
    "+domain=toy", "trainer.max_steps=2", "trainer.prompts_per_step=2", "trainer.num_generations=4",
    "trainer.report_to=[]", "model.max_completion_length=8",
    "variants.per_root=6", "variants.max_depth=2", "variants.children_per_node=3", "variants.generators=[toy-rules]",
    "evaluation.samples=2", "evaluation.k=[1,2]", "evaluation.batch_size=8",
    "ttrl.max_problems=2", "ttrl.max_steps=2", "ttrl.variants_per_problem=4", "ttrl.eval_samples=2",
]


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_weights_restored_bit_identical_after_real_grpo(tmp_path, host, model_dir, lora):
    from ladder_core.models import load_policy
    from ladder_core.training.run import train_on_nodes

    cfg = compose_config(host, [*SMALL, f"model.name_or_path={model_dir}"], run_dir=tmp_path)
    if lora:  # assigned, not overridden: Hydra cannot merge a dict into the schema's null `model.lora` (reported)
        cfg.model.lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    model, tokenizer = load_policy(cfg.model, device="cpu")
    snapshot = WeightSnapshot(model)
    nodes = [TreeNode(p.id, None, 0, p.id, p.text) for p in make_problems("r", 3, seed=5)]
    cfg.trainer.learning_rate = 0.05  # big steps so that any leak would show
    _, trainer = train_on_nodes(cfg, ToyDomain(), nodes, model, tokenizer, tmp_path / "t", stage="ttrl",
                                max_steps=1, resume=False, save_checkpoints=False)
    policy = trainer.model
    assert hasattr(policy, "unload") == lora
    import torch

    with torch.no_grad():  # a random model earns no reward, so make sure every weight (adapter and base) moved
        for param in policy.parameters():
            param.add_(0.01)
    assert not snapshot.equals(policy.get_base_model() if lora else policy)
    restored = snapshot.restore(policy)
    assert snapshot.equals(restored)
    assert not any("lora" in name for name in restored.state_dict())


def test_snapshot_notices_a_single_changed_bit():
    from ladder_core.testing.tiny_models import make_tiny_causal_lm

    import torch

    model, _ = make_tiny_causal_lm(hidden=16, layers=1)
    snapshot = WeightSnapshot(model)
    with torch.no_grad():
        p = next(model.parameters())
        p.view(-1)[0] = torch.nextafter(p.view(-1)[0], torch.tensor(10.0))
    assert not snapshot.equals(model)
    assert snapshot.equals(snapshot.restore(model))


def _run(tmp_path, host, model_dir, *extra):
    cfg = compose_config(host, [*SMALL, f"model.name_or_path={model_dir}", "pipeline.stages=[baseline,ttrl,report]",
                                *extra], run_dir=tmp_path)
    report = run(cfg, host)
    lines = [json.loads(x) for x in (tmp_path / "ttrl" / "results.jsonl").read_text().splitlines()]
    return report, lines


def test_ttrl_trains_on_variants_only_and_reports_a_control(tmp_path, host, model_dir):
    domain = ToyDomain()
    report, lines = _run(tmp_path, host, model_dir, "ttrl.max_steps=1")
    assert len(lines) == 2 and all(line["trained_on_problem"] is False for line in lines)
    tests = {p.id: p for p in domain.load_problems("test")}
    for line in lines:
        problem = tests[line["problem_id"]]
        safe = problem.id.replace("/", "_")
        trained = [json.loads(x) for x in (tmp_path / "ttrl" / "trees" / safe / "training_nodes.jsonl")
                   .read_text().splitlines()]
        assert trained and line["variants"] == len(trained)
        assert all(domain.canonical_form(type(problem)(id="n", text=n["text"])) != domain.canonical_form(problem)
                   for n in trained)
        assert line["decontamination"]["dropped"]["ttrl_problem"]["canonical"] >= 1  # the root itself
        assert line["samples"] == 2 and 0 <= line["control_correct"] <= 2
    t = report.ttrl
    assert t.trained_on_problem is False and "variants_only" in t.protocol
    attempted = report.comparison.ttrl_vs_control.attempted
    assert attempted.pass_at_1.n == attempted.solved.n == len(lines) and 0 <= attempted.pass_at_1.p_value <= 1


def test_train_on_problem_is_labelled_and_continual_adaptation_runs(tmp_path, host, model_dir):
    report, lines = _run(tmp_path, host, model_dir, "ttrl.train_on_problem=true", "ttrl.reset_weights=false",
                         "ttrl.max_problems=1", "ttrl.max_steps=1")
    assert len(lines) == 1
    assert all(line["trained_on_problem"] is True for line in lines)
    assert report.ttrl.reset_weights is False
    assert "NOT the authors' protocol" in report.ttrl.protocol
    assert "verifier-filtered best-of-N" in (tmp_path / "report.md").read_text()


def test_settings_refuse_bad_values():
    with pytest.raises(ConfigError, match="ttrl.eval_samples"):
        TTRLConfig(eval_samples=0)


def test_bad_ttrl_value_is_refused_before_any_work(tmp_path, host, model_dir):
    from ladder_core.cli import UsageError

    with pytest.raises((ConfigError, UsageError)) as info:
        cfg = compose_config(host, [*SMALL, f"model.name_or_path={model_dir}", "ttrl.eval_samples=0"],
                             run_dir=tmp_path)
        run(cfg, host)
    assert "ttrl.eval_samples" in str(info.value) or "ttrl.eval_samples" in str(info.value.__context__)
    assert not (tmp_path / "baseline").exists()


def test_a_capped_run_attempts_the_nearest_misses_first_and_counts_the_rest(tmp_path):
    from types import SimpleNamespace

    from ladder_core.artifacts import EvalProblemResult, write_jsonl
    from ladder_core.records import Problem
    from ladder_core.schema import TTRLConfig
    from ladder_core.ttrl.loop import problems_to_adapt

    problems = [Problem(id=f"t/{i}", text=f"p{i}") for i in range(6)]
    # correct samples of 8 per problem; t/1 is solved (greedy right), the others are still failed
    correct = {"t/0": 0, "t/1": 5, "t/2": 1, "t/3": 0, "t/4": 3, "t/5": 1}
    write_jsonl(tmp_path / "evaluate" / "results.jsonl", [
        EvalProblemResult(problem_id=p.id, problem=p.text, completions=[], statuses=[], n=8,
                          n_correct=correct[p.id], greedy_completion="", greedy_correct=p.id == "t/1")
        for p in problems])
    ctx = SimpleNamespace(test_problems=lambda: problems, run_dir=tmp_path)

    chosen, solved, left_out, stage = problems_to_adapt(ctx, TTRLConfig(max_problems=3))
    assert [p.id for p in chosen] == ["t/4", "t/2", "t/5"] and (solved, left_out, stage) == (1, 2, "evaluate")
    chosen, _, left_out, _ = problems_to_adapt(ctx, TTRLConfig(max_problems=3, order="file"))
    assert [p.id for p in chosen] == ["t/0", "t/2", "t/3"] and left_out == 2
    chosen, _, left_out, _ = problems_to_adapt(ctx, TTRLConfig())
    assert [p.id for p in chosen] == ["t/4", "t/2", "t/5", "t/0", "t/3"] and left_out == 0
