"""Per-node success estimates: a Beta posterior over the policy's success rate.

Each node of a variant tree keeps the evidence of the groups sampled for it
(``successes`` out of ``trials``). The posterior ``Beta(prior_alpha + s,
prior_beta + f)`` gives both a mean (how likely the policy solves the node)
and a weight of evidence (how sure we are), which the curriculum needs to
tell "out of reach" from "not measured yet".

The policy changes while it trains, so old evidence goes stale. When ``t`` new
trials arrive for a node, its previous evidence is first multiplied by
``decay ** t``: an exponentially weighted count per trial, whose weight of
evidence saturates near ``1 / (1 - decay)`` trials (50 for 0.98) whatever the
group size, so a node in training is judged on roughly its last few groups.
Decay happens on the node's own updates, not per training step: a node that
is not sampled keeps its estimate, so the thousands
of settled nodes of a large tree do not all drift back to the prior and get
re-measured at once. Staleness of unsampled nodes is the sampler's business
(root probes, floors, and :meth:`SuccessEstimator.forget` when the tree says an
estimate is out of date).

Standard library only: the trainer imports this on every rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BetaEstimate:
    """Posterior of one node's success rate; ``trials`` is the decayed evidence count."""

    alpha: float
    beta: float
    trials: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def variance(self) -> float:
        a, b = self.alpha, self.beta
        return a * b / ((a + b) ** 2 * (a + b + 1.0))


def _check_counts(successes: int, trials: int) -> None:
    for name, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got successes={successes}, trials={trials}")


class SuccessEstimator:
    """Beta-Bernoulli estimates for any number of nodes, keyed by node id.

    Unseen nodes answer with the prior. ``updates`` counts how many groups a
    node has received (undecayed); it lets callers tell "never tried" from
    "tried and forgotten".
    """

    def __init__(self, prior_alpha: float = 1.0, prior_beta: float = 1.0, decay: float = 1.0) -> None:
        if prior_alpha <= 0 or prior_beta <= 0:
            raise ValueError(f"prior_alpha and prior_beta must be > 0, got {prior_alpha}, {prior_beta}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.prior_alpha = float(prior_alpha)
        self.prior_beta = float(prior_beta)
        self.decay = float(decay)
        # node id -> [decayed successes, decayed failures, number of updates]
        self._evidence: dict[str, list[float]] = {}

    def update(self, node_id: str, successes: int, trials: int) -> BetaEstimate:
        """Fold in one group's outcome; older evidence of this node is first scaled by ``decay ** trials``."""
        _check_counts(successes, trials)
        if trials == 0:
            return self.estimate(node_id)
        ev = self._evidence.setdefault(node_id, [0.0, 0.0, 0])
        keep = self.decay ** trials
        ev[0] = keep * ev[0] + successes
        ev[1] = keep * ev[1] + (trials - successes)
        ev[2] += 1
        return self.estimate(node_id)

    def forget(self, node_id: str, keep_trials: float) -> None:
        """Shrink a node's evidence to at most ``keep_trials`` (its mean is kept).

        Used when the tree says the estimate is stale (e.g. its easier children
        were mastered since it was last measured): the next groups then weigh
        as much as they should.
        """
        ev = self._evidence.get(node_id)
        if ev is None:
            return
        total = ev[0] + ev[1]
        if total > keep_trials >= 0:
            scale = keep_trials / total
            ev[0] *= scale
            ev[1] *= scale

    def estimate(self, node_id: str) -> BetaEstimate:
        s, f, _ = self._evidence.get(node_id, (0.0, 0.0, 0))
        return BetaEstimate(self.prior_alpha + s, self.prior_beta + f, s + f)

    def mean_and_trials(self, node_id: str) -> tuple[float, float] | None:
        """``(posterior mean, decayed trials)``, or None for an unseen node; the sampler's hot path."""
        ev = self._evidence.get(node_id)
        if ev is None:
            return None
        a = self.prior_alpha + ev[0]
        return a / (a + self.prior_beta + ev[1]), ev[0] + ev[1]

    def mean(self, node_id: str) -> float:
        return self.estimate(node_id).mean

    def trials(self, node_id: str) -> float:
        """Decayed number of trials behind the estimate (0 for an unseen node)."""
        s, f, _ = self._evidence.get(node_id, (0.0, 0.0, 0))
        return s + f

    def updates(self, node_id: str) -> int:
        return int(self._evidence.get(node_id, (0.0, 0.0, 0))[2])

    def seen(self, node_id: str) -> bool:
        return node_id in self._evidence

    def __len__(self) -> int:
        return len(self._evidence)

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable snapshot (for checkpoint resume)."""
        return {
            "prior_alpha": self.prior_alpha,
            "prior_beta": self.prior_beta,
            "decay": self.decay,
            "evidence": {k: [v[0], v[1], int(v[2])] for k, v in self._evidence.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore evidence; the priors and decay of this object (from config) stay in force."""
        evidence = state.get("evidence", {})
        restored: dict[str, list[float]] = {}
        for key, value in evidence.items():
            if len(value) != 3:
                raise ValueError(f"bad evidence entry for node {key!r}: {value!r}")
            s, f, n = float(value[0]), float(value[1]), int(value[2])
            if s < 0 or f < 0 or n < 0:
                raise ValueError(f"negative evidence for node {key!r}: {value!r}")
            restored[str(key)] = [s, f, n]
        self._evidence = restored
