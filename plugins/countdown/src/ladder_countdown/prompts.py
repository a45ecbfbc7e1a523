"""What the Countdown domain says to the policy model when asking it to solve a problem.

Two styles: ``instruct`` spells out the rules and the ``<ANSWER>`` format for
chat models (sent as the user message of a chat template); ``compact`` is the
bare problem line plus a newline, for a tiny model trained directly on
``numbers: ...; target: ...\\n`` -> ``<ANSWER>expression</ANSWER>``. Imports only
the standard library and core records.
"""

from __future__ import annotations

from ladder_core.records import Problem

from ladder_countdown.notation import PuzzleError, parse_puzzle

SOLVE_STYLES = ("instruct", "compact")

_INSTRUCT = """\
Countdown puzzle: using the numbers {numbers}, write an arithmetic expression that equals {target}.

Problem: {problem}

Rules:
- Use only the given numbers, each at most once (you do not have to use all of them). \
A number listed twice may be used twice.
- Use only +, -, *, / and parentheses. Division is exact, and fractions are allowed in intermediate steps.
- Write whole numbers only: no decimals, exponents, unary minus, or numbers that are not in the list.

Think it through step by step, then give only the final expression wrapped in <ANSWER> tags, \
for example <ANSWER>(6 + 4) * 25 - 3</ANSWER>. The last <ANSWER>...</ANSWER> block is graded."""


def solve_prompt(problem: Problem, style: str = "instruct") -> str:
    """The prompt asking a model to solve ``problem`` (``style`` is ``instruct`` or ``compact``)."""
    if style == "compact":
        return f"{problem.text.strip()}\n"
    if style != "instruct":
        raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(SOLVE_STYLES)}")
    try:
        puzzle = parse_puzzle(problem.text)
        numbers, target = ", ".join(str(n) for n in puzzle.numbers), str(puzzle.target)
    except PuzzleError:  # still ask; the verifier will report the malformed problem
        numbers, target = "given in the problem", "the target"
    return _INSTRUCT.format(numbers=numbers, target=target, problem=problem.text.strip())
