"""Uncertainty of accuracies: bootstrap intervals over problems, paired tests between two models.

Why over problems: a test set is a sample of problems, and with 100 problems
a 3-point lift is within noise; a number without its interval invites
over-reading. Why paired: two models evaluated on the same problems differ
far less than two independent samples would, so the paired bootstrap of the
per-problem differences (interval) and a sign-flip permutation test of the
mean difference (p-value) are much sharper than comparing two intervals.
Over a handful of seeds (the ablation) the sign-flip test is exact and the
interval is Student's t. Several seeds on the same problems are a seeds x
problems grid, not independent pairs: the same problem under five seeds is one
problem, so :func:`crossed_paired_comparison` resamples seeds and problems
(pooling the grid's cells as independent pairs gives too narrow an interval).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
N_BOOT = 2000
N_PERM = 5000
#: Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (no scipy needed).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% interval (``method``: ``bootstrap`` over problems or ``t`` over seeds)."""

    mean: float
    low: float
    high: float
    n: int
    method: str = "bootstrap"

    def to_dict(self) -> dict[str, float | int | str]:
        return {"mean": self.mean, "ci95": [self.low, self.high], "n": self.n, "method": self.method}


@dataclass(frozen=True)
class PairedComparison:
    """``after - before`` on the same items: mean difference, its 95% interval, a two-sided p-value."""

    delta: float
    low: float
    high: float
    p_value: float
    n: int
    method: str = "paired bootstrap + sign-flip permutation"
    #: For a seeds x problems grid (:func:`crossed_paired_comparison`): the seeds; ``n`` is then the problems.
    seeds: int | None = None

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - LEVEL

    def to_dict(self) -> dict[str, float | int | str | list[float] | bool]:
        out: dict[str, float | int | str | list[float] | bool] = {
            "delta": self.delta, "ci95": [self.low, self.high], "p_value": self.p_value, "n": self.n,
            "significant_at_0.05": self.significant, "method": self.method}
        if self.seeds is not None:
            out["seeds"] = self.seeds
        return out


def bootstrap_mean(values: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0) -> Interval | None:
    """Percentile bootstrap interval of the mean of per-problem values (``None`` for no values)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return Interval(float(x.mean()), float(low), float(high), int(x.size))


def paired_comparison(after: Sequence[float], before: Sequence[float], *, n_boot: int = N_BOOT,
                      n_perm: int = N_PERM, seed: int = 0) -> PairedComparison | None:
    """Paired bootstrap interval and sign-flip permutation p-value of ``mean(after - before)``.

    The permutation test is exact (all ``2**n`` sign patterns) for ``n <= 16``,
    Monte Carlo with ``n_perm`` draws otherwise (p-value with the +1 correction,
    so never 0).
    """
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    if a.size == 0:
        return None
    d = a - b
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    low, high = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    p = sign_flip_p_value(d, n_perm=n_perm, rng=rng)
    return PairedComparison(float(d.mean()), float(low), float(high), p, int(d.size))


def crossed_paired_comparison(after: Sequence[Sequence[float]], before: Sequence[Sequence[float]], *,
                              n_boot: int = N_BOOT, n_perm: int = N_PERM, seed: int = 0) -> PairedComparison | None:
    """``mean(after - before)`` over a seeds x problems grid (row = seed, column = problem, every seed on the
    same problems): interval and p-value for "another draw of problems *and* of training seeds".

    The interval is a two-way ("pigeonhole", Owen 2007) bootstrap: each replicate resamples the seeds and,
    independently, the problems, and averages the grid's cells at the drawn (seed, problem) crossings. It is
    wider than a bootstrap of the cells as independent pairs, which treats five seeds of one problem as five
    problems, and wider than a problem bootstrap of the seed-averaged deltas, which holds the seeds fixed.
    The p-value is the sign-flip test of the per-problem deltas averaged over seeds (problems exchangeable).
    """
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired grids differ in shape: {a.shape} vs {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"expected a seeds x problems grid, got shape {a.shape}")
    if a.size == 0:
        return None
    d = a - b
    n_seeds, n_problems = d.shape
    rng = np.random.default_rng(seed)
    # how often each seed / problem is drawn in each replicate; the replicate mean is w_s' d w_p / (S P)
    w_s = np.stack([np.bincount(r, minlength=n_seeds) for r in rng.integers(0, n_seeds, (n_boot, n_seeds))])
    w_p = np.stack([np.bincount(r, minlength=n_problems) for r in rng.integers(0, n_problems, (n_boot, n_problems))])
    boot = np.einsum("bs,sp,bp->b", w_s, d, w_p) / (n_seeds * n_problems)
    low, high = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    p = sign_flip_p_value(d.mean(axis=0), n_perm=n_perm, rng=rng)
    return PairedComparison(float(d.mean()), float(low), float(high), p, n_problems,
                            method="two-way bootstrap over seeds and problems + sign flip of per-problem means",
                            seeds=n_seeds)


def sign_flip_p_value(d: np.ndarray, *, n_perm: int = N_PERM, rng: np.random.Generator | None = None) -> float:
    """Two-sided p-value of ``mean(d) = 0`` under random signs of the paired differences."""
    d = np.asarray(d, dtype=float)
    observed = abs(d.mean()) - 1e-12
    if not np.any(d):
        return 1.0
    if d.size <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
        return float(np.mean(np.abs((signs * d).mean(axis=1)) >= observed))
    rng = rng or np.random.default_rng(0)
    signs = rng.choice((-1.0, 1.0), size=(n_perm, d.size))
    hits = int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed))
    return (hits + 1) / (n_perm + 1)


def t_interval(values: Sequence[float]) -> Interval | None:
    """Mean and Student-t 95% interval over a few runs (seeds); a single run has a zero-width interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return None
    if x.size == 1:
        return Interval(float(x[0]), float(x[0]), float(x[0]), 1, "t")
    sd = float(x.std(ddof=1))
    t = _T975[min(x.size - 1, len(_T975)) - 1] if x.size - 1 <= len(_T975) else 1.96
    half = t * sd / math.sqrt(x.size)
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half), int(x.size), "t")
