"""``IntegrationDomain``: the integration plugin's implementation of ``ladder_core.domain.Domain``.

The class is glue: problems come from :mod:`ladder_integration.problem_sets`,
prompts and variant replies from :mod:`ladder_integration.prompts`, answers
from :mod:`ladder_integration.answer`, checks from
:mod:`ladder_integration.verify`, canonical forms from
:mod:`ladder_integration.variants` (which uses the safe parser). Constructing
the domain is cheap: the verifier's worker pool and the reference-solver
process start on first use, and :meth:`close` stops both.

Time bounds. ``verify``/``verify_batch`` are bounded by the verifier's killable
workers. ``validate_variant`` and ``canonical_form`` run the safe parser and
``expression_to_text`` in this process (the verifier's pool runs only answer
checks): the parser checks its input against
:class:`~ladder_integration.parsing.limits.ParseLimits` (length, tokens, depth,
size of numeric powers) before doing the work, and candidates longer than
``max_problem_chars`` are rejected before parsing, so these calls take
milliseconds; a validation slower than ``variant_timeout_s`` is still rejected
(``timeout``), after the fact. ``reference_solvable`` runs SymPy's
``integrate`` in a :mod:`ladder_core.sandbox` worker that is killed on timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
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
from ladder_integration import problem_sets, prompts
from ladder_integration.config import IntegrationConfig, coerce_config, resolve_prompt_style, resolve_set


class IntegrationDomain(Domain):
    """Indefinite and definite integrals in SymPy notation, checked numerically."""

    name = "integration"

    def __init__(self, cfg: IntegrationConfig | Any | None = None, context: DomainContext = DomainContext()) -> None:
        self.cfg = coerce_config(cfg)
        self.context = context
        self.prompt_style = resolve_prompt_style(self.cfg.prompt_style, context.model_scale)
        self._verifier: Any = None
        self._verifier_lock = threading.Lock()
        self._reference: Any = None  # a ladder_core.sandbox.SandboxPool, started on first use
        self._reference_lock = threading.Lock()
        self._parent_canonical: dict[str, str | None] = {}

    # ------------------------------------------------------------ problems
    def problem_sets(self) -> list[ProblemSetInfo]:
        return problem_sets.available_problem_sets()

    def load_problem_set(self, name: str) -> list[Problem]:
        return problem_sets.load_problem_set(name)

    def problem_set_name(self, split: str) -> str:
        """The set (or path) that ``load_problems(split)`` reads, with ``"auto"`` resolved ("" = none)."""
        value = {"train": self.cfg.train_set, "validation": self.cfg.validation_set}.get(split, self.cfg.test_set)
        return resolve_set(value, split, self.context.model_scale)

    def load_problems(self, split: str) -> list[Problem]:
        name = self.problem_set_name(split)
        return problem_sets.load_problem_set(name) if name else []

    def eval_problem_sets(self) -> dict[str, list[Problem]]:
        """The extra evaluation sets of the config, by name."""
        return {name: problem_sets.load_problem_set(name) for name in self.cfg.eval_sets}

    # ------------------------------------------------------------- solving
    def solve_prompt(self, problem: Problem, style: str = "instruct") -> str:
        """``style="auto"`` uses the config's resolved style (``self.prompt_style``)."""
        if style in ("auto", "", None):
            style = self.prompt_style
        return prompts.solve_prompt(problem, style)

    def extract_answer(self, completion: str) -> str | None:
        from ladder_integration.answer import extract_answer

        return extract_answer(completion)

    def has_answer_format(self, completion: str) -> bool:
        from ladder_integration.answer import has_answer_format

        return has_answer_format(completion)

    def _get_verifier(self) -> Any:
        with self._verifier_lock:
            if self._verifier is None:
                from ladder_integration.verify import IntegrationVerifier

                self._verifier = IntegrationVerifier(self.verifier_config())
            return self._verifier

    def verifier_config(self) -> Any:
        """The ``VerifierConfig`` built from this domain's ``verifier`` node."""
        from ladder_integration.verify import VerifierConfig

        return VerifierConfig.from_mapping(self.cfg.verifier.to_dict())

    def verify(self, problem: Problem, completion: str) -> Verdict:
        start = time.perf_counter()
        try:
            return self._get_verifier().check(problem.text, completion)
        except Exception as exc:  # the verifier should not raise; this keeps the RL loop alive if it does
            return Verdict(VerdictStatus.ERROR, f"verifier failed: {type(exc).__name__}: {exc}"[:300],
                           time.perf_counter() - start)

    def verify_batch(self, problems: Sequence[Problem], completions: Sequence[str]) -> list[Verdict]:
        if len(problems) != len(completions):
            raise ValueError(f"{len(problems)} problems but {len(completions)} completions")
        if not problems:
            return []
        try:
            verdicts = self._get_verifier().check_batch([(p.text, c) for p, c in zip(problems, completions)])
            if len(verdicts) == len(problems):
                return list(verdicts)
        except Exception:
            pass
        return [self.verify(p, c) for p, c in zip(problems, completions)]

    # ------------------------------------------------------------ variants
    def transformation_menu(self) -> TransformationMenu:
        return prompts.TRANSFORMATION_MENU

    def personas(self) -> Sequence[str]:
        return prompts.PERSONAS

    def variant_prompt(self, problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
        return prompts.variant_prompt(problem, transformations, persona, n)

    def parse_variant_reply(self, reply: str) -> list[VariantProposal]:
        return prompts.parse_variant_reply(reply)

    def validate_variant(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        try:
            return self._validate(parent, candidate)
        except Exception as exc:  # never raise inside tree building
            return VariantRejection("error", f"{type(exc).__name__}: {exc}"[:300])

    def _validate(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        from ladder_integration.parsing import ParseError

        text = candidate.text.strip() if isinstance(candidate.text, str) else ""
        limit = self.cfg.max_problem_chars
        if len(text) > limit:
            return VariantRejection("too_long", f"{len(text)} characters (limit {limit})")
        start = time.perf_counter()
        try:
            canonical, integrand, x = _canonical(text)
        except ParseError as exc:
            return VariantRejection("unparseable", getattr(exc, "reason", str(exc)))
        elapsed = time.perf_counter() - start
        if elapsed > self.cfg.variant_timeout_s:
            # The parser's input limits keep this to milliseconds; anything slower is suspicious input.
            return VariantRejection("timeout", f"canonical form took {elapsed:.2f} s")
        if not integrand.has(x):
            return VariantRejection("trivial", f"integrand {_short(str(integrand))} does not depend on x")
        if len(canonical) > limit:
            return VariantRejection("too_long", f"canonical form has {len(canonical)} characters (limit {limit})")
        if canonical == self._canonical_of_parent(parent):
            return VariantRejection("same_as_parent", canonical)
        return ValidatedVariant(text=canonical, canonical=canonical)

    def _canonical_of_parent(self, parent: Problem) -> str | None:
        key = parent.text
        if key in self._parent_canonical:
            return self._parent_canonical[key]
        try:
            value: str | None = _canonical(key)[0]
        except Exception:  # an unparseable parent cannot be equal to a parsed candidate
            value = None
        if len(self._parent_canonical) >= 10_000:
            self._parent_canonical.clear()
        self._parent_canonical[key] = value
        return value

    def canonical_form(self, problem: Problem) -> str:
        """``integrate(<canonical integrand>, x)`` (limits kept for definite integrals); raw text if unparseable."""
        try:
            return _canonical(problem.text)[0]
        except Exception:
            return " ".join(problem.text.split())

    def pretraining_overlap(self, problems: Sequence[Problem], model: str) -> dict[str, str] | None:
        """For the embedded tiny model: the problems whose integrand it was trained on (its easy or exposure
        stage, :mod:`ladder_integration.tinymodel.pretraining`); ``None`` for any other model."""
        from pathlib import Path

        from ladder_integration.plugin import TINY_WEIGHTS

        try:
            if Path(model).resolve() != TINY_WEIGHTS.resolve():
                return None
        except (OSError, ValueError):
            return None
        from ladder_integration.tinymodel.pretraining import seen_in_pretraining

        return seen_in_pretraining((p.id, p.text) for p in problems)

    def equivalence_key(self, problem: Problem) -> str | None:
        """The integrand's values at fixed points (6 significant digits), plus the limits of a definite integral.

        Same integrand up to any algebraic rewriting gives the same key
        (``2*x*(x+1)`` and ``2*x**2 + 2*x``). Uses the eval-free parser (with its
        input limits) and the verifier's tree-walking evaluator, never
        ``sympify``/``lambdify``, so model-written variants are safe to key;
        trees over ``_MAX_KEY_NODES`` nodes get no key (their canonical form still counts).
        """
        return _equivalence_key(problem.text)

    def reference_solvable(self, problem: Problem, timeout_s: float) -> bool | None:
        """Whether SymPy finds an elementary antiderivative (or a closed-form value) within ``timeout_s``.

        Runs in a reused worker process that is killed on timeout; ``False``
        on timeout, parse failure or a non-elementary result, ``None`` only
        when the worker cannot be started.
        """
        from ladder_core.sandbox import SandboxPool, SandboxSpec

        with self._reference_lock:
            if self._reference is None:
                self._reference = SandboxPool(SandboxSpec(
                    factory="ladder_integration.domain:make_reference_solver", workers=1, spare_workers=0,
                    timeout_s=max(float(timeout_s), 1e-3), memory_mb=max(int(self.cfg.verifier.memory_mb), 512),
                ), label="reference solver")
            result = self._reference.map([problem.text], timeout_s=timeout_s)[0]
        if result.ok:
            return bool(result.value)
        if result.status == "error" and "fail to start" in result.reason:
            return None
        return False  # timeout, a SymPy exception, or death at the memory cap: not solved in time

    # ----------------------------------------------------------- lifecycle
    def close(self) -> None:
        with self._verifier_lock:
            verifier, self._verifier = self._verifier, None
        if verifier is not None:
            try:
                verifier.close()
            except Exception:
                pass
        with self._reference_lock:
            reference, self._reference = self._reference, None
        if reference is not None:
            reference.close()


# ------------------------------------------------------------------ helpers


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _canonical(raw: str) -> tuple[str, Any, Any]:
    """Canonical integral text, the integrand in ``x`` and ``x``; raises ``ParseError``."""
    from ladder_integration.parsing import expression_to_text, parse_problem
    from ladder_integration.variants import rename_to_x

    problem = parse_problem(raw)
    integrand, x = rename_to_x(problem.integrand, problem.var)
    body = expression_to_text(integrand)
    if problem.definite:
        lo, hi = expression_to_text(problem.lower), expression_to_text(problem.upper)
        return f"integrate({body}, (x, {lo}, {hi}))", integrand, x
    return f"integrate({body}, x)", integrand, x


_KEY_POINTS = (0.3711, 0.9173, 1.4142, 2.2361, -0.6180, 3.1093)
_MAX_KEY_NODES = 400


def _equivalence_key(raw: str) -> str | None:
    """See :meth:`IntegrationDomain.equivalence_key`."""
    try:
        import numpy as np

        from ladder_integration.parsing import expression_to_text, parse_problem
        from ladder_integration.verify.numeric import evaluate, node_count

        problem = parse_problem(raw)
        if node_count(problem.integrand) > _MAX_KEY_NODES:
            return None
        with np.errstate(all="ignore"):
            values, _ = evaluate(problem.integrand, problem.var, np.array(_KEY_POINTS, dtype=np.complex128), dx=None)
            values = np.broadcast_to(np.asarray(values, dtype=np.complex128), (len(_KEY_POINTS),))
        parts = [f"{_sig(v.real)}{_sig(v.imag)}j" for v in values]
        if problem.definite:
            parts.append(f"[{expression_to_text(problem.lower)},{expression_to_text(problem.upper)}]")
        return "num:" + ";".join(parts)
    except Exception:  # noqa: BLE001 - no key is a valid answer (the canonical form still counts)
        return None


def _sig(value: float) -> str:
    """6 significant digits, with -0 as 0 and tiny rounding noise as 0."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if abs(value) < 1e-9:
        return "+0"
    return f"{value:+.6g}"


# ------------------------------------------------------ reference solver


ELEMENTARY_FUNCTIONS = frozenset({
    "exp", "log", "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
    "sinh", "cosh", "tanh", "coth", "sech", "csch", "asinh", "acosh", "atanh", "acoth", "asech", "acsch", "Abs",
})


def _reference_job(raw: str) -> bool:
    """In the worker: does ``sympy.integrate`` solve ``raw`` with an elementary result?"""
    import sympy

    from ladder_integration.parsing import parse_problem

    try:
        problem = parse_problem(raw)
    except Exception:
        return False
    if problem.definite:
        result = sympy.integrate(problem.integrand, (problem.var, problem.lower, problem.upper))
        return (not result.has(sympy.Integral)) and not result.free_symbols and not result.has(sympy.nan, sympy.zoo)
    result = sympy.integrate(problem.integrand, problem.var)
    if result.has(sympy.Integral) or result.has(sympy.Piecewise):
        return False
    return all(type(f).__name__ in ELEMENTARY_FUNCTIONS for f in result.atoms(sympy.Function))


def make_reference_solver(arg: Any) -> Any:
    """In a sandbox worker: import SymPy once (before "ready", outside any deadline); the handler runs one job."""
    import sympy  # noqa: F401

    import ladder_integration.parsing  # noqa: F401

    def solve(raw: Any) -> bool:
        try:
            return bool(_reference_job(str(raw)))
        except MemoryError:
            return False

    return solve
