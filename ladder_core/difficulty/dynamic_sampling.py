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

Several processes: every rank calls the policy with the *gathered* batch
(the same node ids and rewards everywhere, as TRL gathers rewards before
computing advantages), so every rank takes the same decisions. ``shards``
says how the batch is split over ranks (rank ``q`` owns the ``q``-th
contiguous block of groups of every round); a replacement only fills a slot
on its own rank (tensors never cross ranks) and each replacement round asks
for the same number of prompts per rank (TRL needs equal local batches).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
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


def total_rewards(per_function: Sequence[Sequence[float]], weights: Sequence[float], group_size: int) -> list[float]:
    """The weighted total reward per completion: what GRPO's advantages are computed from.

    ``per_function`` holds one row per completion, one value per reward
    function (NaN = "not applicable", as TRL stores ``None``). Like TRL, NaN
    terms are skipped in the weighted sum; a completion with no applicable
    function gets the mean of its group (TRL gives it zero advantage), so it
    neither creates nor hides variance.
    """
    totals: list[float | None] = []
    for row in per_function:
        if len(row) != len(weights):
            raise ValueError(f"{len(row)} reward values but {len(weights)} weights")
        terms = [float(w) * float(r) for r, w in zip(row, weights) if r is not None and math.isfinite(float(r))]
        totals.append(sum(terms) if terms else None)
    if len(totals) % group_size:
        raise ValueError(f"{len(totals)} completions cannot be split into groups of {group_size}")
    out: list[float] = []
    for g in range(0, len(totals), group_size):
        chunk = totals[g:g + group_size]
        known = [t for t in chunk if t is not None]
        fill = sum(known) / len(known) if known else 0.0
        out.extend(fill if t is None else t for t in chunk)
    return out


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

    @classmethod
    def from_dict(cls, data: Mapping[str, int | float]) -> DynamicSamplingStats:
        """The counters of :meth:`as_dict` (``train/summary.json``, the step log); derived keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in names})

    @property
    def zero_variance_rate(self) -> float:
        return self.zero_variance / self.groups_seen if self.groups_seen else 0.0

    @property
    def sampling_was_off(self) -> bool:
        """Zero-variance groups were trained as drawn: dynamic sampling replaces or drops every one when on."""
        return bool(self.zero_variance) and not (self.replaced or self.dropped_unreplaced)

    def as_dict(self) -> dict[str, float]:
        d: dict[str, float] = dict(asdict(self))
        d["zero_variance_rate"] = self.zero_variance_rate
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
    # (slot, replacement): group ``slot`` of the original batch is replaced by that group.
    assignments: tuple[tuple[int, GroupRef], ...] = ()
    # Zero-variance groups of the original batch left in place (no replacement found): drop from the loss.
    unfilled: tuple[int, ...] = ()


class DynamicSampler:
    """Replacement policy plus counters, shared across batches.

    ``enabled=False`` keeps the bookkeeping (estimates, zero-variance counts)
    but never asks for replacements, so ablations log the same numbers.
    """

    def __init__(self, curriculum: SupportsCurriculum | None, group_size: int, *, replacement_budget: int = 2,
                 enabled: bool = True, success_threshold: float = 0.5, update_estimates: bool = True,
                 atol: float = 1e-9, dead_memory: int = 2) -> None:
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
        # Nodes whose group came back zero-variance in the last ``dead_memory`` batches are not drawn as
        # replacements: a replacement round is expensive, and a node that just taught nothing likely will again.
        self.dead_memory = int(dead_memory)
        self._dead: dict[str, int] = {}
        self.stats = DynamicSamplingStats()

    @classmethod
    def from_config(cls, curriculum: SupportsCurriculum | None, config: Any, group_size: int) -> "DynamicSampler":
        """Build from a :class:`~ladder_core.difficulty.config.CurriculumConfig`."""
        return cls(curriculum, group_size, replacement_budget=config.replacement_budget,
                   enabled=config.dynamic_sampling)

    def new_batch(self, *, shards: int = 1, replace: bool = True) -> "BatchPlan":
        """Start a batch split over ``shards`` ranks; ``replace=False`` only judges it (groups straddle ranks)."""
        return BatchPlan(self, shards=shards, replace=replace)

    def dead_nodes(self) -> set[str]:
        """Nodes recently seen with zero variance (skipped as replacement candidates)."""
        horizon = self.stats.batches - self.dead_memory
        return {node for node, batch in self._dead.items() if batch >= horizon}

    def state_dict(self) -> dict[str, Any]:
        return {"stats": asdict(self.stats)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats = DynamicSamplingStats(**state["stats"])


class BatchPlan:
    """The life of one batch: the original groups, then at most ``replacement_budget`` rounds of replacements."""

    def __init__(self, policy: DynamicSampler, *, shards: int = 1, replace: bool = True) -> None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        self._policy = policy
        self._shards = int(shards)
        self._replace = bool(replace)
        self._groups: list[GroupRef] = []
        self._round_sizes: list[int] = []
        self._round = -1
        self._target: int | None = None
        self._finished = False

    def shard_of(self, ref: GroupRef) -> int:
        """The rank that holds group ``ref`` (contiguous equal blocks per round)."""
        return ref.index // (self._round_sizes[ref.round] // self._shards)

    def _assign(self) -> tuple[list[tuple[int, GroupRef]], list[int]]:
        """Pair the original zero-variance slots with informative replacements on the same shard, in order."""
        slots = [g for g in self._groups if g.round == 0 and g.zero_variance]
        spares = [g for g in self._groups if g.round > 0 and not g.zero_variance]
        pairs: list[tuple[int, GroupRef]] = []
        unfilled: list[int] = []
        for shard in range(self._shards):
            free = [g for g in spares if self.shard_of(g) == shard]
            for slot in (s for s in slots if self.shard_of(s) == shard):
                if free:
                    pairs.append((slot.index, free.pop(0)))
                else:
                    unfilled.append(slot.index)
        return pairs, sorted(unfilled)

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
        return 0 if self._target is None else len(self._assign()[1])

    def _need_per_shard(self) -> int:
        unfilled = self._assign()[1]
        size = (self._round_sizes[0] // self._shards) if self._round_sizes else 1
        counts = [0] * self._shards
        for slot in unfilled:
            counts[slot // size] += 1
        return max(counts)

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
        if n_groups % self._shards:
            raise ValueError(f"{n_groups} groups cannot be split evenly over {self._shards} shards (ranks)")
        self._round += 1
        self._round_sizes.append(n_groups)
        if self._round == 0:
            self._target = n_groups
        zero = set(zero_variance_groups(rewards, p.group_size, p.atol))
        wins = group_successes(rewards, p.group_size, p.success_threshold)
        for g, node_id in enumerate(node_ids):
            self._groups.append(GroupRef(self._round, g, node_id, wins[g], g in zero))
            if p.update_estimates:
                p.curriculum.update(node_id, wins[g], p.group_size)  # type: ignore[union-attr]
            if g in zero:
                p._dead[node_id] = p.stats.batches
            else:
                p._dead.pop(node_id, None)
        p.stats.groups_seen += n_groups
        p.stats.zero_variance += len(zero)
        if self._round > 0:
            p.stats.extra_rounds += 1
            p.stats.extra_groups += n_groups
            p.stats.extra_generations += n_groups * p.group_size
        return sorted(zero)

    def next_prompts(self) -> list[str]:
        """Node ids to generate for next, or ``[]`` when the batch is full or the budget is spent.

        Replacements avoid every node already in this batch and nodes recently
        seen dead (zero variance), and skip root probes. With several shards,
        every shard gets as many prompts as the neediest one (equal local
        batches); the list is ordered shard by shard.
        """
        p = self._policy
        if (self._finished or self._target is None or not p.enabled or not self._replace or p.curriculum is None
                or self.rounds_used >= p.replacement_budget):
            return []
        per_shard = self._need_per_shard()
        if per_shard == 0:
            return []
        exclude = {g.node_id for g in self._groups} | p.dead_nodes()
        got = p.curriculum.sample(per_shard * self._shards, exclude=exclude, probe=False)
        return got[: len(got) // self._shards * self._shards]

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
        pairs, unfilled = self._assign()
        original = [g for g in self._groups if g.round == 0]
        keep = tuple([g for g in original if not g.zero_variance] + [ref for _, ref in pairs])
        padding = tuple(original[i] for i in unfilled)
        used = set(keep) | set(padding)
        discarded = tuple(g for g in self._groups if g not in used)
        p.stats.batches += 1
        p.stats.replaced += len(pairs)
        p.stats.dropped_unreplaced += len(unfilled)
        return BatchResult(keep=keep, padding=padding, discarded=discarded, target=target,
                           assignments=tuple(pairs), unfilled=tuple(unfilled))
