"""The greedy anchor: keep what the model already answers right while GRPO trains on what it cannot.

Before training, the model answers every training node greedily; the answers
the domain verifies are the *anchor set* (``anchor.jsonl`` in the training
folder, written once and reused on resume). At every optimisation step
``trainer.anchor_batch`` of them are drawn and their mean token negative
log-likelihood, times ``trainer.anchor_weight``, is added to the GRPO loss.

Why: GRPO only moves groups with reward variance. A group the model always
solves has advantage zero, so nothing holds the decisions behind its correct
greedy answers while the updates for out-of-reach nodes shift the shared
weights; on the embedded tiny model that lost a third of its greedy answers
on held-out problems (docs/results.md, issue #13). The anchor is the model's
own verified output on training nodes only (no evaluation problem: the nodes
are decontaminated before training), so it adds no outside knowledge.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ladder_core.artifacts import AnchorExample, read_jsonl, write_jsonl
from ladder_core.records import Problem

log = logging.getLogger(__name__)

ANCHOR_FILE = "anchor.jsonl"


class GreedyAnchor:
    """The anchor set and its loss term (see module docstring)."""

    def __init__(self, examples: Sequence[AnchorExample], prompt_ids: dict[str, list[int]], *, weight: float,
                 batch: int, seed: int) -> None:
        self.examples = list(examples)
        self.prompt_ids = prompt_ids
        self.weight = float(weight)
        self.batch = int(batch)
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.examples)

    def draw(self, key: str) -> list[AnchorExample]:
        """``batch`` examples without replacement (all when fewer), the same for the same ``key``."""
        rng = random.Random(f"{self.seed}:{key}")
        k = min(self.batch, len(self.examples))
        return rng.sample(self.examples, k) if k else []

    def nll(self, model: Any, examples: Sequence[AnchorExample], pad_id: int) -> torch.Tensor:
        """Mean negative log-likelihood per completion token of ``examples`` under ``model`` (right-padded)."""
        device = next(model.parameters()).device
        rows = [(self.prompt_ids[e.node_id], list(e.completion_ids)) for e in examples]
        width = max(len(p) + len(c) for p, c in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        target = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, (p, c) in enumerate(rows):
            ids[i, :len(p) + len(c)] = torch.tensor(p + c, dtype=torch.long)
            attention[i, :len(p) + len(c)] = 1
            target[i, len(p):len(p) + len(c)] = True
        ids, attention, target = ids.to(device), attention.to(device), target.to(device)
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        logps = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        mask = target[:, 1:]
        return -(logps * mask).sum() / mask.sum().clamp(min=1)


def build_anchor(trainer: Any, domain: Any, nodes: Sequence[Any], path: Path, *, weight: float, batch: int,
                 seed: int, deadlines: Any = None, generation_batch: int = 64) -> GreedyAnchor:
    """The anchor set of ``nodes`` under ``trainer``'s model and prompts: read from ``path`` when a previous
    attempt wrote it, else generated greedily, verified and written there (main process)."""
    from tqdm.auto import tqdm

    from ladder_core.deadlines import PluginDeadlines
    from ladder_core.generation.hf import HFTextGenerator
    from ladder_core.training.rewards import checked_verdicts, verdict_correct

    rows = {row["node_id"]: row["prompt"] for row in trainer.train_dataset}
    ids = [n.id for n in nodes if n.id in rows]
    tokenized, _, _ = trainer._tokenize_prompts([rows[i] for i in ids])
    prompt_ids = {i: list(p) for i, p in zip(ids, tokenized, strict=True)}
    if path.exists():
        examples = [e for e in read_jsonl(path, AnchorExample) if e.node_id in prompt_ids]
        return GreedyAnchor(examples, prompt_ids, weight=weight, batch=batch, seed=seed)

    model = trainer.model
    tokenizer = trainer.processing_class
    generator = HFTextGenerator(model, tokenizer, batch_size=generation_batch, name="anchor")
    device = next(model.parameters()).device
    max_new = int(trainer.args.max_completion_length)
    generated: list[list[int]] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            starts = range(0, len(ids), generation_batch)
            for start in tqdm(starts, desc="anchor", unit="batch", disable=not trainer.accelerator.is_main_process):
                chunk = [prompt_ids[i] for i in ids[start:start + generation_batch]]
                generated += [generator.until_eos(row) for row in
                              generator.generate_tokens(chunk, device, temperature=0.0, max_new_tokens=max_new)]
    finally:
        model.train(was_training)
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    by_id = {n.id: n for n in nodes}
    problems = [Problem(id=i, text=by_id[i].text) for i in ids]
    verdicts = checked_verdicts(domain, problems, texts, deadlines if deadlines is not None else PluginDeadlines())
    examples = [AnchorExample(node_id=i, completion=t, completion_ids=c)
                for i, t, c, v in zip(ids, texts, generated, verdicts, strict=True) if verdict_correct(v)]
    if trainer.accelerator.is_main_process:
        write_jsonl(path, examples)
    log.info("greedy anchor: %d of %d training nodes answered right greedily", len(examples), len(ids))
    return GreedyAnchor(examples, prompt_ids, weight=weight, batch=batch, seed=seed)
