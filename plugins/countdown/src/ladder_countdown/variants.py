"""Easier (and equivalent) Countdown variants: programmatic rules, and prompt pieces for LLM generators.

Two ways to grow a LADDER tree for Countdown:

* :class:`RulesVariantGenerator` (registered as ``countdown-rules``) rewrites
  a problem directly: drop a number a solution does not need, keep a subset
  of the numbers and take a target they make, replace the target by an
  intermediate result of a solution, nudge the target, swap a number for a
  similar one. Every proposal is solvable: either by construction (its
  ``note`` holds the witness expression) or checked by the bounded solver.
* The menu, personas, :func:`variant_prompt` and :func:`parse_variant_reply`
  serve the core's ``llm`` generator. Replies are model output, so they are
  only cut into candidate lines here; the domain's ``validate_variant``
  parses, bounds and solver-checks each one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from fractions import Fraction

from ladder_core.records import Problem, TransformationMenu, VariantProposal

from ladder_countdown.notation import Puzzle, PuzzleError, parse_puzzle
from ladder_countdown.parsing import (
    BinOp,
    Expr,
    ParseError,
    apply,
    format_expression,
    numbers_used,
    parse_expression,
)
from ladder_countdown.solver import moves, solve

# ------------------------------------------------------------------ menu
EASIER: tuple[str, ...] = (
    "remove one number that a solution does not need (keep the target)",
    "remove one number and pick a target the remaining numbers can still reach",
    "keep only two or three of the numbers and pick a target they can make",
    "replace the target by an intermediate result of a solution",
    "use a smaller target that two of the numbers reach in one operation, plus one more step",
    "replace a large number (25, 50, 75 or 100) by a small one and adjust the target",
    "pick a target that is a sum of some of the numbers",
    "pick a target that is a product of two of the numbers",
    "make the target a multiple of one of the numbers",
    "remove every number that is not needed for one short solution",
)

EQUIVALENT: tuple[str, ...] = (
    "change the target by a few units while keeping it reachable",
    "replace one number by another number of similar size",
    "swap one large number for another large number",
    "change two small numbers and adjust the target",
    "reorder the steps of a solution with different numbers of the same sizes",
)

HARDER: tuple[str, ...] = (
    "add one more number",
    "raise the target",
    "pick a target that needs every number",
    "replace a small number by a large one",
    "pick a target that needs a division",
)

TRANSFORMATION_MENU = TransformationMenu(easier=EASIER, equivalent=EQUIVALENT, harder=HARDER)

PERSONAS: tuple[str, ...] = (
    "Think like a Countdown contestant who always starts from the largest number.",
    "Think like a primary-school teacher writing graded mental-arithmetic exercises.",
    "Think like a puzzle setter who wants each step of a ladder to teach one idea.",
    "Think like a mental-arithmetic champion spotting products and near-multiples of the target.",
    "Think like Gauss, looking for sums and symmetric pairs.",
    "Think like a game designer balancing levels from easy to hard.",
    "Think like a coach breaking a hard puzzle into warm-up puzzles.",
    "Think like a programmer searching the smallest sub-problems first.",
)

_VARIANT_PROMPT = """\
{persona}

You are building a ladder of practice puzzles that lead up to the Countdown puzzle below. \
In Countdown you must reach the target using +, -, *, / and parentheses, each given number at most once.

Original puzzle:
{problem}

Write {n} new puzzles that are variants of the original, each obtained by applying one or more of \
these transformations:
{transformations}

Requirements:
- Every variant must be solvable: check that some of its numbers really make its target.
- Use positive whole numbers only, at most 8 numbers, and a target that is not one of the numbers.
- Every variant must differ from the original and from the other variants.
- Give exactly one variant per line, in this exact format:
<VARIANT>numbers: N N N; target: T</VARIANT> # a solution, and which transformation you applied

Example line:
<VARIANT>numbers: 4 7 25; target: 107</VARIANT> # 4 * 25 + 7; removed numbers and lowered the target

Write the {n} lines now and nothing else."""


def variant_prompt(problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
    """A prompt asking for ``n`` variants of ``problem`` using ``transformations``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    listed = "\n".join(f"- {t}" for t in transformations) or "- any transformation that makes it easier"
    return _VARIANT_PROMPT.format(persona=persona.strip() or PERSONAS[0], problem=problem.text.strip(), n=n,
                                  transformations=listed).strip()


# --------------------------------------------------------------- replies
MAX_REPLY_CHARS = 200_000
MAX_PROPOSALS = 256
MAX_CANDIDATE_CHARS = 300
MAX_LINE_CHARS = 2_000

_TAG_RE = re.compile(r"<\s*variant\s*>([^<]{0,2000})<\s*/\s*variant\s*>([^\n]{0,2000})", re.IGNORECASE)
_BARE_RE = re.compile(r"numbers\s*[:=][^\n;]{0,200}[;,|]?\s*target\s*[:=]\s*[0-9]{1,9}", re.IGNORECASE)


def _clean_note(note: str) -> str:
    note = note.strip().strip("`$").strip()
    note = re.sub(r"^(#|//|--|-|:|\u2014|\u2013|\()\s*", "", note).rstrip(")").strip()
    return note[:300]


def parse_variant_reply(reply: str) -> list[VariantProposal]:
    """Candidate variants in a reply, in order, without duplicates; nothing is evaluated.

    ``<VARIANT>...</VARIANT>`` blocks first (their text kept even when it does
    not parse, so that the tree counts the rejection); without any tag, bare
    ``numbers: ...; target: ...`` lines are picked up. Parseable candidates
    are rewritten in the canonical notation; the note is the rest of the line.
    """
    if not isinstance(reply, str) or not reply:
        return []
    reply = reply[:MAX_REPLY_CHARS]
    found: list[tuple[str, str]] = [(m.group(1), m.group(2)) for m in _TAG_RE.finditer(reply)]
    if not found:
        for line in reply.splitlines():
            match = _BARE_RE.search(line[:MAX_LINE_CHARS])
            if match:
                found.append((match.group(0), line[match.end() : MAX_LINE_CHARS]))
    proposals: list[VariantProposal] = []
    seen: set[str] = set()
    for text, note in found:
        text = " ".join(text.split())
        if not text or len(text) > MAX_CANDIDATE_CHARS:
            continue
        try:
            text = parse_puzzle(text).text
        except PuzzleError:
            pass
        if text in seen:
            continue
        seen.add(text)
        proposals.append(VariantProposal(text=text, note=_clean_note(note)))
        if len(proposals) >= MAX_PROPOSALS:
            break
    return proposals


# ------------------------------------------------------------ rule helpers
def random_expression(numbers: Sequence[int], rng: random.Random, tries: int = 20,
                      max_value: int = 1_000_000) -> tuple[int, str] | None:
    """``(value, expression)`` of a random expression using every number once, with a whole positive value."""
    for _ in range(tries):
        items = [(int(n), str(int(n)), 3) for n in numbers]
        while len(items) > 1:
            i, j = rng.sample(range(len(items)), 2)
            chosen = rng.choice(list(moves(items[i], items[j])))
            items = [items[k] for k in range(len(items)) if k not in (i, j)] + [chosen]
        value, expr, _ = items[0]
        if isinstance(value, int) and 1 <= value <= max_value:
            return value, expr
    return None


def intermediate_values(solution: str) -> list[tuple[int, str]]:
    """Whole positive values of the proper sub-expressions of a solution, with their text."""
    try:
        tree = parse_expression(solution)
    except ParseError:
        return []
    out: list[tuple[int, str]] = []

    def walk(node: Expr, top: bool) -> Fraction:
        if not isinstance(node, BinOp):
            return Fraction(node.value)
        value = apply(node.op, walk(node.left, False), walk(node.right, False))
        if not top and value.denominator == 1 and value > 0:
            out.append((int(value), format_expression(node)))
        return value

    try:
        walk(tree, True)
    except ArithmeticError:
        return []
    return out


def _solution(puzzle: Puzzle, problem: Problem, max_nodes: int) -> str | None:
    meta_solution = problem.meta.get("solution") if problem.meta else None
    if isinstance(meta_solution, str) and meta_solution:
        return meta_solution
    result = solve(puzzle.numbers, puzzle.target, max_nodes=max_nodes, timeout_s=1.0)
    return result.expression


class RulesVariantGenerator:
    """Programmatic variants (no LLM): ``easier_fraction`` of them easier, the rest equivalent.

    Each rule returns a solvable puzzle with a witness, or ``None`` when it
    does not apply; proposals are de-duplicated per problem and never equal
    the parent.
    """

    name = "countdown-rules"

    def __init__(self, easier_fraction: float = 0.7, solver_max_nodes: int = 5_000,
                 max_target: int = 1_000_000) -> None:
        if not 0.0 <= easier_fraction <= 1.0:
            raise ValueError(f"easier_fraction must be in [0, 1], got {easier_fraction}")
        self.easier_fraction = easier_fraction
        self.solver_max_nodes = solver_max_nodes
        self.max_target = max_target
        self.easier_rules: list[tuple[str, Callable[..., tuple[Puzzle, str] | None]]] = [
            (EASIER[0], self._drop_unused),
            (EASIER[1], self._drop_and_retarget),
            (EASIER[2], self._subset_target),
            (EASIER[3], self._intermediate_target),
        ]
        self.equivalent_rules: list[tuple[str, Callable[..., tuple[Puzzle, str] | None]]] = [
            (EQUIVALENT[0], self._nudge_target),
            (EQUIVALENT[1], self._swap_number),
        ]

    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        return [self._propose_one(problem, n, rng) for problem in problems]

    def _propose_one(self, problem: Problem, n: int, rng: random.Random) -> list[VariantProposal]:
        try:
            puzzle = parse_puzzle(problem.text)
        except PuzzleError:
            return []
        solution = _solution(puzzle, problem, self.solver_max_nodes)
        seen = {puzzle.key}
        out: list[VariantProposal] = []
        for _ in range(4 * n):
            if len(out) >= n:
                break
            rules = self.easier_rules if rng.random() < self.easier_fraction else self.equivalent_rules
            label, rule = rules[rng.randrange(len(rules))]
            made = rule(puzzle, solution, rng)
            if made is None:
                continue
            variant, witness = made
            if variant.key in seen or len(variant.numbers) < 2 or variant.target in variant.numbers:
                continue
            seen.add(variant.key)
            out.append(VariantProposal(text=variant.text, transformations=(label,), note=witness,
                                       generator=self.name))
        return out

    # Easier rules -----------------------------------------------------------
    def _drop_unused(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        if not solution or len(puzzle.numbers) <= 2:
            return None
        try:
            used = numbers_used(parse_expression(solution))
        except ParseError:
            return None
        remaining = list(puzzle.numbers)
        for number in used:
            if number in remaining:
                remaining.remove(number)
        if not remaining:
            return None
        drop = rng.choice(remaining)
        numbers = list(puzzle.numbers)
        numbers.remove(drop)
        return Puzzle(tuple(numbers), puzzle.target), solution

    def _drop_and_retarget(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        if len(puzzle.numbers) <= 2:
            return None
        numbers = list(puzzle.numbers)
        numbers.pop(rng.randrange(len(numbers)))
        result = solve(numbers, puzzle.target, max_nodes=self.solver_max_nodes, timeout_s=1.0)
        if result.solved:
            return Puzzle(tuple(numbers), puzzle.target), result.expression or ""
        made = random_expression(numbers, rng, max_value=min(self.max_target, max(puzzle.target, 10)))
        if made is None:
            return None
        return Puzzle(tuple(numbers), made[0]), made[1]

    def _subset_target(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        if len(puzzle.numbers) < 3:
            return None
        size = rng.randint(2, min(3, len(puzzle.numbers) - 1))
        subset = rng.sample(list(puzzle.numbers), size)
        made = random_expression(subset, rng, max_value=self.max_target)
        if made is None:
            return None
        return Puzzle(tuple(subset), made[0]), made[1]

    def _intermediate_target(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        options = [(v, e) for v, e in intermediate_values(solution or "") if v not in puzzle.numbers]
        if not options:
            return None
        value, expr = rng.choice(options)
        return Puzzle(puzzle.numbers, value), expr

    # Equivalent rules -------------------------------------------------------
    def _nudge_target(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        for _ in range(3):
            target = puzzle.target + rng.choice((-1, 1)) * rng.randint(1, 10)
            if not 1 <= target <= self.max_target or target in puzzle.numbers:
                continue
            result = solve(puzzle.numbers, target, max_nodes=self.solver_max_nodes, timeout_s=1.0)
            if result.solved:
                return Puzzle(puzzle.numbers, target), result.expression or ""
        return None

    def _swap_number(self, puzzle: Puzzle, solution: str | None, rng: random.Random):
        numbers = list(puzzle.numbers)
        index = rng.randrange(len(numbers))
        old = numbers[index]
        if old in (25, 50, 75, 100):
            choices = [n for n in (25, 50, 75, 100) if n != old]
        else:
            choices = [n for n in range(max(1, old - 3), old + 4) if n != old]
        numbers[index] = rng.choice(choices)
        result = solve(numbers, puzzle.target, max_nodes=self.solver_max_nodes, timeout_s=1.0)
        if result.solved:
            return Puzzle(tuple(numbers), puzzle.target), result.expression or ""
        return None


__all__ = [
    "EASIER", "EQUIVALENT", "HARDER", "PERSONAS", "TRANSFORMATION_MENU", "RulesVariantGenerator",
    "intermediate_values", "parse_variant_reply", "random_expression", "variant_prompt",
]
