"""``CountdownDomain``: the Countdown numbers game behind ladder's :class:`~ladder_core.domain.Domain` contract.

It only wires the single-concern modules together: ``problems`` (sets and
generator), ``prompts`` (solve prompts), ``verify`` + ``workers`` (checks with
a hard time limit), ``variants`` (menu, personas, reply parsing) and
``solver`` (solvability of variants). Every public method that sees model
output returns a verdict or a rejection instead of raising.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ladder_core.domain import Domain, DomainContext
from ladder_core.records import (
    Problem,
    ProblemSetInfo,
    TransformationMenu,
    ValidatedVariant,
    VariantProposal,
    VariantRejection,
    Verdict,
    VerdictStatus,
)

from ladder_countdown import problems as problem_sets
from ladder_countdown import prompts, variants
from ladder_countdown.config import CountdownConfig, coerce_config, resolve_prompt_style
from ladder_countdown.notation import PuzzleError, PuzzleLimits, parse_puzzle
from ladder_countdown.parsing import ExpressionLimits
from ladder_countdown.solver import BUDGET, SOLVED, solve
from ladder_countdown.verify import extract_answer, has_answer_format, prepare, verify_completion
from ladder_countdown.workers import CheckPool


class CountdownDomain(Domain):
    """Countdown: reach a target with + - * / and parentheses, each given number at most once."""

    name = "countdown"

    def __init__(self, cfg: CountdownConfig | Any = None, context: DomainContext | None = None) -> None:
        self.cfg = coerce_config(cfg)
        self.context = context or DomainContext()
        #: The style used when ``solve_prompt`` is asked for ``style="auto"``.
        self.prompt_style = resolve_prompt_style(self.cfg.prompt_style, self.context.model_scale)
        self.puzzle_limits = PuzzleLimits(max_numbers=self.cfg.max_numbers, max_number=self.cfg.max_number,
                                          max_target=self.cfg.max_target)
        v = self.cfg.verifier
        self.expression_limits = ExpressionLimits(max_chars=v.max_answer_chars, max_tokens=v.max_tokens,
                                                  max_depth=v.max_depth, max_digits=v.max_digits)
        self._pool: CheckPool | None = None

    # ---------------------------------------------------------------- problems
    def problem_sets(self) -> list[ProblemSetInfo]:
        generated = [ProblemSetInfo(name, self.cfg.generator.size, problem_sets._DESCRIPTIONS[name])
                     for name in problem_sets.GENERATED]
        return [*problem_sets.problem_set_infos(), *generated]

    def load_problem_set(self, name: str) -> list[Problem]:
        return problem_sets.load_problem_set(name, self.cfg.generator, self.puzzle_limits)

    def load_problems(self, split: str) -> list[Problem]:
        if split == "train":
            return self.load_problem_set(self.cfg.train_set)
        if split == "test":
            return self.load_problem_set(self.cfg.test_set)
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")

    # ----------------------------------------------------------------- solving
    def solve_prompt(self, problem: Problem, style: str = "instruct") -> str:
        """``instruct``, ``compact``, or ``auto`` (the config's ``prompt_style`` for this model scale)."""
        return prompts.solve_prompt(problem, self.prompt_style if style == "auto" else style)

    def extract_answer(self, completion: str) -> str | None:
        return extract_answer(completion)

    def has_answer_format(self, completion: str) -> bool:
        return has_answer_format(completion)

    def verify(self, problem: Problem, completion: str) -> Verdict:
        return self.verify_batch([problem], [completion])[0]

    def verify_batch(self, problems: Sequence[Problem], completions: Sequence[str]) -> list[Verdict]:
        """All checks of a batch; in ``process`` mode one round trip to the worker pool.

        In ``process`` mode each verdict's ``seconds`` is its share of the
        batch's wall time (the pool pipelines checks, so per-check time is not
        observed from here).
        """
        if len(problems) != len(completions):
            raise ValueError(f"{len(problems)} problems but {len(completions)} completions")
        start = time.perf_counter()
        if self.cfg.verifier.mode == "inline":
            return [verify_completion(_text(p), c, self.puzzle_limits, self.expression_limits)
                    for p, c in zip(problems, completions)]
        verdicts: list[Verdict | None] = []
        tasks, where = [], []
        for i, (problem, completion) in enumerate(zip(problems, completions)):
            try:
                prepared = prepare(_text(problem), completion, self.puzzle_limits, self.expression_limits)
            except Exception as exc:  # noqa: BLE001 - verification never raises
                prepared = Verdict(VerdictStatus.ERROR, f"internal error: {type(exc).__name__}")
            if isinstance(prepared, Verdict):
                verdicts.append(prepared)
            else:
                verdicts.append(None)
                tasks.append(prepared)
                where.append(i)
        if tasks:
            try:
                results = self._check_pool().run(tasks)
            except Exception as exc:  # noqa: BLE001 - e.g. no process could be started
                failure = f"verifier pool failed: {type(exc).__name__}: {exc}"[:200]
                results = [(VerdictStatus.ERROR, failure)] * len(tasks)
            share = (time.perf_counter() - start) / len(tasks)
            for i, (status, reason) in zip(where, results):
                verdicts[i] = Verdict(status, reason, share)
        return [v if v is not None else Verdict(VerdictStatus.ERROR, "no result") for v in verdicts]

    def _check_pool(self) -> CheckPool:
        if self._pool is None:
            v = self.cfg.verifier
            self._pool = CheckPool(size=v.workers, timeout_s=v.timeout_s, memory_mb=v.memory_mb,
                                   limits=asdict(self.expression_limits))
        return self._pool

    # ---------------------------------------------------------------- variants
    def transformation_menu(self) -> TransformationMenu:
        return variants.TRANSFORMATION_MENU

    def personas(self) -> Sequence[str]:
        return variants.PERSONAS

    def variant_prompt(self, problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
        return variants.variant_prompt(problem, transformations, persona, n)

    def parse_variant_reply(self, reply: str) -> list[VariantProposal]:
        return variants.parse_variant_reply(reply)

    def validate_variant(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        """Accept a solvable, non-trivial puzzle different from its parent; bounded by the solver's budget."""
        try:
            try:
                puzzle = parse_puzzle(candidate.text, self.puzzle_limits)
            except PuzzleError as exc:
                return VariantRejection("unparseable", str(exc))
            if len(puzzle.numbers) < 2:
                return VariantRejection("trivial", "fewer than two numbers")
            if puzzle.target in puzzle.numbers:
                return VariantRejection("trivial", "the target is one of the numbers")
            if puzzle.key == self.canonical_form(parent):
                return VariantRejection("same_as_parent")
            result = solve(puzzle.numbers, puzzle.target, max_nodes=self.cfg.variant_max_nodes,
                           timeout_s=self.cfg.variant_timeout_s)
            if result.status == BUDGET:
                return VariantRejection("timeout", f"solver gave up after {result.nodes} nodes")
            if result.status != SOLVED:
                return VariantRejection("unsolvable", "no expression reaches the target")
            return ValidatedVariant(text=puzzle.text, canonical=puzzle.key)
        except Exception as exc:  # noqa: BLE001 - validation never raises
            return VariantRejection("error", f"{type(exc).__name__}: {exc}"[:200])

    def canonical_form(self, problem: Problem) -> str:
        try:
            return parse_puzzle(problem.text, self.puzzle_limits).key
        except PuzzleError:
            return " ".join(str(problem.text).split())

    def reference_solvable(self, problem: Problem, timeout_s: float) -> bool | None:
        try:
            puzzle = parse_puzzle(problem.text, self.puzzle_limits)
        except PuzzleError:
            return False
        result = solve(puzzle.numbers, puzzle.target, max_nodes=self.cfg.variant_max_nodes, timeout_s=timeout_s)
        return None if result.status == BUDGET else result.solved

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _text(problem: Problem) -> str:
    return problem.text if isinstance(problem, Problem) else str(problem)
