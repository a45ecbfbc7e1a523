"""``CurriculumSampler``: which tree nodes the next training batch is made of.

Every node of the variant forest (roots = the real problems, children = easier
variants) carries a :class:`~ladder_core.difficulty.estimator.SuccessEstimator`
posterior fed by the rewards of its groups. In ``adaptive`` mode a node's
sampling weight follows from its status:

==============  ==========================================  =======================
status          when                                        weight
==============  ==========================================  =======================
untried         never sampled                               1 at the frontier (a
                                                            root, or a child of an
                                                            out-of-reach node);
                                                            ``mastered_weight`` below
                                                            a mastered parent; else
                                                            ``WAIT_WEIGHT`` (tiny)
uncertain       tried, < ``min_trials`` of evidence          1 (finish measuring)
hard            mean < ``band_low``                          ``hard_weight``
learnable       ``band_low`` <= mean <= ``mastered``          4p(1-p) inside the band,
                                                            ramping down to the floor
                                                            between ``band_high``
                                                            and ``mastered``
mastered        mean > ``mastered``                          ``mastered_weight``
==============  ==========================================  =======================

Why this shape: a group only teaches GRPO something when its rewards differ,
which is most likely near p = 0.5 (learnability p(1-p), as in R-Zero), so
the learnable band gets the mass. Nothing below the frontier is worth
measuring yet: children of a learnable node are left alone (train the node
itself), while an out-of-reach node hands its mass down to its easier
children (the LADDER descent). When enough of an out-of-reach node's children
have been mastered, its old evidence is declared stale and shrunk
(:meth:`SuccessEstimator.forget`), so the parent comes back as "uncertain" and
is re-measured; climbing that way, the roots come back last. Floors keep
every node reachable (practice on neighbours moves success rates), and a
``root_probe_rate`` share of every batch goes to the roots round robin, so
progress on the real problems is always measured.

``uniform`` draws every node alike and ``roots_only`` only the roots (RL
without variants); both exist for ablations and still keep estimates.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ladder_core.difficulty.config import CurriculumConfig
from ladder_core.difficulty.estimator import SuccessEstimator
from ladder_core.records import TreeNode

STATE_VERSION = 1
# Weight of an untried node whose parent is not out of reach: it is not needed yet
# (train the parent itself), so it is drawn only to keep a batch distinct when
# nothing else is left. Kept above zero so it stays reachable.
WAIT_WEIGHT = 1e-6


def nodes_from_records(records: Iterable[Any]) -> list[TreeNode]:
    """Convert the variant tree's node records (any objects with the four fields)."""
    return [TreeNode.from_record(r) for r in records]


class NodeStatus(str, enum.Enum):
    UNTRIED = "untried"
    UNCERTAIN = "uncertain"
    HARD = "hard"
    LEARNABLE = "learnable"
    MASTERED = "mastered"


class CurriculumSampler:
    """Chooses node ids for each batch and learns from the rewards of their groups.

    The training loop calls :meth:`sample` once per batch (k prompts, one
    group each), then :meth:`update` once per group with the number of
    successful completions. Everything else is read-only inspection or
    checkpointing.
    """

    def __init__(self, nodes: Sequence[TreeNode], config: CurriculumConfig, seed: int = 0) -> None:
        if not nodes:
            raise ValueError("the curriculum needs at least one node")
        self.config = config
        self.nodes: tuple[TreeNode, ...] = tuple(nodes)
        self._index: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            if node.id in self._index:
                raise ValueError(f"duplicate node id {node.id!r}")
            self._index[node.id] = i
        n = len(self.nodes)
        self._parent = np.full(n, -1, dtype=np.int64)
        self._children: list[list[int]] = [[] for _ in range(n)]
        for i, node in enumerate(self.nodes):
            if node.parent_id is None:
                if node.depth != 0 or node.root_id != node.id:
                    raise ValueError(f"root {node.id!r} must have depth 0 and root_id == id")
                continue
            p = self._index.get(node.parent_id)
            if p is None:
                raise ValueError(f"node {node.id!r}: unknown parent {node.parent_id!r}")
            if self.nodes[p].root_id != node.root_id or node.depth != self.nodes[p].depth + 1:
                raise ValueError(f"node {node.id!r}: depth/root_id inconsistent with parent {node.parent_id!r}")
            self._parent[i] = p
            self._children[p].append(i)
        self._roots = np.array([i for i, nd in enumerate(self.nodes) if nd.parent_id is None], dtype=np.int64)
        if self._roots.size == 0:
            raise ValueError("the curriculum needs at least one root (parent_id None)")
        self.estimator = SuccessEstimator(config.prior_alpha, config.prior_beta, config.decay)
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._step = 0
        self._last_probe = np.full(n, -1, dtype=np.int64)  # meaningful for roots only
        self._ready_mark: dict[int, int] = {}
        self._revisits = 0
        self._weights = np.zeros(n, dtype=np.float64)
        self._refresh_all()

    # ------------------------------------------------------------------ public API

    def sample(self, k: int, *, exclude: Collection[str] = (), probe: bool = True) -> list[str]:
        """Return ``k`` node ids for the next batch, distinct where the tree allows.

        ``exclude`` keeps ids out of this draw (used for replacement groups);
        ``probe=False`` skips the root-probe share (replacements should not
        spend budget on measurement).
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        self._step += 1
        if k == 0:
            return []
        excluded = np.zeros(len(self.nodes), dtype=bool)
        for node_id in exclude:
            i = self._index.get(node_id)
            if i is not None:
                excluded[i] = True
        picked: list[int] = []
        if self.config.mode == "adaptive" and probe and self.config.root_probe_rate > 0:
            picked = self._probe_roots(k, excluded)
            excluded[picked] = True
        weights = self._mode_weights()
        picked += self._draw(weights, excluded, k - len(picked))
        return [self.nodes[i].id for i in picked]

    def update(self, node_id: str, successes: int, trials: int) -> None:
        """Record one group's outcome for a node (``successes`` of ``trials`` completions correct)."""
        i = self._require(node_id)
        self.estimator.update(node_id, successes, trials)
        if self.config.mode == "adaptive":
            self._refresh_around(i)

    def mean(self, node_id: str) -> float:
        """Posterior mean success of a node (the prior mean if never sampled)."""
        return self.estimator.mean(self.nodes[self._require(node_id)].id)

    def status(self, node_id: str) -> NodeStatus:
        return self._status(self._require(node_id))

    def weight(self, node_id: str) -> float:
        """Current unnormalised sampling weight of a node in the configured mode."""
        return float(self._mode_weights()[self._require(node_id)])

    def probabilities(self) -> dict[str, float]:
        """Each node's share of the weighted (non-probe) draw; for logging and tests."""
        w = self._mode_weights()
        total = w.sum()
        return {nd.id: float(w[i] / total) for i, nd in enumerate(self.nodes)}

    def depth_success(self) -> dict[int, float]:
        """Mean estimated success per depth, over nodes sampled at least once."""
        sums: dict[int, list[float]] = {}
        for node in self.nodes:
            if self.estimator.seen(node.id):
                acc = sums.setdefault(node.depth, [0.0, 0])
                acc[0] += self.estimator.mean(node.id)
                acc[1] += 1
        return {d: s / c for d, (s, c) in sorted(sums.items())}

    def mastered_roots(self) -> list[str]:
        return [self.nodes[i].id for i in self._roots if self._status(int(i)) is NodeStatus.MASTERED]

    def summary(self) -> dict[str, Any]:
        """Counts per status, per-depth success and mastered roots: a compact log record."""
        counts = {s.value: 0 for s in NodeStatus}
        for i in range(len(self.nodes)):
            counts[self._status(i).value] += 1
        return {"step": self._step, "status_counts": counts, "depth_success": self.depth_success(),
                "mastered_roots": len(self.mastered_roots()), "roots": int(self._roots.size),
                "revisits": self._revisits}

    @property
    def root_ids(self) -> list[str]:
        return [self.nodes[i].id for i in self._roots]

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state for checkpoint resume (estimates, probe schedule, RNG)."""
        return {
            "version": STATE_VERSION,
            "mode": self.config.mode,
            "step": self._step,
            "estimator": self.estimator.state_dict(),
            "last_probe": {self.nodes[i].id: int(self._last_probe[i]) for i in self._roots
                           if self._last_probe[i] >= 0},
            "ready_mark": {self.nodes[i].id: m for i, m in self._ready_mark.items()},
            "revisits": self._revisits,
            "rng": _jsonable_rng_state(self._rng.bit_generator.state),
        }

    def load_state_dict(self, state: Mapping[str, Any], *, strict: bool = True) -> None:
        """Restore :meth:`state_dict`. With ``strict``, ids unknown to this tree are an error;
        otherwise their evidence is dropped (e.g. resuming after the tree was regenerated)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported curriculum state version {state.get('version')!r}")
        est_state = dict(state["estimator"])
        unknown = [k for k in est_state.get("evidence", {}) if k not in self._index]
        unknown += [k for k in state.get("last_probe", {}) if k not in self._index]
        unknown += [k for k in state.get("ready_mark", {}) if k not in self._index]
        if unknown and strict:
            raise ValueError(f"curriculum state names {len(unknown)} node(s) not in this tree, e.g. {unknown[0]!r}")
        est_state["evidence"] = {k: v for k, v in est_state.get("evidence", {}).items() if k in self._index}
        self.estimator.load_state_dict(est_state)
        self._step = int(state.get("step", 0))
        self._last_probe[:] = -1
        for key, value in state.get("last_probe", {}).items():
            if key in self._index:
                self._last_probe[self._index[key]] = int(value)
        self._ready_mark = {self._index[k]: int(v) for k, v in state.get("ready_mark", {}).items()
                            if k in self._index}
        self._revisits = int(state.get("revisits", 0))
        if "rng" in state:
            self._rng.bit_generator.state = state["rng"]
        self._refresh_all()

    # ------------------------------------------------------------------ internals

    def _require(self, node_id: str) -> int:
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(f"unknown curriculum node {node_id!r}") from None

    def _status(self, i: int) -> NodeStatus:
        stats = self.estimator.mean_and_trials(self.nodes[i].id)
        if stats is None:
            return NodeStatus.UNTRIED
        p, trials = stats
        if trials < self.config.min_trials:
            return NodeStatus.UNCERTAIN
        if p > self.config.mastered:
            return NodeStatus.MASTERED
        if p < self.config.band_low:
            return NodeStatus.HARD
        return NodeStatus.LEARNABLE

    def _adaptive_weight(self, i: int) -> float:
        cfg = self.config
        status = self._status(i)
        if status is NodeStatus.MASTERED:
            return cfg.mastered_weight
        if status is NodeStatus.HARD:
            return cfg.hard_weight
        if status is NodeStatus.UNCERTAIN:
            return 1.0
        if status is NodeStatus.UNTRIED:
            parent = int(self._parent[i])
            if parent < 0:
                return 1.0
            parent_status = self._status(parent)
            if parent_status is NodeStatus.HARD:
                return 1.0
            if parent_status is NodeStatus.MASTERED:
                return cfg.mastered_weight  # easier than a mastered node: presumably mastered too
            return WAIT_WEIGHT
        return learnability_weight(self.estimator.mean(self.nodes[i].id), cfg)

    def _refresh_all(self) -> None:
        if self.config.mode != "adaptive":
            return  # the cached weights are only used in adaptive mode
        for i in range(len(self.nodes)):
            self._weights[i] = self._adaptive_weight(i)

    def _refresh_around(self, i: int) -> None:
        """Recompute what one node's new evidence can change: itself, its children, its parent."""
        self._maybe_revisit(i)
        parent = int(self._parent[i])
        if parent >= 0:
            self._maybe_revisit(parent)
        for j in (i, *self._children[i]):
            self._weights[j] = self._adaptive_weight(j)

    def _maybe_revisit(self, i: int) -> None:
        """Bring an out-of-reach node back once enough of its children are mastered.

        Edge-triggered on the number of mastered children, so a node that is
        still out of reach after its re-measurement is not re-opened again
        until another child is mastered.
        """
        children = self._children[i]
        if not children or self._status(i) is not NodeStatus.HARD:
            return
        tried = mastered = 0
        for c in children:
            status = self._status(c)
            if status is not NodeStatus.UNTRIED:
                tried += 1
                mastered += status is NodeStatus.MASTERED
        mark = self._ready_mark.get(i, 0)
        if mastered < mark:
            self._ready_mark[i] = mark = mastered
        if tried and mastered > mark and mastered >= self.config.revisit_fraction * tried:
            self._ready_mark[i] = mastered
            self._revisits += 1
            self.estimator.forget(self.nodes[i].id, self.config.min_trials / 2)
            for j in (i, *children):
                self._weights[j] = self._adaptive_weight(j)

    def _mode_weights(self) -> np.ndarray:
        mode = self.config.mode
        if mode == "adaptive":
            return self._weights
        if mode == "uniform":
            return np.ones(len(self.nodes))
        w = np.zeros(len(self.nodes))
        w[self._roots] = 1.0
        return w

    def _probe_roots(self, k: int, excluded: np.ndarray) -> list[int]:
        rate = self.config.root_probe_rate
        n_probe = math.floor(k * rate)
        if self._rng.random() < k * rate - n_probe:
            n_probe += 1
        candidates = [int(i) for i in self._roots if not excluded[i]]
        n_probe = min(n_probe, len(candidates), k)
        if n_probe == 0:
            return []
        tiebreak = self._rng.random(len(candidates))
        # Unmastered roots first, then the longest unprobed; mastered roots still get the weighted draw.
        order = sorted(range(len(candidates)), key=lambda j: (
            self._status(candidates[j]) is NodeStatus.MASTERED, self._last_probe[candidates[j]], tiebreak[j]))
        chosen = [candidates[j] for j in order[:n_probe]]
        self._last_probe[chosen] = self._step
        return chosen

    def _draw(self, weights: np.ndarray, excluded: np.ndarray, m: int) -> list[int]:
        """Weighted draw of ``m`` indices, distinct within each pass over the eligible nodes."""
        out: list[int] = []
        w = np.where(excluded, 0.0, weights)
        if m > 0 and not (w > 0).any():
            w = weights.copy()  # everything eligible was excluded: fall back to repeats
            if not (w > 0).any():
                raise ValueError("no node has positive sampling weight")
        while m > 0:
            eligible = np.flatnonzero(w > 0)
            take = min(m, eligible.size)
            # Gumbel-top-k == weighted sampling without replacement (Efraimidis-Spirakis).
            keys = np.log(w[eligible]) + self._rng.gumbel(size=eligible.size)
            top = np.argpartition(-keys, take - 1)[:take] if take < eligible.size else np.arange(eligible.size)
            top = top[np.argsort(-keys[top])]
            out.extend(int(eligible[t]) for t in top)
            m -= take
        return out


def learnability_weight(p: float, config: CurriculumConfig) -> float:
    """4p(1-p) inside the band, ramping linearly to the floor between ``band_high`` and ``mastered``."""
    w = 4.0 * p * (1.0 - p)
    if p > config.band_high:
        span = config.mastered - config.band_high
        w *= (config.mastered - p) / span if span > 0 else 0.0
    return max(w, config.mastered_weight)


def _jsonable_rng_state(state: Mapping[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
        return value

    return convert(state)
