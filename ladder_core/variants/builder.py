"""Recursive, resumable construction of variant trees (the "ladder").

Every root problem gets children, children get children, down to
``max_depth``; each node has exactly one parent. Work proceeds in rounds: in
each round every unfinished root picks nodes to expand (least-expanded and
shallowest first, so a tree fills level by level), the requests of all roots
are split among the generators by their shares and sent as one batch per
generator, and every candidate goes through the filters:

1. an LLM reply with no parseable variant -> ``unparseable_reply``
2. an empty text -> ``empty``
3. the root already has its ``per_root`` variants -> ``over_quota``
4. the same text as a node of the tree (the root included) -> ``duplicate_exact``
5. ``domain.validate_variant`` rejects it -> its reason (``unparseable``, ``trivial``...)
6. the validated text or its canonical form equals a node's -> ``duplicate_exact`` / ``duplicate_canonical``
7. it equals a problem of an evaluation set (``exclude``, see
   :mod:`ladder_core.variants.decontaminate`) -> ``eval_overlap:<set>:<how>``
8. a reference solver fails on it in time (optional) -> ``reference_unsolved``

A round's nodes and rejections are committed together by the
:class:`~ladder_core.variants.store.VariantStore`; a restarted build reads
them back, rebuilds its de-duplication sets and counters, and carries on.
All randomness of a round is derived from ``(seed, root, round)`` and
``(seed, round, generator)``, so a build that was killed and resumed writes
exactly the trees an uninterrupted build writes (for deterministic generators).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder_core.deadlines import FAULTS, PluginDeadlines, call_with_deadline
from ladder_core.domain import Domain, VariantGenerator
from ladder_core.records import Problem, TreeNode, ValidatedVariant, VariantProposal, VariantRejection
from ladder_core.config_nodes import coerce_node
from ladder_core.schema import VariantsConfig
from ladder_core.variants.node import UNPARSEABLE_REPLY, variant_id
from ladder_core.variants.stats import TreeStats, compute_tree_stats, summarize
from ladder_core.variants.store import Rejection, VariantStore

logger = logging.getLogger(__name__)

DEDUP_MODES = ("none", "exact", "canonical")
_MAX_STORED_TEXT = 300


@dataclass(frozen=True)
class TreeConfig:
    """The knobs of tree building (``variants:`` in the run config).

    ``per_root`` is the target number of accepted variants per root;
    ``children_per_node`` the candidates asked for per expanded node;
    ``max_rounds`` the rounds after which a root is given up;
    ``max_expansions_per_round`` caps the nodes of one root expanded in one
    round (bounds the overshoot and the size of one batch).
    """

    # Defaults are the schema's (ladder_core/schema.py), written once there.
    max_depth: int = VariantsConfig.max_depth
    per_root: int = VariantsConfig.per_root
    children_per_node: int = VariantsConfig.children_per_node
    max_rounds: int = VariantsConfig.max_rounds
    dedup: str = VariantsConfig.dedup
    reference_check_timeout_s: float | None = VariantsConfig.reference_check_timeout_s
    seed: int = 0
    max_expansions_per_round: int = VariantsConfig.max_expansions_per_round

    def __post_init__(self) -> None:
        if self.dedup not in DEDUP_MODES:
            raise ValueError(f"variants.dedup must be one of {', '.join(DEDUP_MODES)}, got {self.dedup!r}")
        for name in ("max_depth", "per_root", "max_rounds"):
            if getattr(self, name) < 0:
                raise ValueError(f"variants.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("children_per_node", "max_expansions_per_round"):
            if getattr(self, name) < 1:
                raise ValueError(f"variants.{name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def from_cfg(cls, cfg: Any, **overrides: Any) -> TreeConfig:
        """From the whole run config (uses ``cfg.variants`` and ``cfg.seed``) or a ``variants`` node.

        ``overrides`` win (test-time RL passes ``max_depth`` and ``per_root``).
        """
        whole = cfg is not None and hasattr(cfg, "get") and "variants" in cfg
        variants = VariantsConfig.of(cfg) if whole else coerce_node(VariantsConfig, cfg, where="variants")
        values = {name: getattr(variants, name) for name in
                  ("max_depth", "per_root", "children_per_node", "max_rounds", "dedup", "reference_check_timeout_s",
                   "max_expansions_per_round")}
        values["seed"] = int(cfg.get("seed") or 0) if whole else 0
        values.update(overrides)
        return cls(**values)


@dataclass
class BuildResult:
    """What :meth:`TreeBuilder.build` returns: per-root stats and every node of the requested roots."""

    stats: dict[str, TreeStats]
    nodes: list[TreeNode]
    rounds_run: int
    seconds: float
    resumed: bool
    new_nodes: int = 0

    def summary(self) -> dict[str, Any]:
        out = summarize(self.stats.values())
        out.update({"rounds_run": self.rounds_run, "seconds": round(self.seconds, 3), "resumed": self.resumed,
                    "new_nodes": self.new_nodes})
        return out


@dataclass
class _RootState:
    """What the builder keeps per root between rounds (all rebuilt from the store on resume)."""

    root: TreeNode
    nodes: list[TreeNode] = field(default_factory=list)
    exact: set[str] = field(default_factory=set)
    canonical: set[str] = field(default_factory=set)
    expanded: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    rounds: int = 0

    @property
    def accepted(self) -> int:
        return len(self.nodes) - 1

    @property
    def proposed(self) -> int:
        return self.accepted + len(self.rejections)

    def add(self, node: TreeNode) -> None:
        self.nodes.append(node)
        self.exact.add(node.text)
        if node.canonical:
            self.canonical.add(node.canonical)


class TreeBuilder:
    """Builds (or resumes) the variant trees of many roots into one store folder.

    ``generators`` is a list of ``(generator, share)``; shares need not sum
    to 1. ``store`` is a :class:`VariantStore` or its folder (for a run:
    ``<run_dir>/variants``). ``host`` (a :class:`~ladder_core.plugins.PluginHost`)
    gets ``tree_grew`` calls after each committed round. ``exclude(problem)``
    returns a rejection reason for a candidate that must not enter a tree
    (an evaluation problem), or ``None``.
    """

    def __init__(
        self,
        domain: Domain,
        generators: Sequence[tuple[VariantGenerator, float]],
        store: VariantStore | str | Path,
        config: TreeConfig | None = None,
        *,
        host: Any | None = None,
        progress: bool = True,
        exclude: Callable[[Problem], str | None] | None = None,
    ) -> None:
        if not generators:
            raise ValueError("at least one variant generator is needed")
        names = [g.name for g, _ in generators]
        if len(set(names)) != len(names):
            raise ValueError(f"variant generators must have distinct names, got {names}")
        shares = [float(s) for _, s in generators]
        if any(s < 0 or math.isnan(s) for s in shares) or sum(shares) <= 0:
            raise ValueError(f"generator shares must be >= 0 with a positive sum, got {shares}")
        total = sum(shares)
        self.domain = domain
        self.generators = [(g, s / total) for (g, _), s in zip(generators, shares, strict=True) if s > 0]
        self.store = store if isinstance(store, VariantStore) else VariantStore(store)
        self.config = config or TreeConfig()
        self.host = host
        self._deadlines: PluginDeadlines = getattr(host, "deadlines", None) or PluginDeadlines()
        self.progress = progress
        self.exclude = exclude

    # ------------------------------------------------------------------ public
    def build(self, roots: Sequence[Problem]) -> BuildResult:
        """Grow the tree of every root until it has ``per_root`` variants or runs out of rounds.

        Safe to call again on the same store after a crash or with a larger
        ``per_root``: committed work is kept, nothing is generated twice.
        """
        start = time.monotonic()
        ids = [r.id for r in roots]
        dupes = sorted(i for i, c in Counter(ids).items() if c > 1)
        if dupes:
            raise ValueError(f"root problem ids must be unique; repeated: {dupes[:5]}")
        snapshot = self.store.recover()
        resumed = bool(snapshot.nodes)
        states, tallies = self._restore(roots, snapshot)
        round_index = snapshot.next_round
        new_roots = [s.root for s in states.values() if not s.nodes]
        if new_roots:
            for state in states.values():
                if not state.nodes:
                    state.add(state.root)
            self.store.commit_round(round_index, new_roots, [], active=[])
            round_index += 1
        cfg = self.config
        total = len(states) * cfg.per_root
        done = sum(min(s.accepted, cfg.per_root) for s in states.values())
        rounds_run = 0
        new_nodes = 0
        with _progress_bar(total, done, self.progress) as bar:
            while True:
                active = [s for s in states.values()
                          if s.accepted < cfg.per_root and s.rounds < cfg.max_rounds and cfg.max_depth > 0]
                if not active:
                    break
                round_start = time.monotonic()
                nodes, rejections, expanded, requested = self._run_round(round_index, active, tallies)
                self.store.commit_round(round_index, nodes, rejections, active=[s.root.id for s in active],
                                        expanded=expanded, requested=requested,
                                        seconds=time.monotonic() - round_start)
                for state in active:
                    state.rounds += 1
                self._notify(nodes)
                rounds_run += 1
                round_index += 1
                new_nodes += len(nodes)
                bar.update(len(nodes))
                finished = sum(s.accepted >= cfg.per_root for s in states.values())
                bar.set_postfix(round=round_index, roots_done=f"{finished}/{len(states)}")
                logger.info("variant round %d: %d roots active, %d accepted, %d rejected", round_index - 1,
                            len(active), len(nodes), len(rejections))
        stats = {rid: compute_tree_stats(rid, s.nodes, s.rejections, rounds=s.rounds, target=cfg.per_root)
                 for rid, s in states.items()}
        all_nodes = [n for s in states.values() for n in s.nodes]
        return BuildResult(stats=stats, nodes=all_nodes, rounds_run=rounds_run,
                           seconds=time.monotonic() - start, resumed=resumed, new_nodes=new_nodes)

    # ----------------------------------------------------------------- restore
    def _restore(self, roots: Sequence[Problem], snapshot: Any) -> tuple[dict[str, _RootState], Counter[str]]:
        states: dict[str, _RootState] = {}
        for problem in roots:
            root = TreeNode.from_root(problem)
            canonical = self._canonical(problem)
            states[problem.id] = _RootState(root=_with_canonical(root, canonical))
        for node in snapshot.nodes:
            state = states.get(node.root_id)
            if state is None:
                continue  # a root of an earlier call that is not asked for now: kept on disk, left alone
            if node.depth == 0:
                if node.text != state.root.text:
                    raise ValueError(
                        f"the variant store {self.store.directory} holds root {node.id!r} with another text "
                        f"({node.text[:60]!r} != {state.root.text[:60]!r}); use a fresh run directory")
                state.root = node
            state.add(node)
        for rej in snapshot.rejections:
            if rej.root_id in states:
                states[rej.root_id].rejections.append(rej)
        owner = {n.id: n.root_id for s in states.values() for n in s.nodes}
        tallies: Counter[str] = Counter()
        for record in snapshot.rounds:
            for root_id in record.active:
                if root_id in states:
                    states[root_id].rounds += 1
            for node_id in record.expanded:
                root_id = owner.get(node_id)
                if root_id is not None:
                    states[root_id].expanded[node_id] += 1
            tallies.update(record.requested)
        return states, tallies

    def _canonical(self, problem: Problem) -> str:
        if self.config.dedup != "canonical":
            return ""
        call = call_with_deadline(self.domain.canonical_form, problem, timeout_s=self._deadlines.validate_s,
                                  name=f"{self.domain.name}.canonical_form")
        if not call.ok:  # a domain bug must not lose the run; dedup is weaker
            FAULTS.add(f"variants.canonical_form.{call.status}")
            logger.warning("canonical_form failed for %s: %s", problem.id, call.error)
            return ""
        return str(call.value)

    # ------------------------------------------------------------------- round
    def _select(self, state: _RootState) -> list[TreeNode]:
        """Nodes of one root to expand this round: least expanded, then shallowest, ties at random."""
        cfg = self.config
        rng = random.Random(f"{cfg.seed}|select|{state.root.id}|{state.rounds}")
        candidates = [n for n in state.nodes if n.depth < cfg.max_depth]
        keyed = sorted(candidates, key=lambda n: (state.expanded[n.id], n.depth, rng.random()))
        needed = cfg.per_root - state.accepted
        rate = (state.accepted + 1) / (state.proposed + 2)  # Laplace estimate of the acceptance rate
        want = math.ceil(needed / (cfg.children_per_node * rate))
        return keyed[:max(1, min(want, len(keyed), cfg.max_expansions_per_round))]

    def _assign(self, count: int, tallies: Counter[str]) -> list[int]:
        """Generator index of each of ``count`` requests, keeping the cumulative mix closest to the shares."""
        per_request = self.config.children_per_node
        out = []
        for _ in range(count):
            total = sum(tallies[g.name] for g, _ in self.generators) + per_request
            deficits = [share * total - tallies[g.name] for g, share in self.generators]
            best = max(range(len(deficits)), key=lambda i: (deficits[i], -i))
            tallies[self.generators[best][0].name] += per_request
            out.append(best)
        return out

    def _run_round(self, round_index: int, active: list[_RootState], tallies: Counter[str]
                   ) -> tuple[list[TreeNode], list[Rejection], list[str], dict[str, int]]:
        cfg = self.config
        requests: list[tuple[_RootState, TreeNode]] = [(s, n) for s in active for n in self._select(s)]
        assignment = self._assign(len(requests), tallies)
        requested: Counter[str] = Counter()
        proposals: list[list[tuple[str, VariantProposal]]] = [[] for _ in requests]
        for gi, (generator, _) in enumerate(self.generators):
            mine = [k for k, a in enumerate(assignment) if a == gi]
            if not mine:
                continue
            rng = random.Random(f"{cfg.seed}|propose|{round_index}|{generator.name}")
            problems = [requests[k][1].to_problem() for k in mine]
            call = call_with_deadline(generator.propose, problems, cfg.children_per_node, rng,
                                      timeout_s=self._deadlines.propose_s, name=f"{generator.name}.propose")
            got = call.value if call.ok else None
            if not isinstance(got, (list, tuple)) or len(got) != len(problems):
                kind = call.status if not call.ok else "wrong_length"
                FAULTS.add(f"variants.propose.{generator.name}.{kind}")
                logger.warning("variant generator %r failed this round (%s); its requests get no proposals",
                               generator.name, call.error or f"{kind}: {type(got).__name__}")
                continue
            for k, props in zip(mine, got, strict=True):
                proposals[k] = [(generator.name, p) for p in list(props)[:cfg.children_per_node]]
            requested[generator.name] = len(mine) * cfg.children_per_node
        new_nodes: list[TreeNode] = []
        new_rejections: list[Rejection] = []
        for (state, parent), props in zip(requests, proposals, strict=True):
            state.expanded[parent.id] += 1
            for gen_name, proposal in props:
                outcome = self._filter(state, parent, gen_name, proposal, round_index)
                if isinstance(outcome, TreeNode):
                    state.add(outcome)
                    new_nodes.append(outcome)
                else:
                    state.rejections.append(outcome)
                    new_rejections.append(outcome)
        return new_nodes, new_rejections, [parent.id for _, parent in requests], dict(requested)

    def _filter(self, state: _RootState, parent: TreeNode, gen_name: str, proposal: VariantProposal,
                round_index: int) -> TreeNode | Rejection:
        cfg = self.config

        def reject(reason: str, detail: str = "") -> Rejection:
            return Rejection(root_id=state.root.id, parent_id=parent.id, generator=gen_name, reason=reason,
                             detail=detail[:_MAX_STORED_TEXT], text=str(proposal.text)[:_MAX_STORED_TEXT],
                             round=round_index, persona=str(proposal.persona or ""),
                             temperature=None if proposal.temperature is None else float(proposal.temperature))

        if proposal.note == UNPARSEABLE_REPLY:
            return reject(UNPARSEABLE_REPLY, "no variant found in the generator's reply")
        text = str(proposal.text or "").strip()
        if not text:
            return reject("empty")
        if state.accepted >= cfg.per_root:
            return reject("over_quota", f"root already has {cfg.per_root} variants")
        if cfg.dedup != "none" and text in state.exact:
            return reject("duplicate_exact")
        parent_problem = parent.to_problem()
        call = call_with_deadline(self.domain.validate_variant, parent_problem, proposal,
                                  timeout_s=self._deadlines.validate_s, name=f"{self.domain.name}.validate_variant")
        if not call.ok:  # the contract says never raise nor hang; count it if a domain does
            FAULTS.add(f"variants.validate.{call.status}")
            return reject("validator_timeout" if call.status == "timeout" else "validator_error", call.error)
        result = call.value
        if isinstance(result, VariantRejection):
            return reject(result.reason or "rejected", result.detail)
        if not isinstance(result, ValidatedVariant):
            return reject("validator_error", f"validate_variant returned {type(result).__name__}")
        if cfg.dedup != "none" and result.text in state.exact:
            return reject("duplicate_exact")
        canonical = str(result.canonical) if cfg.dedup == "canonical" else ""
        if canonical and canonical in state.canonical:
            return reject("duplicate_canonical", canonical)
        seq = state.accepted + 1
        node = TreeNode(
            id=variant_id(state.root.id, seq),
            root_id=state.root.id,
            parent_id=parent.id,
            depth=parent.depth + 1,
            text=result.text,
            canonical=canonical,
            transformations=tuple(str(t) for t in proposal.transformations),
            persona=str(proposal.persona or ""),
            temperature=None if proposal.temperature is None else float(proposal.temperature),
            generator=gen_name,
            model=str(proposal.generator or ""),
            note=str(proposal.note or ""),
            source=state.root.source,
            seq=seq,
            round=round_index,
        )
        if self.exclude is not None:
            overlap = self.exclude(node.to_problem())
            if overlap:
                return reject(overlap, node.text)
        if cfg.reference_check_timeout_s:
            limit = float(cfg.reference_check_timeout_s)
            call = call_with_deadline(self.domain.reference_solvable, node.to_problem(), limit,
                                      timeout_s=limit + self._deadlines.validate_s,
                                      name=f"{self.domain.name}.reference_solvable")
            if not call.ok:
                FAULTS.add(f"variants.reference_solvable.{call.status}")
                return reject("reference_error", call.error)
            solvable = call.value
            if solvable is False:
                return reject("reference_unsolved", f"not solved within {cfg.reference_check_timeout_s}s")
        return node

    def _notify(self, nodes: list[TreeNode]) -> None:
        if self.host is None or not nodes:
            return
        by_root: dict[str, list[TreeNode]] = {}
        for node in nodes:
            by_root.setdefault(node.root_id, []).append(node)
        for root_id, grown in by_root.items():
            self.host.tree_grew(root_id, grown)


def _with_canonical(node: TreeNode, canonical: str) -> TreeNode:
    from dataclasses import replace

    return replace(node, canonical=canonical)


class _NullBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return _NullBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="variants", unit="node", dynamic_ncols=True)
