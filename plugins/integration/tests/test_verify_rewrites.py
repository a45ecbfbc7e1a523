"""Property tests of the antiderivative rule: random correct antiderivatives, rewritten by
SymPy the ways CAS tools and models write them, are accepted; small perturbations of
them (a term 1e-6..1e-11 of the size, a jump, a misused constant) are rejected.

The integrand is SymPy's derivative of a random antiderivative built from pieces that
are continuous wherever their derivative is (no atan(1/x)), so each answer is correct
by construction; logs of linear factors put poles in the integrand and make the answer
complex on part of the line.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ladder_core.records import VerdictStatus

from ladder_integration.verify import VerifierConfig, verify_in_process

x = sympy.Symbol("x")
CONFIG = VerifierConfig()

_small = st.sampled_from([sympy.Integer(k) for k in (1, 2, 3, -1, -2)] + [sympy.Rational(1, 2), sympy.Rational(-3, 2)])
_pole = st.sampled_from([sympy.Integer(k) for k in (-7, -5, 4, 6, 9)])  # away from the jumps tested below
_pieces = st.one_of(
    st.builds(lambda a, n: a * x**n, _small, st.integers(1, 4)),
    st.builds(lambda a, b: sympy.exp(a * x) * b, _small, _small),
    st.builds(lambda a, b: sympy.sin(a * x + b), _small, _small),
    st.builds(lambda a, b: b * sympy.cos(a * x), _small, _small),
    st.builds(lambda c, a: a * sympy.log(x - c), _pole, _small),
    st.builds(lambda c, d: sympy.log((x - c) * (x - d)), _pole, _pole),
    st.builds(lambda c, d: sympy.log((x - c) / (x - d)), _pole, _pole),
    st.builds(lambda a: sympy.log(x**2 + a**2), _small),
    st.builds(lambda a: sympy.atan(x / a), _small),
    st.builds(lambda a: sympy.sqrt(x**2 + a**2), _small),
    st.builds(lambda a, n: x**n * sympy.exp(a * x), _small, st.integers(1, 2)),
    st.builds(lambda a: x * sympy.sin(a * x), _small),
    st.builds(lambda a: sympy.sin(a * x) ** 2, _small),
)


# At most one piece with logs of linear factors: two could cancel each other's pole
# (log((x + 7)/(x + 5)) + log((x + 5)*(x + 7))) and leave a jump of the imaginary part
# where the integrand is continuous, which the rule rightly rejects.
antiderivatives = (st.lists(_pieces, min_size=1, max_size=3)
                   .filter(lambda ps: sum(p.has(sympy.log) and not p.has(x**2) for p in ps) <= 1)
                   .map(lambda ps: sympy.Add(*ps)))


def _shift_branches(expr: sympy.Expr) -> sympy.Expr:
    """``log(u) -> log(-u)``: the same derivative, an imaginary part shifted by +-i*pi
    differently on each side of the zeros of u (which are poles of the integrand)."""
    return expr.replace(lambda e: isinstance(e, sympy.log), lambda e: sympy.log(-e.args[0]))


REWRITES = {
    "expand_log": lambda e: sympy.expand_log(e, force=True),
    "logcombine": lambda e: sympy.logcombine(e, force=True),
    "together": sympy.together,
    "trigsimp": sympy.trigsimp,
    "expand_trig": sympy.expand_trig,
    "shift_branches": _shift_branches,
    "asinh_form": lambda e: e.replace(lambda n: isinstance(n, sympy.atan),
                                      lambda n: sympy.asin(n.args[0] / sympy.sqrt(1 + n.args[0] ** 2))),
}


@contextmanager
def _time_limit(seconds: float):
    """For SymPy rewrites in trusted test code (pytest runs tests in the main thread)."""

    def _raise(signum, frame):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _problem(F: sympy.Expr) -> str:
    f = sympy.diff(F, x)
    assume(f != 0)
    return f"integrate({sympy.sstr(f)}, x)"


def _check(problem: str, answer: sympy.Expr | str):
    text = answer if isinstance(answer, str) else sympy.sstr(answer)
    return verify_in_process(problem, f"<ANSWER>{text}</ANSWER>", CONFIG)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(F=antiderivatives, rewrite=st.sampled_from(sorted(REWRITES)))
def test_rewritten_correct_antiderivatives_are_accepted(F, rewrite):
    problem = _problem(F)
    try:
        with _time_limit(2.0):
            G = REWRITES[rewrite](F)
    except TimeoutError:
        assume(False)
    assume(not G.has(sympy.I, sympy.zoo, sympy.nan))
    v = _check(problem, G)
    assert v.status is VerdictStatus.CORRECT, (problem, rewrite, sympy.sstr(G), v.reason)
    v = _check(problem, f"{sympy.sstr(G)} + C")
    assert v.status is VerdictStatus.CORRECT, (problem, rewrite, "+ C", v.reason)


_PERTURBATIONS = {
    "relative": lambda F, k, a: F * (1 + sympy.Rational(1, 10**k)),
    "plus_x": lambda F, k, a: F + x * sympy.Rational(1, 10**k),
    "jump": lambda F, k, a: F + sympy.sign(x - a) / 10**(k - 6),
    "c_times_x": lambda F, k, a: F + sympy.Symbol("C") * x,
    "c_scales": lambda F, k, a: F * (1 + sympy.Symbol("C")),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(F=antiderivatives, kind=st.sampled_from(sorted(_PERTURBATIONS)), k=st.integers(6, 11),
       a=st.sampled_from([sympy.Rational(n, 7) for n in range(-14, 15)]))
def test_perturbed_antiderivatives_are_rejected(F, kind, k, a):
    problem = _problem(F)
    wrong = _PERTURBATIONS[kind](F, k, a)
    if kind == "relative":
        # F*(1 + eps) is right when F' is tiny everywhere; the pieces above never are.
        assume(sympy.diff(F, x) != 0)
    v = _check(problem, wrong)
    assert v.status is VerdictStatus.INCORRECT, (problem, kind, sympy.sstr(wrong), v.reason)
