"""Checking a Countdown answer: extract, parse, check the numbers used, evaluate exactly, compare.

:func:`check_answer` is the pure check (it is what a worker process runs, see
``ladder_countdown.workers``); :func:`verify_completion` adds answer
extraction and problem parsing and turns everything into a
:class:`~ladder_core.records.Verdict`. Neither raises on any input.

Statuses:

``correct``
    the expression parses, uses each given number at most once (a
    sub-multiset of the numbers; not all need be used) and equals the target
    exactly (intermediate fractions are fine: ``(7 / 3) * 3`` is 7);
``incorrect``
    well-formed but wrong: a number that is not available or used too often,
    a division by zero, or another value;
``unparseable``
    no ``<ANSWER>`` block, or text that is not an expression of whole numbers,
    ``+ - * /`` and parentheses, or one over a limit (length, tokens, depth, digits);
``error``
    the *problem* is not a Countdown problem, or a bug (reported, never raised).

Why this is fast and bounded even in-process: the limits in ``parsing`` make
parsing linear in at most a few hundred characters, and evaluation happens
only after the sub-multiset check, so it is at most ``max_numbers - 1``
operations on integers below ``max_number ** max_numbers``. Completions are
scanned for tags in linear time (no backtracking regular expression). This
module imports only the standard library and ``ladder_core.records``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from fractions import Fraction

from ladder_core.records import Verdict, VerdictStatus

from ladder_countdown.notation import DEFAULT_PUZZLE_LIMITS, PuzzleError, PuzzleLimits, parse_puzzle
from ladder_countdown.parsing import (
    DEFAULT_LIMITS,
    EvaluationError,
    ExpressionLimits,
    ParseError,
    evaluate,
    numbers_used,
    parse_answer,
)

#: Completions longer than this are not scanned at all (a 4,096-token reply is ~20k characters).
MAX_COMPLETION_CHARS = 1_000_000

_OPEN_TAG = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)


def extract_answer(completion: str) -> str | None:
    """The text of the last complete ``<ANSWER>...</ANSWER>`` block (case-insensitive), stripped.

    Linear time: one pass for closing tags, one for opening tags before the
    last closing tag. ``None`` when there is no complete block or the
    completion is absurdly long.
    """
    if not isinstance(completion, str) or len(completion) > MAX_COMPLETION_CHARS:
        return None
    last_close = None
    for last_close in _CLOSE_TAG.finditer(completion):
        pass
    if last_close is None:
        return None
    last_open = None
    for match in _OPEN_TAG.finditer(completion, 0, last_close.start()):
        last_open = match
    if last_open is None:
        return None
    return completion[last_open.end() : last_close.start()].strip()


def has_answer_format(completion: str) -> bool:
    """A non-empty ``<ANSWER>`` block: what earns LADDER's small format reward."""
    answer = extract_answer(completion)
    return bool(answer)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def check_answer(numbers: tuple[int, ...] | list[int], target: int, answer: str,
                 limits: ExpressionLimits = DEFAULT_LIMITS) -> tuple[VerdictStatus, str]:
    """``(status, reason)`` for an extracted answer. Pure and bounded; never raises."""
    try:
        expr = parse_answer(answer, limits)
    except ParseError as exc:
        return VerdictStatus.UNPARSEABLE, str(exc)
    try:
        used = Counter(numbers_used(expr))
        available = Counter(numbers)
        for number, count in sorted(used.items()):
            if available[number] == 0:
                return VerdictStatus.INCORRECT, f"uses {number}, which is not one of the numbers"
            if count > available[number]:
                given = _times(available[number])
                return VerdictStatus.INCORRECT, f"uses {number} {_times(count)} but it is given {given}"
        try:
            value = evaluate(expr)
        except EvaluationError as exc:
            return VerdictStatus.INCORRECT, str(exc)
        if value == target:
            return VerdictStatus.CORRECT, f"uses {sum(used.values())} of {len(numbers)} numbers"
        return VerdictStatus.INCORRECT, f"evaluates to {_fmt(value)}, not the target {target}"
    except Exception as exc:  # noqa: BLE001 - a verifier reports bugs, it never raises
        return VerdictStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}"[:200]


def prepare(problem_text: str, completion: str, puzzle_limits: PuzzleLimits = DEFAULT_PUZZLE_LIMITS,
            limits: ExpressionLimits = DEFAULT_LIMITS) -> tuple[tuple[int, ...], int, str] | Verdict:
    """The cheap part of a check, done before any worker is involved.

    Returns ``(numbers, target, answer)`` to check, or the final verdict when
    the problem is malformed, there is no answer block, or the answer is far
    over the length limit (so oversized text never crosses a pipe).
    """
    try:
        puzzle = parse_puzzle(problem_text, puzzle_limits)
    except PuzzleError as exc:
        return Verdict(VerdictStatus.ERROR, f"not a Countdown problem: {exc}")
    answer = extract_answer(completion)
    if answer is None:
        return Verdict(VerdictStatus.UNPARSEABLE, "no <ANSWER>...</ANSWER> block")
    if not answer:
        return Verdict(VerdictStatus.UNPARSEABLE, "empty <ANSWER> block")
    if len(answer) > 4 * limits.max_chars:
        return Verdict(VerdictStatus.UNPARSEABLE, f"answer is too long ({len(answer)} characters)")
    return puzzle.numbers, puzzle.target, answer


def verify_completion(problem_text: str, completion: str, puzzle_limits: PuzzleLimits = DEFAULT_PUZZLE_LIMITS,
                      limits: ExpressionLimits = DEFAULT_LIMITS) -> Verdict:
    """Check one completion in this thread (safe: bounded as explained in the module docstring)."""
    start = time.perf_counter()
    try:
        prepared = prepare(problem_text, completion, puzzle_limits, limits)
        if isinstance(prepared, Verdict):
            return Verdict(prepared.status, prepared.reason, time.perf_counter() - start)
        status, reason = check_answer(*prepared, limits=limits)
        return Verdict(status, reason, time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001
        return Verdict(VerdictStatus.ERROR, f"internal error: {type(exc).__name__}"[:200], time.perf_counter() - start)
