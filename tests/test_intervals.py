"""Bootstrap intervals over problems, paired tests, t intervals over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from ladder_core.evaluation.intervals import (
    bootstrap_mean,
    crossed_paired_comparison,
    paired_comparison,
    sign_flip_p_value,
    t_interval,
)


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = bootstrap_mean(rng.binomial(1, 0.3, 50))
    large = bootstrap_mean(rng.binomial(1, 0.3, 2000))
    assert small.low <= small.mean <= small.high
    assert (large.high - large.low) < (small.high - small.low) / 4
    assert large.low < 0.3 < large.high
    assert bootstrap_mean([]) is None
    assert bootstrap_mean([1.0] * 10).to_dict() == {"mean": 1.0, "ci95": [1.0, 1.0], "n": 10, "method": "bootstrap"}


def test_bootstrap_coverage_is_near_95_percent():
    rng = np.random.default_rng(7)
    hits = sum(1 for seed in range(200)
               if (ci := bootstrap_mean(rng.binomial(1, 0.2, 100), n_boot=500, seed=seed)).low <= 0.2 <= ci.high)
    assert 0.88 <= hits / 200 <= 0.99


def test_paired_comparison_detects_a_real_lift_and_not_noise():
    rng = np.random.default_rng(3)
    before = rng.binomial(1, 0.2, 200).astype(float)
    after = np.maximum(before, rng.binomial(1, 0.25, 200))  # strictly helps
    lift = paired_comparison(after, before)
    assert lift.delta > 0 and lift.low > 0 and lift.p_value < 0.01 and lift.significant
    noise = paired_comparison(rng.binomial(1, 0.2, 200), rng.binomial(1, 0.2, 200))
    assert noise.low < 0 < noise.high or noise.p_value > 0.01


def test_exact_sign_flip_small_samples():
    # 5 items all improved by 1: only the all-plus and all-minus patterns are as extreme -> 2/32
    assert sign_flip_p_value(np.ones(5)) == pytest.approx(2 / 32)
    assert sign_flip_p_value(np.zeros(7)) == 1.0
    c = paired_comparison([1, 0, 1], [0, 1, 0])
    assert c.delta == pytest.approx(1 / 3) and 0 < c.p_value <= 1


def test_paired_lengths_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        paired_comparison([1, 0], [1])
    assert paired_comparison([], []) is None


def test_t_interval_over_seeds():
    ci = t_interval([0.02, 0.04, 0.03, 0.05, 0.01])
    assert ci.mean == pytest.approx(0.03) and ci.method == "t"
    half = 2.776 * np.std([0.02, 0.04, 0.03, 0.05, 0.01], ddof=1) / np.sqrt(5)
    assert ci.high - ci.mean == pytest.approx(half)
    assert t_interval([0.5]).low == 0.5 and t_interval([]) is None


def test_crossed_comparison_counts_a_problem_once_over_seeds():
    """One problem of 30 gained under all five seeds: as 150 independent pairs it looks like a lift; as a
    seeds x problems grid it is one problem, which a redraw of the problems often leaves out."""
    before = np.zeros((5, 30))
    after = before.copy()
    after[:, 7] = 1.0
    pooled = paired_comparison(after.ravel(), before.ravel())
    crossed = crossed_paired_comparison(after, before)
    assert pooled.low > 0  # the pairs-as-independent interval claims a lift
    assert crossed.delta == pytest.approx(pooled.delta) and crossed.low == 0.0 and crossed.p_value == 1.0
    assert crossed.n == 30 and crossed.seeds == 5 and crossed.to_dict()["seeds"] == 5


def test_crossed_comparison_sees_seed_to_seed_spread():
    """Training seeds that disagree widen the interval even when every problem moves alike within a seed."""
    per_seed = np.array([0.4, -0.2, 0.3, -0.3, 0.1])
    before = np.zeros((5, 40))
    crossed = crossed_paired_comparison(before + per_seed[:, None], before)
    assert crossed.high - crossed.low > 0.3 and crossed.low < 0 < crossed.high


def test_crossed_comparison_detects_a_lift_on_many_problems_and_checks_shapes():
    rng = np.random.default_rng(3)
    before = rng.random((5, 200)) < 0.3
    after = before | (rng.random((5, 200)) < 0.2)
    crossed = crossed_paired_comparison(after, before)
    assert crossed.low > 0 and crossed.p_value < 0.01
    with pytest.raises(ValueError):
        crossed_paired_comparison([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        crossed_paired_comparison(np.zeros((2, 3)), np.zeros((3, 2)))
    assert crossed_paired_comparison(np.zeros((0, 0)), np.zeros((0, 0))) is None


def test_crossed_interval_covers_where_pooled_pairs_do_not():
    """Coverage under a null with a per-problem effect (problems differ, seeds agree): the interval of the
    (seed, problem) cells as independent pairs misses zero about one time in five, the two-way one rarely."""
    rng = np.random.default_rng(1)
    crossed_hits = pooled_hits = 0
    for i in range(100):
        d = rng.normal(0, 1, (1, 100)) + rng.normal(0, 1, (5, 100))
        c = crossed_paired_comparison(d, np.zeros_like(d), n_boot=500, n_perm=100, seed=i)
        q = paired_comparison(d.ravel(), np.zeros(d.size), n_boot=500, n_perm=100, seed=i)
        crossed_hits += c.low <= 0 <= c.high
        pooled_hits += q.low <= 0 <= q.high
    assert crossed_hits >= 90 and pooled_hits <= 88
