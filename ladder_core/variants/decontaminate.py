"""Keep evaluation problems out of training: drop every tree node equal to a problem of an evaluation set.

Variant rewrites regularly land on a test problem (lower an exponent of one
test integral, get another), and a training root may itself be a test problem
(the published Llama 10/100 split has two). A number measured on problems the
model trained on is not a test result, so before any training (the train
stage, every TTRL problem) and while trees grow, a node is dropped when it
matches a problem of any evaluation set of the run:

* ``canonical``: same ``Domain.canonical_form`` (the domain's normal form);
* ``equivalent``: same ``Domain.equivalence_key`` (a semantic key where the
  domain offers one; integration: the integrand's values at fixed points).

Dropping a node keeps the rest of its tree: its children move up to its
nearest kept ancestor (a dropped root's children become roots), so the
curriculum still sees a consistent forest. Counts per evaluation set and
reason go to ``variants/stats.json`` and ``report.json`` (``decontamination``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from ladder_core.artifacts import Decontamination, OverlappingRoot
from ladder_core.domain import Domain
from ladder_core.records import Problem

log = logging.getLogger(__name__)

REASONS = ("canonical", "equivalent")
#: Rejection reasons of the tree builder start with this (``eval_overlap:<set>:<reason>``).
REJECTION_PREFIX = "eval_overlap"


@dataclass(frozen=True)
class Match:
    """Why a node is dropped: the evaluation set and problem it equals, and how."""

    set_name: str
    problem_id: str
    reason: str  # one of REASONS

    @property
    def rejection_reason(self) -> str:
        return f"{REJECTION_PREFIX}:{self.set_name}:{self.reason}"


class _Node(Protocol):
    id: str
    parent_id: str | None
    depth: int
    root_id: str
    text: str


N = TypeVar("N", bound=_Node)


def counts_from_rejections(rejections: Mapping[str, int]) -> Decontamination:
    """Counts from the tree builder's rejection reasons (``eval_overlap:<set>:<reason>`` -> n)."""
    out = Decontamination()
    for key, n in rejections.items():
        parts = str(key).split(":")
        if len(parts) == 3 and parts[0] == REJECTION_PREFIX and parts[2] in REASONS:
            out.add(parts[1], parts[2], int(n))
    return out


class Decontaminator:
    """Matches problems against the evaluation sets of a run (canonical form, then equivalence key)."""

    def __init__(self, domain: Domain, eval_sets: Mapping[str, Sequence[Problem]]) -> None:
        self.domain = domain
        self.eval_sets = {name: list(problems) for name, problems in eval_sets.items()}
        self._canonical: dict[str, Match] = {}
        self._key: dict[str, Match] = {}
        for name, problems in self.eval_sets.items():
            for p in problems:
                canonical = self._canonical_of(p)
                if canonical:
                    self._canonical.setdefault(canonical, Match(name, p.id, "canonical"))
                key = self._key_of(p)
                if key:
                    self._key.setdefault(key, Match(name, p.id, "equivalent"))

    def with_problem(self, set_name: str, problem: Problem) -> Decontaminator:
        """A copy that also excludes ``problem`` (TTRL: the problem being adapted to), reported first."""
        sets = {set_name: [problem], **{k: v for k, v in self.eval_sets.items() if k != set_name}}
        return Decontaminator(self.domain, sets)

    def match(self, problem: Problem) -> Match | None:
        """The evaluation problem ``problem`` equals, or ``None``."""
        canonical = self._canonical_of(problem)
        if canonical and canonical in self._canonical:
            return self._canonical[canonical]
        key = self._key_of(problem)
        if key and key in self._key:
            found = self._key[key]
            return Match(found.set_name, found.problem_id, "equivalent")
        return None

    def rejection_reason(self, problem: Problem) -> str | None:
        """For the tree builder: ``eval_overlap:<set>:<reason>`` when ``problem`` must not become a node."""
        found = self.match(problem)
        return found.rejection_reason if found else None

    def split_roots(self, roots: Sequence[Problem], keep: bool) -> tuple[list[Problem], Decontamination]:
        """Training roots minus those equal to an evaluation problem (all kept when ``keep``), with their counts."""
        counts = Decontamination(kept_overlapping_roots=keep)
        kept = []
        for root in roots:
            found = self.match(root)
            if found is None:
                kept.append(root)
                continue
            counts.overlapping_roots.append(OverlappingRoot(root.id, found.set_name, found.problem_id, found.reason,
                                                            root.text))
            if keep:
                kept.append(root)
            else:
                counts.add(found.set_name, found.reason)
        if counts.overlapping_roots:  # every stage re-checks; the start-up check prints the warning a user sees
            log.debug("training roots that are evaluation problems: %s (%s)",
                      ", ".join(r.describe() for r in counts.overlapping_roots), "kept" if keep else "removed")
        return kept, counts

    def filter_nodes(self, nodes: Sequence[N], *, keep_roots: Iterable[str] = ()) -> tuple[list[N], Decontamination]:
        """``nodes`` without those equal to an evaluation problem, the forest re-linked around the gaps.

        ``keep_roots``: root ids kept even when they match (the reproduction option).
        """
        keep = set(keep_roots)
        counts = Decontamination()
        dropped: set[str] = set()
        for node in nodes:
            if node.id in keep:
                continue
            found = self.match(Problem(id=node.id, text=node.text))
            if found is not None:
                dropped.add(node.id)
                counts.add(found.set_name, found.reason)
        return relink(nodes, dropped), counts

    # ----------------------------------------------------------------- helpers
    def _canonical_of(self, problem: Problem) -> str:
        try:
            return str(self.domain.canonical_form(problem))
        except Exception as exc:  # noqa: BLE001 - a domain bug weakens the check; the key still runs
            log.debug("canonical_form failed for %s: %s", problem.id, exc)
            return ""

    def _key_of(self, problem: Problem) -> str | None:
        try:
            return self.domain.equivalence_key(problem)
        except Exception as exc:  # noqa: BLE001 - the contract says never raise
            log.debug("equivalence_key failed for %s: %s", problem.id, exc)
            return None


def relink(nodes: Sequence[N], dropped: set[str]) -> list[N]:
    """The kept nodes with parent, depth and root recomputed: each hangs under its nearest kept ancestor."""
    if not dropped:
        return list(nodes)
    by_id = {n.id: n for n in nodes}
    new: dict[str, N] = {}

    def rebuilt(node: N) -> N:
        if node.id in new:
            return new[node.id]
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        while parent is not None and parent.id in dropped:
            parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
        if parent is None:
            out = replace(node, parent_id=None, depth=0, root_id=node.id)
        else:
            p = rebuilt(parent)
            out = replace(node, parent_id=p.id, depth=p.depth + 1, root_id=p.root_id)
        new[node.id] = out
        return out

    return [rebuilt(n) for n in nodes if n.id not in dropped]


def eval_sets_of_run(domain: Domain, test: Sequence[Problem], validation: Sequence[Problem]) -> dict[str, list[Problem]]:
    """Every evaluation set of a run: the test set, the validation set and the domain's extra ``eval_sets``."""
    sets: dict[str, list[Problem]] = {"test": list(test)}
    if validation:
        sets["validation"] = list(validation)
    extra = getattr(domain, "eval_problem_sets", None)
    if callable(extra):
        for name, problems in extra().items():
            sets[f"extra/{str(name).replace(':', '_')}"] = list(problems)
    return sets
