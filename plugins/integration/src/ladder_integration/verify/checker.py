"""One check, in the current process and without a time limit: text in, Verdict out.

This is what each worker process runs (the pool adds the hard time limit) and what
benchmarks call directly. Parsed problems, their sample points, integrand values
and definite-integral references are cached per problem, so a batch of answers to
the same problem costs one answer parse and one vectorised evaluation each; an
answer text seen before for the same problem costs a dictionary lookup.

Answers to the default check first take a fast path (:func:`_judge_light`): parsed into a
light numeric tree instead of SymPy objects, which is most of the saving, and decided
there only when floats decide outright. Everything else takes the full path.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from ladder_core.records import Verdict, VerdictStatus

from ladder_integration.verify.config import VerifierConfig
from ladder_integration.verify.numeric import UnsupportedExpression

__all__ = ["verify_in_process", "clear_caches", "ProblemState", "CONSTANTS_OF_INTEGRATION"]

# Names an answer may use for the constant of integration (only ever added to it).
CONSTANTS_OF_INTEGRATION = ("C", "C_1", "C1", "K")


@dataclass
class ProblemState:
    """Everything about one problem text that does not depend on the answer."""

    problem: Any = None  # IntegralProblem
    error: str = ""  # set when the problem itself cannot be checked
    samples: Any = None  # derivative mode: SampleSet
    reference: Any = None  # definite integrals: mpmath number


_CACHE: "OrderedDict[tuple, ProblemState]" = OrderedDict()
# Verdicts by (problem, config, answer text): a GRPO group often repeats an answer,
# and every check here is deterministic.
_VERDICTS: "OrderedDict[tuple, tuple[VerdictStatus, str]]" = OrderedDict()
_MAX_CACHED_ANSWER_CHARS = 2000  # longer answers are refused by the parser anyway; don't hoard them


def clear_caches() -> None:
    """Forget all per-problem state, remembered verdicts and the parser's memos
    (benchmarks measure cold checks)."""
    from ladder_integration.parsing.build import clear_memos

    _CACHE.clear()
    _VERDICTS.clear()
    clear_memos()


def _state_key(problem_text: str, config: VerifierConfig) -> tuple:
    return (problem_text, config.mode, config.seed, config.points, config.real_tol, config.definite_dps)


def _problem_state(problem_text: str, config: VerifierConfig) -> ProblemState:
    key = _state_key(problem_text, config)
    state = _CACHE.get(key)
    if state is not None:
        _CACHE.move_to_end(key)
        return state
    state = _build_state(problem_text, config)
    _CACHE[key] = state
    if len(_CACHE) > config.max_cached_problems:
        _CACHE.popitem(last=False)
    return state


def _build_state(problem_text: str, config: VerifierConfig) -> ProblemState:
    from ladder_integration.parsing import ParseError, parse_problem

    problem = _light_problem(problem_text) if config.mode == "derivative" else None
    try:
        problem = problem or parse_problem(problem_text)
    except ParseError as exc:
        return ProblemState(error=f"problem cannot be parsed: {exc.reason}")
    state = ProblemState(problem=problem)
    try:
        if problem.definite:
            from ladder_integration.verify.definite import ReferenceError_, definite_reference

            try:
                state.reference = definite_reference(problem.integrand, problem.var, problem.lower, problem.upper, config)
            except ReferenceError_ as exc:
                state.error = f"no reference value for the integral: {exc}"
        elif config.mode == "derivative":
            from ladder_integration.verify.derivative import sample_integrand

            state.samples = sample_integrand(problem.integrand, problem.var, config, problem_text)
    except UnsupportedExpression as exc:
        state.error = f"integrand not supported by the verifier: {exc}"
    return state


def _light_problem(problem_text: str):
    """An indefinite problem with a light integrand (``parsing/light.py``), or ``None``
    (SymPy's parse then decides, refusals included). The default check only evaluates
    the integrand, in numpy and mpmath, and SymPy's parse is a third of preparing a problem."""
    from ladder_integration.parsing import ParseError, parse_problem
    from ladder_integration.parsing.light import LIGHT, Defer

    try:
        problem = parse_problem(problem_text, builder=LIGHT)
    except (ParseError, Defer):
        return None
    except Exception:  # noqa: BLE001 - RecursionError, odd input: SymPy's parse decides
        return None
    return None if problem.definite else problem


def _verdict(status: VerdictStatus, reason: str, start: float) -> Verdict:
    return Verdict(status=status, reason=reason, seconds=time.perf_counter() - start)


def verify_in_process(problem: str, completion: str, config: VerifierConfig | None = None) -> Verdict:
    """Check ``completion``'s ``<ANSWER>`` against ``problem`` here and now. Never raises."""
    start = time.perf_counter()
    config = config or VerifierConfig()
    try:
        return _check(problem, completion, config, start)
    except MemoryError:
        return _verdict(VerdictStatus.ERROR, "out of memory", start)
    except RecursionError:
        return _verdict(VerdictStatus.ERROR, "expression too deeply nested", start)
    except Exception as exc:  # a verifier bug must cost one check, not a training run
        return _verdict(VerdictStatus.ERROR, f"{type(exc).__name__}: {exc}", start)


def _check(problem_text: str, completion: str, config: VerifierConfig, start: float) -> Verdict:
    from ladder_integration.answer import extract_answer

    if not isinstance(problem_text, str) or not isinstance(completion, str):
        return _verdict(VerdictStatus.ERROR, "problem and completion must be strings", start)
    answer_text = extract_answer(completion)
    if answer_text is None:
        return _verdict(VerdictStatus.UNPARSEABLE, "no <ANSWER> block", start)
    state = _problem_state(problem_text, config)
    if state.error:
        return _verdict(VerdictStatus.ERROR, state.error, start)
    key = (problem_text, config, answer_text)
    known = _VERDICTS.get(key)
    if known is not None:
        return _verdict(known[0], known[1], start)
    status, reason = _judge(state, answer_text, config)
    if len(answer_text) <= _MAX_CACHED_ANSWER_CHARS:
        _VERDICTS[key] = (status, reason)
        if len(_VERDICTS) > config.max_cached_verdicts:
            _VERDICTS.popitem(last=False)
    return _verdict(status, reason, start)


def _judge(state: ProblemState, answer_text: str, config: VerifierConfig) -> tuple[VerdictStatus, str]:
    from ladder_integration.parsing import ParseError, parse_expression

    prob = state.problem
    var = prob.var
    # "+ C" is part of an antiderivative but a mistake in the value of a definite integral.
    names = () if prob.definite else CONSTANTS_OF_INTEGRATION
    # The derivative check keeps the constants as symbols, to make sure they are only
    # added (``C*x`` is no antiderivative of ``x**2``); the other modes drop them.
    keep = config.mode == "derivative" and not prob.definite
    if keep:
        fast = _judge_light(state, answer_text, config, names)
        if fast is not None:
            return fast
    try:
        answer = parse_expression(answer_text, variables=(var.name,), constants_of_integration=names,
                                  drop_constants=not keep)
    except ParseError as exc:
        return VerdictStatus.UNPARSEABLE, exc.reason
    # A constant needs its name in the text (unless Unicode was translated): skips a tree walk for most answers.
    mentioned = keep and (not answer_text.isascii() or any(name in answer_text for name in names))
    constants = frozenset(s for s in answer.free_symbols if s != var) if mentioned else frozenset()
    try:
        ok, reason = _dispatch(state, answer, config, constants)
    except UnsupportedExpression as exc:
        return VerdictStatus.UNPARSEABLE, str(exc)
    if ok is None:
        return VerdictStatus.TIMEOUT, reason
    return (VerdictStatus.CORRECT if ok else VerdictStatus.INCORRECT), reason


def _judge_light(state: ProblemState, answer_text: str, config: VerifierConfig,
                 names: tuple) -> tuple[VerdictStatus, str] | None:
    """The fast path: the answer as a light tree (``parsing/light.py``, no SymPy objects),
    decided only where floats decide outright (see ``check_antiderivative(settle=False)``).
    ``None`` hands the answer to the full path: SymPy's parse (and its refusals), doubtful
    points settled in mpmath. Either path gives the same verdict; this one is several
    times cheaper for the common answers."""
    from ladder_integration.parsing import ParseError, parse_light
    from ladder_integration.parsing.light import Defer
    from ladder_integration.verify.derivative import check_antiderivative

    prob = state.problem
    try:
        answer = parse_light(answer_text, variables=(prob.var.name,), constants_of_integration=names)
    except (ParseError, Defer):
        return None
    constants = frozenset(s for s in answer.free_symbols if s != prob.var)
    try:
        ok, reason = check_antiderivative(state.samples, prob.integrand, prob.var, answer, config, constants,
                                          settle=False)
    except UnsupportedExpression:
        return None
    if ok is None:
        return None
    return (VerdictStatus.CORRECT if ok else VerdictStatus.INCORRECT), reason


def _dispatch(state: ProblemState, answer: sympy.Expr, config: VerifierConfig,
              constants: frozenset = frozenset()) -> tuple[bool | None, str]:
    prob = state.problem
    if prob.definite:
        from ladder_integration.verify.definite import check_definite

        return check_definite(state.reference, answer, prob.var, config)
    if config.mode == "derivative":
        from ladder_integration.verify.derivative import check_antiderivative

        return check_antiderivative(state.samples, prob.integrand, prob.var, answer, config, constants)
    if config.mode == "paper":
        from ladder_integration.verify.derivative import _rng
        from ladder_integration.verify.paper import check_paper

        rng = _rng(config.seed, prob.raw + "\x00" + str(answer))
        return check_paper(prob.integrand, prob.var, answer, config, rng)
    return _check_simplify(prob.integrand, prob.var, answer)


def _check_simplify(integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr) -> tuple[bool, str]:
    """The symbolic baseline: only for benchmarks (slow, and it misses equal forms)."""
    residual = sympy.simplify(sympy.diff(answer, var) - integrand)
    if residual == 0:
        return True, "simplify(diff(F) - f) == 0"
    return False, "simplify(diff(F) - f) != 0"


def warm_up() -> None:
    """Import the heavy modules and run one tiny evaluation (workers call this at start)."""
    from ladder_integration.verify import definite, derivative, paper  # noqa: F401

    # The first answer with a constant of integration makes SymPy import its tensor
    # module (a third of a second): pay that here, not inside a check's time limit. The
    # first answer takes the fast path, the second (``sqrt(2)`` needs SymPy) the full one.
    verify_in_process("integrate(x, x)", "<ANSWER>x**2/2 + C</ANSWER>")
    verify_in_process("integrate(x, x)", "<ANSWER>x**2/2 + sqrt(2)*C</ANSWER>")
    x = sympy.Symbol("x")
    with np.errstate(all="ignore"):
        from ladder_integration.verify.numeric import evaluate

        evaluate(sympy.sin(x) * x, x, np.linspace(0.1, 1, 4) + 0j)
