"""Per-tree statistics: how big each tree grew, and where candidates were lost.

Computed from stored nodes and rejection records only, so the report gets the
same numbers whether the trees were built in one go or across restarts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder_core.variants.store import Rejection, read_nodes, read_rejections, read_rounds
from ladder_core.records import TreeNode


@dataclass(frozen=True)
class GeneratorStats:
    """What one generator proposed for a tree and what became of it."""

    proposed: int = 0
    accepted: int = 0
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"proposed": self.proposed, "accepted": self.accepted,
                "acceptance_rate": round(self.acceptance_rate, 4), "rejections": dict(sorted(self.rejections.items()))}


@dataclass(frozen=True)
class TreeStats:
    """Statistics of one root's tree.

    ``proposed == accepted + sum(rejections.values())`` always holds: every
    candidate is either a node or a counted rejection (duplicates included,
    as ``duplicate_exact`` / ``duplicate_canonical``). ``nodes_per_depth``
    counts the root at depth 0.
    """

    root_id: str
    nodes_per_depth: dict[int, int]
    proposed: int
    accepted: int
    rejections: dict[str, int]
    per_generator: dict[str, GeneratorStats]
    rounds: int = 0
    target: int | None = None

    @property
    def variants(self) -> int:
        return sum(c for d, c in self.nodes_per_depth.items() if d > 0)

    @property
    def max_depth(self) -> int:
        return max(self.nodes_per_depth, default=0)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0

    @property
    def duplicates(self) -> int:
        return self.rejections.get("duplicate_exact", 0) + self.rejections.get("duplicate_canonical", 0)

    @property
    def complete(self) -> bool:
        """Whether the tree reached its target size (``None`` target: unknown, so ``False``)."""
        return self.target is not None and self.variants >= self.target

    def rejection_rates(self) -> dict[str, float]:
        """Share of proposed candidates lost to each reason."""
        if not self.proposed:
            return {}
        return {k: round(v / self.proposed, 4) for k, v in sorted(self.rejections.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "root_id": self.root_id,
            "variants": self.variants,
            "nodes_per_depth": {str(d): c for d, c in sorted(self.nodes_per_depth.items())},
            "max_depth": self.max_depth,
            "proposed": self.proposed,
            "accepted": self.accepted,
            "acceptance_rate": round(self.acceptance_rate, 4),
            "rejections": dict(sorted(self.rejections.items())),
            "rejection_rates": self.rejection_rates(),
            "duplicates": self.duplicates,
            "per_generator": {k: v.to_dict() for k, v in sorted(self.per_generator.items())},
            "rounds": self.rounds,
            "target": self.target,
            "complete": self.complete,
        }


def compute_tree_stats(root_id: str, nodes: Iterable[TreeNode], rejections: Iterable[Rejection], *,
                       rounds: int = 0, target: int | None = None) -> TreeStats:
    """Stats of the tree of ``root_id`` from its nodes and rejections (others' records are ignored)."""
    per_depth: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    gen_prop: Counter[str] = Counter()
    gen_acc: Counter[str] = Counter()
    gen_rej: dict[str, Counter[str]] = {}
    for node in nodes:
        if node.root_id != root_id:
            continue
        per_depth[node.depth] += 1
        if node.depth > 0:
            gen_prop[node.generator] += 1
            gen_acc[node.generator] += 1
    for rej in rejections:
        if rej.root_id != root_id:
            continue
        reasons[rej.reason] += 1
        gen_prop[rej.generator] += 1
        gen_rej.setdefault(rej.generator, Counter())[rej.reason] += 1
    accepted = sum(c for d, c in per_depth.items() if d > 0)
    per_generator = {
        g: GeneratorStats(proposed=gen_prop[g], accepted=gen_acc[g], rejections=dict(gen_rej.get(g, {})))
        for g in gen_prop
    }
    return TreeStats(root_id=root_id, nodes_per_depth=dict(sorted(per_depth.items())), proposed=accepted +
                     sum(reasons.values()), accepted=accepted, rejections=dict(reasons), per_generator=per_generator,
                     rounds=rounds, target=target)


def stats_from_store(directory: str | Path, *, target: int | None = None,
                     root_ids: Sequence[str] | None = None) -> dict[str, TreeStats]:
    """Stats of every committed tree in a variants folder (or of ``root_ids`` only)."""
    nodes = read_nodes(directory)
    rejections = read_rejections(directory)
    rounds: Counter[str] = Counter()
    for record in read_rounds(directory):
        rounds.update(record.active)
    roots = list(root_ids) if root_ids is not None else [n.id for n in nodes if n.depth == 0]
    by_root: dict[str, list[TreeNode]] = {r: [] for r in roots}
    for node in nodes:
        if node.root_id in by_root:
            by_root[node.root_id].append(node)
    rej_by_root: dict[str, list[Rejection]] = {r: [] for r in roots}
    for rej in rejections:
        if rej.root_id in rej_by_root:
            rej_by_root[rej.root_id].append(rej)
    return {r: compute_tree_stats(r, by_root[r], rej_by_root[r], rounds=rounds[r], target=target) for r in roots}


def summarize(stats: Iterable[TreeStats]) -> dict[str, Any]:
    """Totals over many trees, for the run report."""
    stats = list(stats)
    depth: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    gens: dict[str, Counter[str]] = {}
    for s in stats:
        depth.update(s.nodes_per_depth)
        reasons.update(s.rejections)
        for name, g in s.per_generator.items():
            c = gens.setdefault(name, Counter())
            c["proposed"] += g.proposed
            c["accepted"] += g.accepted
    proposed = sum(s.proposed for s in stats)
    accepted = sum(s.accepted for s in stats)
    variants = [s.variants for s in stats]
    return {
        "roots": len(stats),
        "variants": sum(variants),
        "variants_per_root": {"min": min(variants, default=0), "max": max(variants, default=0),
                              "mean": round(sum(variants) / len(variants), 2) if variants else 0.0},
        "complete_roots": sum(s.complete for s in stats),
        "nodes_per_depth": {str(d): c for d, c in sorted(depth.items())},
        "proposed": proposed,
        "accepted": accepted,
        "acceptance_rate": round(accepted / proposed, 4) if proposed else 0.0,
        "rejections": dict(sorted(reasons.items())),
        "per_generator": {
            k: {"proposed": v["proposed"], "accepted": v["accepted"],
                "acceptance_rate": round(v["accepted"] / v["proposed"], 4) if v["proposed"] else 0.0}
            for k, v in sorted(gens.items())
        },
    }
