"""Dynamic sampling (DAPO): replace groups whose rewards are all equal.

A GRPO group whose completions all earn the same reward (all right or all
wrong) has zero advantage: it costs a generation and teaches nothing, and a
batch full of them shows up as "loss is 0". verl, OpenRLHF and prime-rl drop
or replace such groups; TRL only logs ``frac_reward_zero_std``. This module is
the policy, independent of TRL: it finds zero-variance groups, asks the
curriculum for replacement prompts within ``replacement_budget`` extra
generation rounds per batch, feeds every group's outcome back into the
curriculum's estimates, and keeps counters for logging.

Rewards are a flat list ordered group by group (``group_size`` consecutive
completions of the same prompt), which is how TRL's ``GRPOTrainer`` lays them
out. Typical use inside a trainer that can regenerate::

    plan = dyn.new_batch()
    node_ids = sampler.sample(k)
    rewards = generate_and_score(node_ids)          # k * group_size floats
    plan.observe(node_ids, rewards)
    while (more := plan.next_prompts()):
        plan.observe(more, generate_and_score(more))
    result = plan.finish()   # result.keep: groups to train on; result.padding: zero-variance fillers
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol


class SupportsCurriculum(Protocol):
    """What the policy needs from a curriculum (``CurriculumSampler`` satisfies it)."""

    def sample(self, k: int, *, exclude: Collection[str] = (), probe: bool = True) -> list[str]: ...

    def update(self, node_id: str, successes: int, trials: int) -> None: ...


def _check_layout(rewards: Sequence[float], group_size: int) -> int:
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards cannot be split into groups of {group_size}: "
                         "the number of completions must be a multiple of the group size (num_generations)")
    for r in rewards:
        if r is None or not math.isfinite(float(r)):
            raise ValueError(f"non-finite reward {r!r}: map 'not applicable' to a number before grouping")
    return len(rewards) // group_size


def zero_variance_groups(rewards: Sequence[float], group_size: int, atol: float = 1e-9) -> list[int]:
    """Indices of groups whose rewards are all equal (within ``atol``): zero GRPO advantage."""
    n_groups = _check_layout(rewards, group_size)
    out = []
    for g in range(n_groups):
        chunk = [float(r) for r in rewards[g * group_size:(g + 1) * group_size]]
        if max(chunk) - min(chunk) <= atol:
            out.append(g)
    return out


def group_successes(rewards: Sequence[float], group_size: int, threshold: float) -> list[int]:
    """Number of completions per group whose reward reaches ``threshold`` (a success)."""
    n_groups = _check_layout(rewards, group_size)
    return [sum(float(r) >= threshold for r in rewards[g * group_size:(g + 1) * group_size])
            for g in range(n_groups)]


@dataclass
class DynamicSamplingStats:
    """Running counters; ``replaced + dropped_unreplaced`` = batch slots that first came back zero-variance."""

    batches: int = 0
    groups_seen: int = 0
    zero_variance: int = 0
    replaced: int = 0
    dropped_unreplaced: int = 0
    extra_rounds: int = 0
    extra_groups: int = 0
    extra_generations: int = 0

    def as_dict(self) -> dict[str, float]:
        d: dict[str, float] = dict(asdict(self))
        d["zero_variance_rate"] = self.zero_variance / self.groups_seen if self.groups_seen else 0.0
        return d


@dataclass(frozen=True)
class GroupRef:
    """One generated group: the generation round it came from (0 = the batch itself) and its index there."""

    round: int
    index: int
    node_id: str
    successes: int
    zero_variance: bool


@dataclass(frozen=True)
class BatchResult:
    """What to train on. ``keep`` holds at most ``target`` informative groups, originals first;
    ``padding`` holds zero-variance groups a fixed-shape trainer may use to fill the missing
    slots (they contribute no advantage); ``discarded`` are the remaining groups."""

    keep: tuple[GroupRef, ...]
    padding: tuple[GroupRef, ...]
    discarded: tuple[GroupRef, ...]
    target: int


class DynamicSampler:
    """Replacement policy plus counters, shared across batches.

    ``enabled=False`` keeps the bookkeeping (estimates, zero-variance counts)
    but never asks for replacements, so ablations log the same numbers.
    """

    def __init__(self, curriculum: SupportsCurriculum | None, group_size: int, *, replacement_budget: int = 2,
                 enabled: bool = True, success_threshold: float = 0.5, update_estimates: bool = True,
                 atol: float = 1e-9) -> None:
        if group_size < 1:
            raise ValueError("group_size must be >= 1")
        if replacement_budget < 0:
            raise ValueError("replacement_budget must be >= 0")
        if curriculum is None and enabled and replacement_budget > 0:
            raise ValueError("replacements need a curriculum to draw prompts from")
        self.curriculum = curriculum
        self.group_size = group_size
        self.replacement_budget = replacement_budget
        self.enabled = enabled
        self.success_threshold = success_threshold
        self.update_estimates = update_estimates and curriculum is not None
        self.atol = atol
        self.stats = DynamicSamplingStats()

    @classmethod
    def from_config(cls, curriculum: SupportsCurriculum | None, config: Any, group_size: int) -> "DynamicSampler":
        """Build from a :class:`~ladder_core.difficulty.config.CurriculumConfig`."""
        return cls(curriculum, group_size, replacement_budget=config.replacement_budget,
                   enabled=config.dynamic_sampling)

    def new_batch(self) -> "BatchPlan":
        return BatchPlan(self)

    def state_dict(self) -> dict[str, Any]:
        return {"stats": asdict(self.stats)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats = DynamicSamplingStats(**state["stats"])


class BatchPlan:
    """The life of one batch: the original groups, then at most ``replacement_budget`` rounds of replacements."""

    def __init__(self, policy: DynamicSampler) -> None:
        self._policy = policy
        self._groups: list[GroupRef] = []
        self._round = -1
        self._target: int | None = None
        self._finished = False

    @property
    def rounds_used(self) -> int:
        """Replacement rounds generated so far (the original batch is round 0)."""
        return max(self._round, 0)

    @property
    def informative(self) -> int:
        return sum(not g.zero_variance for g in self._groups)

    @property
    def need(self) -> int:
        """Slots still without an informative group."""
        return 0 if self._target is None else max(0, self._target - self.informative)

    def observe(self, node_ids: Sequence[str], rewards: Sequence[float]) -> list[int]:
        """Record one generation round (the batch, then each replacement round) and update estimates.

        Returns the indices (within this round) of zero-variance groups.
        """
        if self._finished:
            raise RuntimeError("this batch is finished; start a new one with new_batch()")
        p = self._policy
        n_groups = _check_layout(rewards, p.group_size)
        if n_groups != len(node_ids):
            raise ValueError(f"{len(node_ids)} node ids but {n_groups} groups of {p.group_size} rewards")
        self._round += 1
        if self._round == 0:
            self._target = n_groups
        zero = set(zero_variance_groups(rewards, p.group_size, p.atol))
        wins = group_successes(rewards, p.group_size, p.success_threshold)
        for g, node_id in enumerate(node_ids):
            self._groups.append(GroupRef(self._round, g, node_id, wins[g], g in zero))
            if p.update_estimates:
                p.curriculum.update(node_id, wins[g], p.group_size)  # type: ignore[union-attr]
        p.stats.groups_seen += n_groups
        p.stats.zero_variance += len(zero)
        if self._round > 0:
            p.stats.extra_rounds += 1
            p.stats.extra_groups += n_groups
            p.stats.extra_generations += n_groups * p.group_size
        return sorted(zero)

    def next_prompts(self) -> list[str]:
        """Node ids to generate for next, or ``[]`` when the batch is full or the budget is spent.

        Replacements avoid every node already in this batch and skip root probes.
        """
        p = self._policy
        if (self._finished or self._target is None or not p.enabled or p.curriculum is None
                or self.rounds_used >= p.replacement_budget or self.need == 0):
            return []
        return p.curriculum.sample(self.need, exclude={g.node_id for g in self._groups}, probe=False)

    def finish(self) -> BatchResult:
        """Close the batch, settle the counters, and say which groups to train on."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        if self._target is None:
            raise RuntimeError("finish() before any observe()")
        self._finished = True
        p = self._policy
        target = self._target
        if not p.enabled:
            keep = tuple(g for g in self._groups if g.round == 0)
            p.stats.batches += 1
            return BatchResult(keep=keep, padding=(), discarded=(), target=target)
        informative = [g for g in self._groups if not g.zero_variance]
        keep = tuple(informative[:target])
        original_informative = sum(1 for g in keep if g.round == 0)
        replaced = len(keep) - original_informative
        missing = target - len(keep)
        zero = [g for g in self._groups if g.zero_variance]
        zero.sort(key=lambda g: g.round)
        padding = tuple(zero[:missing])
        used = set(keep) | set(padding)
        discarded = tuple(g for g in self._groups if g not in used)
        p.stats.batches += 1
        p.stats.replaced += replaced
        p.stats.dropped_unreplaced += missing
        return BatchResult(keep=keep, padding=padding, discarded=discarded, target=target)
