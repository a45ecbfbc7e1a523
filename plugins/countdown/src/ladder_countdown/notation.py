"""The text notation of a Countdown problem, and its parser.

Canonical form, one line (this is ``Problem.text``)::

    numbers: 3 7 25 50; target: 178

Numbers are positive whole numbers separated by single spaces, in the order
given; the target is a positive whole number. :func:`parse_puzzle` also reads
the spellings language models produce when they write variants
(``Numbers: [3, 7, 25, 50], Target: 178``) and :func:`format_puzzle` writes the
canonical form back, so every accepted variant is stored canonically. The
canonical *de-duplication key* additionally sorts the numbers, because the
order of the numbers does not change the puzzle.

Problem text comes from files and from model output, so it is matched by one
anchored regular expression on a length-capped string (no backtracking
blow-up) and checked against :class:`PuzzleLimits`. This module imports only
the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class PuzzleError(ValueError):
    """The text is not a Countdown problem (or breaks a limit); the message says why."""


@dataclass(frozen=True)
class PuzzleLimits:
    """Bounds on a problem; they also bound the verifier's arithmetic (see ``parsing``)."""

    max_numbers: int = 8
    max_number: int = 10_000
    max_target: int = 1_000_000
    max_chars: int = 300


DEFAULT_PUZZLE_LIMITS = PuzzleLimits()


@dataclass(frozen=True)
class Puzzle:
    """A parsed problem: the available numbers (a multiset, order kept) and the target."""

    numbers: tuple[int, ...]
    target: int

    @property
    def text(self) -> str:
        """The canonical one-line notation, numbers in the given order."""
        return format_puzzle(self.numbers, self.target)

    @property
    def key(self) -> str:
        """De-duplication key: the canonical notation with the numbers sorted."""
        return format_puzzle(sorted(self.numbers), self.target)


_PUZZLE_RE = re.compile(
    r"""^\s*numbers\s*[:=]\s*[\[(]?\s*
        (?P<numbers>[0-9]{1,9}(?:(?:\s*,\s*|\s+)[0-9]{1,9}){0,31})
        \s*[\])]?\s*[;,|]?\s*
        target\s*[:=]\s*(?P<target>[0-9]{1,9})\s*\.?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def format_puzzle(numbers: tuple[int, ...] | list[int], target: int) -> str:
    """``numbers: 3 7 25 50; target: 178``."""
    return f"numbers: {' '.join(str(n) for n in numbers)}; target: {target}"


def parse_puzzle(text: str, limits: PuzzleLimits = DEFAULT_PUZZLE_LIMITS) -> Puzzle:
    """The puzzle written in ``text``; :class:`PuzzleError` saying why when it is not one."""
    if not isinstance(text, str):
        raise PuzzleError(f"problem must be text, got {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise PuzzleError(f"problem text is too long ({len(text)} characters; limit {limits.max_chars})")
    match = _PUZZLE_RE.match(text)
    if match is None:
        raise PuzzleError("expected 'numbers: N N ...; target: T'")
    numbers = tuple(int(n) for n in re.split(r"[\s,]+", match.group("numbers").strip()))
    target = int(match.group("target"))
    if len(numbers) > limits.max_numbers:
        raise PuzzleError(f"{len(numbers)} numbers (limit {limits.max_numbers})")
    if any(n < 1 for n in numbers):
        raise PuzzleError("numbers must be positive")
    if any(n > limits.max_number for n in numbers):
        raise PuzzleError(f"a number is larger than {limits.max_number}")
    if not 1 <= target <= limits.max_target:
        raise PuzzleError(f"target must be between 1 and {limits.max_target}")
    return Puzzle(numbers=numbers, target=target)


def try_parse_puzzle(text: str, limits: PuzzleLimits = DEFAULT_PUZZLE_LIMITS) -> Puzzle | None:
    """:func:`parse_puzzle`, or ``None`` instead of an error."""
    try:
        return parse_puzzle(text, limits)
    except PuzzleError:
        return None
