"""An exact, bounded Countdown solver (depth-first search over multisets of values).

Used to decide whether a generated problem or a proposed variant is solvable
(LADDER keeps only variants a reference solver can solve) and to give each
shipped problem a reference solution.

The search is complete for positive targets while exploring only positive
intermediate values: any expression can be rewritten so that no subexpression
is negative (flip ``a - b`` to ``b - a`` and propagate the sign upwards) or
zero (a zero subexpression can be dropped, and numbers may go unused). Hence
per pair it tries ``a + b``, ``|a - b|``, ``a * b``, ``a / b`` and ``b / a``,
skipping multiplications and divisions by one (using the one is the same as not
using it). Intermediate fractions are allowed, like in the verifier. Each
multiset of values is expanded once.

It is bounded twice: ``max_nodes`` (deterministic, so generated data does not
depend on machine speed) and a wall-clock ``timeout_s`` checked every few
hundred nodes. Running out of either gives status ``"budget"`` ("don't know").
The inputs come from :class:`~ladder_countdown.notation.Puzzle`, whose limits
cap the count and size of the numbers. Imports only the standard library.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from ladder_countdown.parsing import BinOp, Num, format_expression

SOLVED = "solved"
UNSOLVABLE = "unsolvable"
BUDGET = "budget"

Value = int | Fraction


@dataclass(frozen=True)
class SolveResult:
    """``status`` is ``solved`` (with ``expression``), ``unsolvable`` (search exhausted) or ``budget``."""

    status: str
    expression: str | None
    nodes: int
    seconds: float

    @property
    def solved(self) -> bool:
        return self.status == SOLVED


class _OutOfBudget(Exception):
    pass


def _norm(value: Value) -> Value:
    if type(value) is not int and value.denominator == 1:
        return value.numerator
    return value


def _wrap(expr: str, prec: int, need: int) -> str:
    return f"({expr})" if prec < need else expr


def _div(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        return a // b if a % b == 0 else Fraction(a, b)
    return _norm(Fraction(a) / b)


def _combine(av: Value, bv: Value) -> list[tuple[Value, str, bool]]:
    """``(value, op, swapped)`` for every useful combination of ``av >= bv > 0``.

    ``swapped`` means the expression is ``b op a`` (only for ``b / a``).
    """
    if type(av) is int and type(bv) is int:
        out: list[tuple[Value, str, bool]] = [(av + bv, "+", False)]
        if av != bv:
            out.append((av - bv, "-", False))
        if bv != 1:
            out.append((av * bv, "*", False))
            out.append((av // bv if av % bv == 0 else Fraction(av, bv), "/", False))
        if av != bv and av != 1:
            out.append((Fraction(bv, av), "/", True))
        return out
    out = [(_norm(av + bv), "+", False)]
    if av != bv:
        out.append((_norm(av - bv), "-", False))
    if bv != 1:
        out.append((_norm(av * bv), "*", False))
        out.append((_div(av, bv), "/", False))
    if av != bv and av != 1:
        out.append((_div(bv, av), "/", True))
    return out


def moves(a: tuple[Value, str, int], b: tuple[Value, str, int]) -> Iterator[tuple[Value, str, int]]:
    """``(value, expression, precedence)`` of every useful combination of two positive values.

    Precedence is 1 for a sum or difference, 2 for a product or quotient and 3
    for a number; it decides where the expression text needs parentheses.
    """
    (av, ae, ap), (bv, be, bp) = (a, b) if a[0] >= b[0] else (b, a)
    for value, op, swapped in _combine(av, bv):
        (le, lp), (re_, rp) = ((be, bp), (ae, ap)) if swapped else ((ae, ap), (be, bp))
        prec = 1 if op in "+-" else 2
        right_need = prec + 1 if op in "-/" else prec
        yield value, f"{_wrap(le, lp, prec)} {op} {_wrap(re_, rp, right_need)}", prec


def _format(expr: object) -> str:
    """Text of a lazily built ``(op, left, right)`` tree, with only the parentheses it needs."""
    def node(e: object) -> BinOp | Num:
        if isinstance(e, tuple):
            return BinOp(e[0], node(e[1]), node(e[2]))
        return Num(int(e))  # type: ignore[call-overload]

    return format_expression(node(expr))


class _Search:
    """Depth-first search; expressions are built as cheap tuples and formatted once at the end."""

    def __init__(self, target: int, max_nodes: int, deadline: float) -> None:
        self.target = target
        self.max_nodes = max_nodes
        self.deadline = deadline
        self.nodes = 0
        self.seen: set[tuple[Value, ...]] = set()

    def run(self, values: list[Value], exprs: list[object]) -> object | None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _OutOfBudget
        if not self.nodes & 255 and time.monotonic() > self.deadline:
            raise _OutOfBudget
        key = tuple(sorted(values))
        if key in self.seen:
            return None
        self.seen.add(key)
        count = len(values)
        target = self.target
        for i in range(count):
            for j in range(i + 1, count):
                a, b = values[i], values[j]
                ea, eb = exprs[i], exprs[j]
                if a < b:
                    a, b, ea, eb = b, a, eb, ea
                rest_v = [values[k] for k in range(count) if k != i and k != j]
                rest_e = [exprs[k] for k in range(count) if k != i and k != j]
                for value, op, swapped in _combine(a, b):
                    expr = (op, eb, ea) if swapped else (op, ea, eb)
                    if value == target:
                        return expr
                    if count > 2:
                        found = self.run([*rest_v, value], [*rest_e, expr])
                        if found is not None:
                            return found
        return None


def solve(numbers: tuple[int, ...] | list[int], target: int, *, max_nodes: int = 200_000,
          timeout_s: float = 2.0) -> SolveResult:
    """Find an expression over a sub-multiset of ``numbers`` equal to ``target``, within the bounds."""
    start = time.monotonic()
    values: list[Value] = [int(n) for n in numbers if int(n) > 0]
    if target in values:
        return SolveResult(SOLVED, str(int(target)), 0, time.monotonic() - start)
    search = _Search(int(target), max_nodes, start + timeout_s)
    try:
        found = search.run(values, list(values)) if len(values) >= 2 else None
    except _OutOfBudget:
        return SolveResult(BUDGET, None, search.nodes, time.monotonic() - start)
    if found is None:
        return SolveResult(UNSOLVABLE, None, search.nodes, time.monotonic() - start)
    return SolveResult(SOLVED, _format(found), search.nodes, time.monotonic() - start)


def reachable_within(numbers: tuple[int, ...] | list[int], operations: int) -> set[Value]:
    """Every value some sub-multiset of ``numbers`` makes with at most ``operations`` operations.

    Cheap for ``operations <= 2`` (used to reject trivial problems: a target
    that is one of the numbers, or one operation away).
    """
    found: set[Value] = set()

    def walk(values: list[Value], left: int) -> None:
        found.update(values)
        if left == 0:
            return
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                rest = [values[k] for k in range(len(values)) if k != i and k != j]
                a, b = (values[i], values[j]) if values[i] >= values[j] else (values[j], values[i])
                for value, _, _ in _combine(a, b):
                    walk([*rest, value], left - 1)

    walk([int(n) for n in numbers if int(n) > 0], max(0, operations))
    return found
