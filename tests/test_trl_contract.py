"""Canaries for the TRL internals ladder relies on, and dynamic sampling inside the real trainer.

``LadderGRPOTrainer`` overrides private methods of TRL's ``GRPOTrainer``
(``_get_train_sampler``, ``_generate_and_score_completions``,
``_calculate_rewards``) and relies on the layout of their results. These tests
fail loudly, naming what changed, when a TRL release moves any of it; then
update ``ladder_core/training/grpo.py`` and the pinned range in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from packaging.requirements import Requirement
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.grpo_trainer import RepeatSampler

from ladder_core.difficulty import CurriculumConfig, CurriculumSampler
from ladder_core.testing.tiny_models import char_tokenizer, tiny_causal_lm
from ladder_core.training.grpo import (
    _LEFT_PADDED,
    _PER_ROW,
    _RIGHT_PADDED,
    CurriculumRepeatSampler,
    LadderGRPOTrainer,
    TrainingMonitor,
    loss_mask,
)
from ladder_core.records import TreeNode

ROOT = Path(__file__).resolve().parents[1]
GROUP = 4


def _requirement(name: str) -> Requirement:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(Requirement(d) for d in deps if Requirement(d).name == name)


@pytest.mark.parametrize("name", ["trl", "transformers"])
def test_installed_versions_are_inside_the_pinned_range(name):
    req = _requirement(name)
    assert req.specifier, f"{name} must have an upper and lower bound in pyproject.toml"
    assert any(s.operator in ("<", "<=", "~=", "==") for s in req.specifier), f"{name} has no upper bound"
    assert version(name) in req.specifier, f"installed {name} {version(name)} is outside {req}"


def _reward(prompts, completions, node_id, **kwargs):
    """0 for nodes named dead*, else a value that differs between completions."""
    return [0.0 if n.startswith("dead") else int(hashlib.md5(c.encode()).hexdigest(), 16) % 97 / 97
            for n, c in zip(node_id, completions)]


def _dataset(ids):
    return Dataset.from_list([{"prompt": f"add({i}, 2) =", "node_id": n, "depth": 0}
                              for i, n in enumerate(ids)])


def _args(tmp_path, **extra):
    return GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=GROUP * 2, num_generations=GROUP,
                      max_completion_length=6, max_steps=1, report_to="none", use_cpu=True, save_strategy="no",
                      remove_unused_columns=False, shuffle_dataset=False, logging_steps=1, **extra)


def _model():
    tok = char_tokenizer()
    tok.padding_side = "left"
    return tiny_causal_lm(tok, hidden=16, layers=1, max_positions=128, seed=0), tok


def test_generate_and_score_output_keys_are_the_ones_we_splice(tmp_path):
    model, tok = _model()
    trainer = GRPOTrainer(model=model, reward_funcs=[_reward], args=_args(tmp_path), train_dataset=_dataset(["a"]),
                          processing_class=tok)
    trainer.model.train()
    calls = []
    original = trainer._calculate_rewards

    def spy(*a, **k):
        out = original(*a, **k)
        calls.append(out.shape)
        return out

    trainer._calculate_rewards = spy
    inputs = [dict(row) for row in _dataset(["live0", "dead0"]) for _ in range(GROUP)]
    output = trainer._generate_and_score_completions(inputs)
    known = _LEFT_PADDED | _RIGHT_PADDED | _PER_ROW | {"num_items_in_batch"}
    assert set(output) <= known, f"TRL added keys ladder cannot splice: {set(output) - known}"
    assert {"prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages",
            "num_items_in_batch"} <= set(output), f"TRL dropped keys ladder relies on: {sorted(output)}"
    assert output["advantages"].shape == (len(inputs),)
    # reward-call order: one gathered call per generate-and-score, one row per completion, one column per function
    assert calls == [torch.Size([len(inputs), 1])]
    assert int(output["num_items_in_batch"]) == int(loss_mask(output).sum())
    # the dead group has zero advantage, the live one not
    assert torch.all(output["advantages"][GROUP:] == 0) and torch.any(output["advantages"][:GROUP] != 0)


def test_trl_private_signatures_we_override_are_unchanged():
    assert list(inspect.signature(GRPOTrainer._tokenize_prompts).parameters) == ["self", "prompts"]
    assert "self._tokenize_prompts(prompts)" in inspect.getsource(GRPOTrainer._generate)
    params = list(inspect.signature(GRPOTrainer._calculate_rewards).parameters)
    assert params == ["self", "inputs", "prompts", "completions", "completion_ids_list"]
    assert list(inspect.signature(GRPOTrainer._generate_and_score_completions).parameters) == ["self", "inputs"]
    assert "dataset" in inspect.signature(GRPOTrainer._get_train_sampler).parameters
    source = inspect.getsource(GRPOTrainer.get_train_dataloader)
    assert "sampler_fn=self._get_train_sampler" in source, "TRL no longer builds its dataloader from our sampler"
    score = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    assert "self._calculate_rewards(" in score and "tool_mask" in score
    assert 'self._metrics[mode]["reward"]' in score and 'self._logs["prompt"]' in score


class FixedCurriculum:
    def __init__(self, batches):
        self.batches = list(batches)

    def sample(self, k, *, exclude=(), probe=True):
        out = self.batches.pop(0)
        assert len(out) == k
        return out

    def update(self, *a):
        pass


def test_sampler_layout_matches_trl_repeat_sampler():
    """Same index pattern as TRL's RepeatSampler (unshuffled) for the same prompt order."""
    rows = list(range(6))
    trl_order = list(RepeatSampler(rows, mini_repeat_count=2, batch_size=3, repeat_count=2, shuffle=False))
    ours = CurriculumRepeatSampler(FixedCurriculum([["n0", "n1", "n2"], ["n3", "n4", "n5"]]),
                                   {f"n{i}": i for i in rows}, prompts=3, num_generations=2, repeat_count=2)
    it = iter(ours)
    assert [next(it) for _ in range(len(trl_order))] == trl_order


def _ladder_trainer(tmp_path, ids, *, dynamic=True, budget=2, max_prompt_length=None):
    model, tok = _model()
    nodes = [TreeNode(i, None, 0, i) for i in ids]
    curriculum = CurriculumSampler(nodes, CurriculumConfig.from_dict({"mode": "uniform"}), seed=0)
    monitor = TrainingMonitor(curriculum=curriculum, depth_of={})
    return LadderGRPOTrainer(model=model, reward_funcs=[_reward], args=_args(tmp_path), train_dataset=_dataset(ids),
                             processing_class=tok, curriculum=curriculum, monitor=monitor,
                             dynamic_sampling=dynamic, replacement_budget=budget,
                             max_prompt_length=max_prompt_length)


def test_dead_groups_are_replaced_and_replacements_stay_out_of_the_logged_reward(tmp_path):
    ids = ["dead0", "live0", "live1", "live2", "live3", "dead1"]
    trainer = _ladder_trainer(tmp_path, ids)
    trainer.model.train()
    inputs = [dict(trainer.train_dataset[i]) for i in (0, 1) for _ in range(GROUP)]  # dead0, live0
    output = trainer._generate_and_score_completions(inputs)
    stats = trainer.ladder_counters
    assert stats.zero_variance >= 1 and stats.replaced == 1 and stats.dropped_unreplaced == 0
    assert stats.extra_rounds >= 1
    # the dead slot now carries a live group: both groups have an advantage
    adv = output["advantages"].view(2, GROUP)
    assert torch.all(adv.abs().sum(dim=1) > 0)
    assert int(output["num_items_in_batch"]) == int(loss_mask(output).sum())
    # TRL logged one round (the batch as drawn), not the replacement rounds
    assert len(trainer._metrics["train"]["reward"]) == 1
    assert len(trainer._logs["prompt"]) == len(inputs)
    assert list(trainer._logs["prompt"]) == [row["prompt"] for row in inputs]


def test_without_candidates_dead_groups_are_dropped_from_the_loss(tmp_path):
    ids = ["dead0", "live0", "dead1", "dead2"]
    trainer = _ladder_trainer(tmp_path, ids, budget=1)
    trainer.model.train()
    trainer.ladder_curriculum.sample = lambda k, exclude=(), probe=True: ["dead1"] * k  # only dead candidates
    inputs = [dict(trainer.train_dataset[i]) for i in (0, 1) for _ in range(GROUP)]
    output = trainer._generate_and_score_completions(inputs)
    assert trainer.ladder_counters.dropped_unreplaced == 1
    assert int(output["completion_mask"][:GROUP].sum()) == 0 and int(output["completion_mask"][GROUP:].sum()) > 0
    assert int(output["num_items_in_batch"]) == int(output["completion_mask"].sum())


def test_num_items_counts_only_model_tokens_when_trl_sends_a_tool_mask(tmp_path):
    trainer = _ladder_trainer(tmp_path, ["dead0", "live0"], budget=0)
    trainer.model.train()
    original = GRPOTrainer._generate_and_score_completions

    def with_tool_mask(self, inputs):
        out = original(self, inputs)
        tool = torch.ones_like(out["completion_mask"])
        tool[:, :2] = 0  # the first two tokens of every completion came from a tool
        out["tool_mask"] = tool
        return out

    GRPOTrainer._generate_and_score_completions = with_tool_mask
    try:
        inputs = [dict(trainer.train_dataset[i]) for i in (0, 1) for _ in range(GROUP)]
        output = trainer._generate_and_score_completions(inputs)
    finally:
        GRPOTrainer._generate_and_score_completions = original
    expected = int((output["completion_mask"] * output["tool_mask"]).sum())
    assert int(output["num_items_in_batch"]) == expected < int(output["completion_mask"].sum())
    assert int(output["tool_mask"][:GROUP].sum()) == 0  # the dropped dead group is out of the loss


def test_prompts_are_cut_to_max_prompt_length_from_the_left(tmp_path):
    trainer = _ladder_trainer(tmp_path, ["live0", "live1"], max_prompt_length=5)
    trainer.model.train()
    long_prompt = "add(123456, 2) ="
    ids, _, _ = trainer._tokenize_prompts([long_prompt, "a="])
    full = trainer.processing_class(text=[long_prompt])["input_ids"][0]
    assert len(full) > 5 and ids[0] == full[-5:] and len(ids[1]) <= 5
    assert trainer.ladder_truncated_prompts == 1
    inputs = [dict(trainer.train_dataset[i]) for i in (0, 1) for _ in range(GROUP)]
    output = trainer._generate_and_score_completions(inputs)
    assert output["prompt_ids"].shape[1] == 5  # every prompt of the batch was cut (char tokenizer: > 5 tokens)
    with pytest.raises(ValueError, match="max_prompt_length"):
        _ladder_trainer(tmp_path, ["a"], max_prompt_length=0)
