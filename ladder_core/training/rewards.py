"""The domain's accuracy+format reward as a TRL reward function that can never stop training.

The paper's values are the defaults: 1.05 for a verified answer, 0.05 for a
well-formatted wrong one, 0 without tags. A check that errors or times out
scores as a wrong answer and is counted; an exception inside the domain's
batch verifier (which should never happen) zeroes the batch and is counted
too, instead of aborting the run as TRL would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ladder_core.domain import Domain
from ladder_core.records import Problem, Verdict, VerdictStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardValues:
    correct: float = 1.05
    formatted: float = 0.05
    unformatted: float = 0.0

    @classmethod
    def from_config(cls, cfg: Any) -> RewardValues:
        return cls(float(cfg.correct), float(cfg.formatted), float(cfg.unformatted))


@dataclass
class ScoredBatch:
    """What one reward call saw, handed to observers (curriculum, logs, TTRL early stop)."""

    node_ids: list[str]
    depths: list[int]
    correct: list[bool]
    rewards: list[float]


@dataclass
class RewardStats:
    checks: int = 0
    correct: int = 0
    failures: int = 0  # verdicts with status timeout/error
    crashed_batches: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def completion_text(completion: Any) -> str:
    """TRL passes plain strings, or a list of chat messages for conversational prompts."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


class DomainReward:
    """``reward(prompts, completions, completion_ids, problem_id=..., problem_text=..., node_id=..., depth=...)``."""

    __name__ = "accuracy_format"

    def __init__(self, domain: Domain, values: RewardValues = RewardValues(),
                 observers: Sequence[Callable[[ScoredBatch], None]] = ()) -> None:
        self.domain = domain
        self.values = values
        self.observers = list(observers)
        self.stats = RewardStats()

    def _formatted(self, text: str) -> bool:
        try:
            return bool(self.domain.has_answer_format(text))
        except Exception:  # noqa: BLE001 - a domain bug must not stop training
            return False

    def __call__(self, prompts: list[Any], completions: list[Any], completion_ids: Any = None, *,
                 problem_id: Sequence[str], problem_text: Sequence[str], node_id: Sequence[str] | None = None,
                 depth: Sequence[int] | None = None, log_metric: Callable[[str, float], None] | None = None,
                 **_: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        problems = [Problem(id=str(i), text=str(t)) for i, t in zip(problem_id, problem_text)]
        try:
            verdicts = self.domain.verify_batch(problems, texts)
            if len(verdicts) != len(texts):
                raise RuntimeError(f"verify_batch returned {len(verdicts)} verdicts for {len(texts)} completions")
        except Exception as exc:  # noqa: BLE001
            log.warning("reward: domain verifier raised %s: %s; scoring the batch as errors", type(exc).__name__, exc)
            self.stats.crashed_batches += 1
            verdicts = [Verdict(VerdictStatus.ERROR, f"verifier raised {type(exc).__name__}")] * len(texts)
        rewards, correct = [], []
        for verdict, text in zip(verdicts, texts):
            ok = verdict.correct
            correct.append(ok)
            if ok:
                rewards.append(self.values.correct)
            elif self._formatted(text):
                rewards.append(self.values.formatted)
            else:
                rewards.append(self.values.unformatted)
            self.stats.by_status[verdict.status.value] = self.stats.by_status.get(verdict.status.value, 0) + 1
        failures = sum(v.status in (VerdictStatus.TIMEOUT, VerdictStatus.ERROR) for v in verdicts)
        self.stats.checks += len(texts)
        self.stats.correct += sum(correct)
        self.stats.failures += failures
        if log_metric is not None:
            log_metric("ladder/verifier_failures", float(failures))
            log_metric("ladder/accuracy", sum(correct) / max(1, len(correct)))
        batch = ScoredBatch(
            node_ids=[str(n) for n in (node_id if node_id is not None else problem_id)],
            depths=[int(d) for d in (depth if depth is not None else [0] * len(texts))],
            correct=correct, rewards=rewards,
        )
        for observer in self.observers:
            observer(batch)
        return rewards
