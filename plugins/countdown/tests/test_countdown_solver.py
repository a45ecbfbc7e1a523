"""The bounded solver: its answers verify, it is complete, and it stops within its budget."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_countdown.solver import BUDGET, SOLVED, UNSOLVABLE, reachable_within, solve
from ladder_countdown.verify import check_answer


def brute_force(numbers: list[int]) -> set[Fraction]:
    """Every value of every expression over every sub-multiset, negative and zero intermediates included."""
    found: set[Fraction] = set()
    seen: set[tuple] = set()

    def walk(values: list[Fraction]) -> None:
        key = tuple(sorted(values))
        if key in seen:
            return
        seen.add(key)
        found.update(values)
        for i, j in itertools.permutations(range(len(values)), 2):
            a, b = values[i], values[j]
            rest = [values[k] for k in range(len(values)) if k not in (i, j)]
            for value in (a + b, a - b, a * b, a / b if b else None):
                if value is not None:
                    walk([*rest, value])

    walk([Fraction(n) for n in numbers])
    return found


@pytest.mark.parametrize(
    ("numbers", "target"),
    [([75, 50, 2, 3, 8, 7], 812), ([25, 50, 75, 100, 3, 6], 952), ([3, 4, 6], 8), ([1, 5, 5, 5], 24), ([7, 7, 2], 98)],
)
def test_solutions_are_accepted_by_the_verifier(numbers: list[int], target: int) -> None:
    result = solve(numbers, target, max_nodes=10**6, timeout_s=30)
    assert result.status == SOLVED and result.expression
    assert check_answer(tuple(numbers), target, result.expression)[0].value == "correct"


def test_unsolvable_and_trivial_cases() -> None:
    assert solve([3, 7, 25, 50], 181).status == UNSOLVABLE
    assert solve([1, 2], 100).status == UNSOLVABLE
    assert solve([5], 5).expression == "5"
    assert solve([5], 6).status == UNSOLVABLE


def test_budget_is_respected() -> None:
    start = time.monotonic()
    result = solve([75, 3, 2, 8, 9, 7], 999_991, max_nodes=2_000)
    assert result.status == BUDGET and result.nodes <= 2_001
    result = solve([75, 3, 2, 8, 9, 7, 4, 6], 999_991, max_nodes=10**9, timeout_s=0.2)
    assert result.status == BUDGET
    assert time.monotonic() - start < 3.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=2, max_size=4))
def test_positive_only_search_is_complete(numbers: list[int]) -> None:
    """The solver's pruning (no negative or zero intermediates, no x1 or /1) loses no positive whole target."""
    reference = {int(v) for v in brute_force(numbers) if v.denominator == 1 and v > 0}
    ours = {int(v) for v in reachable_within(numbers, len(numbers) - 1) if not isinstance(v, Fraction) and v > 0}
    assert ours == reference
    for target in sorted(reference)[:: max(1, len(reference) // 5)]:
        result = solve(numbers, target)
        assert result.solved
        assert check_answer(tuple(numbers), target, result.expression)[0].value == "correct"
    missing = next(t for t in range(1, 10_000) if t not in reference)
    assert solve(numbers, missing).status == UNSOLVABLE


def test_reachable_within_counts_operations() -> None:
    assert reachable_within([2, 3], 0) == {2, 3}
    assert {v for v in reachable_within([2, 3, 10], 1) if v == int(v)} >= {5, 6, 1, 13, 20, 12, 30, 7, 5}
    assert 60 not in reachable_within([2, 3, 10], 1)
    assert 60 in reachable_within([2, 3, 10], 2)
