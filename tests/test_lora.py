"""LoRA on CPU: train, evaluate and TTRL on the embedded model through the real pipeline, with the merge and
TTRL's adapter restore asserted (``models.lora_config``, ``merge_and_unload``, ``unload``)."""

from __future__ import annotations

import json

import pytest
import torch

from ladder_core.config import register_plugin_configs
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.testing.compose import compose_config

LORA = "+model.lora={r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj]}"
SMALL = [
    "trainer.max_steps=2", "trainer.prompts_per_step=2", "trainer.num_generations=4", "trainer.report_to=[]",
    "trainer.learning_rate=5e-3", "evaluation.max_problems=2", "evaluation.samples=2", "evaluation.k=[1,2]",
    "variants.per_root=2", "ttrl.max_problems=1", "ttrl.max_steps=1", "ttrl.variants_per_problem=2",
    "trainer.save_steps=1000",
    # Two steps of 2 prompts: without replacement rounds every group can be all-wrong (zero advantage, no
    # update at all); dynamic sampling finds mixed groups so the adapter really trains.
    "curriculum.dynamic_sampling=true",
]


@pytest.fixture(scope="module")
def host():
    host = PluginHost(create_plugin_manager())
    register_plugin_configs(host)
    return host


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_lora_config_from_the_model_group(host, tmp_path):
    from ladder_core.models import lora_config

    cfg = compose_config(host, ["+domain=integration", LORA], run_dir=tmp_path)
    lora = lora_config(cfg.model)
    assert lora.r == 4 and lora.lora_alpha == 8 and set(lora.target_modules) == {"q_proj", "v_proj"}
    assert lora_config(compose_config(host, ["+domain=integration"], run_dir=tmp_path).model) is None


@pytest.mark.slow
def test_lora_run_through_train_evaluate_and_ttrl(host, tmp_path):
    from transformers import AutoModelForCausalLM

    from ladder_core.pipeline.runner import run_pipeline

    run_dir = tmp_path / "run"
    cfg = compose_config(host, ["+domain=integration", LORA, *SMALL], run_dir=run_dir)
    report = run_pipeline(cfg, host)
    assert report.training.steps == 2 and report.ttrl.attempted == 1
    assert report.final.n_problems == 2
    final = run_dir / "train" / "final"
    # the adapter was merged: evaluation loads a plain model, with no adapter files and no LoRA tensors
    assert not (final / "adapter_config.json").exists()
    trained = AutoModelForCausalLM.from_pretrained(final)
    base = AutoModelForCausalLM.from_pretrained(str(cfg.model.name_or_path))
    t, b = trained.state_dict(), base.state_dict()
    assert set(t) == set(b) and not any("lora" in k for k in t)
    changed = {k for k in t if not torch.equal(t[k], b[k])}
    assert changed and all(("q_proj" in k or "v_proj" in k) for k in changed), sorted(changed)[:5]
    results = [json.loads(line) for line in (run_dir / "evaluate" / "results.jsonl").read_text().splitlines()]
    assert len(results) == 2
    ttrl = [json.loads(line) for line in (run_dir / "ttrl" / "results.jsonl").read_text().splitlines()]
    assert len(ttrl) == 1 and ttrl[0]["steps"] >= 1


def test_ttrl_restores_the_weights_after_a_lora_problem(host, tmp_path):
    """The TTRL pattern: LoRA-train on one problem's nodes, check, restore; the model is the pre-TTRL one again."""
    from ladder_core.models import load_policy
    from ladder_core.pipeline.context import RunContext
    from ladder_core.ttrl.weights import WeightSnapshot
    from ladder_core.records import TreeNode
    from ladder_core.training.run import train_on_nodes

    cfg = compose_config(host, ["+domain=integration", LORA, *SMALL], run_dir=tmp_path)
    ctx = RunContext(cfg=cfg, host=host, run_dir=tmp_path)
    model, tokenizer = load_policy(cfg.model, device="cpu")
    snapshot = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    weights = WeightSnapshot(model)
    problem = ctx.test_problems()[0]
    nodes = [TreeNode(problem.id, None, 0, problem.id, problem.text)]
    for attempt in range(2):  # two problems in a row on the same model object
        result, trainer = train_on_nodes(cfg, ctx.domain, nodes, model, tokenizer, tmp_path / f"p{attempt}",
                                         stage="ttrl", max_steps=1, host=host, watch=[problem.id], resume=False,
                                         save_checkpoints=False)
        policy = trainer.model
        assert hasattr(policy, "unload") and any("lora_B" in k for k in policy.state_dict())
        assert result.steps == 1
        # A hard problem may give zero-variance groups only (no gradient in one step): make the adapter
        # count, as a solved problem's training would, so the restore has something to undo.
        ids = tokenizer("x", return_tensors="pt")["input_ids"]
        with torch.no_grad():
            before = policy(ids).logits
            for name, param in policy.named_parameters():
                if "lora_B" in name:
                    param.fill_(0.05)
            assert not torch.allclose(before, policy(ids).logits)
        model = weights.restore(policy)
        assert not hasattr(model, "peft_config") and type(model).__name__ == "LlamaForCausalLM"
        restored = model.state_dict()
        assert set(restored) == set(snapshot)
        assert all(torch.equal(restored[k], snapshot[k]) for k in snapshot) and weights.equals(model)
    ctx.close()
