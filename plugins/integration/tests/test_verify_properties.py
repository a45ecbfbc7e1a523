"""Property-based tests: the verifier never raises, never overruns, and agrees with the CAS."""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ladder_core.records import Verdict, VerdictStatus

from ladder_integration.verify import IntegrationVerifier, VerifierConfig, verify_in_process

x = sympy.Symbol("x")
TIMEOUT_S = 1.0
PROBLEMS = ["integrate(x**2, x)", "integrate(1/x, x)", "integrate(sqrt(1 - x**2), x)", "integrate(exp(x)*sin(x), x)",
            "integrate(x**2, (x, 0, 1))"]

# A small grammar of elementary expressions in x (trusted test code builds them directly).
_leaves = st.sampled_from([x, x, x, sympy.Integer(1), sympy.Integer(2), sympy.Integer(3), sympy.Rational(1, 2),
                           sympy.Integer(-1), sympy.pi])
_unary = st.sampled_from([sympy.sin, sympy.cos, sympy.exp, sympy.log, sympy.sqrt, sympy.atan, sympy.tan,
                          sympy.sinh, sympy.asin, sympy.Abs, sympy.acosh])


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(lambda a, b: a + b, children, children),
        st.builds(lambda a, b: a * b, children, children),
        st.builds(lambda a, n: a**n, children, st.sampled_from([2, 3, -1, sympy.Rational(1, 2)])),
        st.builds(lambda f, a: f(a), _unary, children),
    )


expressions = st.recursive(_leaves, _extend, max_leaves=6)


@pytest.fixture(scope="module")
def verifier():
    with IntegrationVerifier(VerifierConfig(workers=1, timeout_s=TIMEOUT_S)) as v:
        yield v


def _sane(v: Verdict) -> None:
    assert isinstance(v, Verdict)
    assert isinstance(v.status, VerdictStatus)
    assert isinstance(v.reason, str)
    assert 0 <= v.seconds <= TIMEOUT_S + 0.5


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=st.sampled_from(PROBLEMS), junk=st.binary(max_size=300))
def test_random_bytes_never_raise_or_overrun(verifier, problem, junk):
    text = junk.decode("utf-8", errors="replace")
    for completion in (text, f"<ANSWER>{text}</ANSWER>"):
        start = time.monotonic()
        v = verifier.check(problem, completion)
        assert time.monotonic() - start <= TIMEOUT_S + 1.0
        _sane(v)
        assert v.status is not VerdictStatus.CORRECT or problem.endswith(", x)")


@settings(max_examples=40, deadline=2000)
@given(problem=st.sampled_from(PROBLEMS), text=st.text(alphabet="x0123456789+-*/^().eEsincoqrtlgabp ", max_size=60))
def test_random_formula_text_never_raises(problem, text):
    v = verify_in_process(problem, f"<ANSWER>{text}</ANSWER>", VerifierConfig())
    _sane(v)
    assert v.status is not VerdictStatus.ERROR, v.reason


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=st.sampled_from(PROBLEMS), answer=expressions)
def test_random_expression_answers_get_a_clean_verdict(verifier, problem, answer):
    assume(answer.is_finite is not False and not answer.has(sympy.zoo, sympy.nan, sympy.I))
    v = verifier.check(problem, f"<ANSWER>{sympy.sstr(answer)}</ANSWER>")
    _sane(v)
    assert v.status is not VerdictStatus.ERROR, v.reason


@contextmanager
def _time_limit(seconds: float):
    """For sympy.integrate in trusted test code (pytest runs tests in the main thread)."""

    def _raise(signum, frame):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_ELEMENTARY = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Number, sympy.NumberSymbol, sympy.exp,
               sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.atan, sympy.asin, sympy.acos, sympy.sinh,
               sympy.cosh, sympy.tanh, sympy.asinh, sympy.acosh, sympy.atanh, sympy.Abs, sympy.cot, sympy.sec,
               sympy.csc)


def _elementary(expr: sympy.Expr) -> bool:
    return all(isinstance(node, _ELEMENTARY) for node in sympy.preorder_traversal(expr))


@settings(max_examples=40, deadline=None)
@given(integrand=expressions)
def test_accepts_the_cas_antiderivative_and_rejects_a_slightly_wrong_one(integrand):
    assume(integrand.has(x) and _elementary(integrand) and not integrand.has(sympy.zoo, sympy.nan, sympy.I))
    try:
        with _time_limit(1.0):
            antiderivative = sympy.integrate(integrand, x)
    except Exception:  # noqa: BLE001 - timeouts and CAS failures just skip the example
        assume(False)
    assume(not antiderivative.has(sympy.Integral) and _elementary(antiderivative))
    problem = f"integrate({sympy.sstr(integrand)}, x)"
    cfg = VerifierConfig()
    v = verify_in_process(problem, f"<ANSWER>{sympy.sstr(antiderivative)}</ANSWER>", cfg)
    assume(not (v.status is VerdictStatus.ERROR and "problem cannot be parsed" in v.reason))
    assert v.status is VerdictStatus.CORRECT, (problem, str(antiderivative), v.reason)
    wrong = verify_in_process(problem, f"<ANSWER>(1 + 1/1000)*({sympy.sstr(antiderivative)})</ANSWER>", cfg)
    assert wrong.status is VerdictStatus.INCORRECT, (problem, str(antiderivative), wrong.reason)
