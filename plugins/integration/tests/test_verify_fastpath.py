"""The verifier's fast path (light numeric trees, no SymPy objects) against the full path.

The fast path may only decide what the full path (SymPy's parse, mpmath for doubtful
points) decides the same way; everything else it hands over. These tests compare the
two on the public labelled set, on hand-picked answers where SymPy's construction
matters (folding, cancellation, refusals, huge exponents, constants of integration) and
on random expressions and random text.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from ladder_core.records import VerdictStatus

from ladder_integration.answer import extract_answer
from ladder_integration.parsing import ParseError, parse_expression, parse_light, parse_problem
from ladder_integration.parsing.light import Defer, Node
from ladder_integration.verify import VerifierConfig, checker
from ladder_integration.verify.numeric import evaluate

x = sympy.Symbol("x")
CONFIG = VerifierConfig()
NAMES = checker.CONSTANTS_OF_INTEGRATION

PROBLEMS = [
    "integrate(x**2, x)",
    "integrate(x, x)",
    "integrate(1/x, x)",
    "integrate(1/sqrt(x**2 - 4), x)",
    "integrate(1/(1 + x**2), x)",
    "integrate(2**x, x)",
    "integrate(Abs(x), x)",
    "integrate(sin(x)*cos(x), x)",
    "integrate(exp(x), x)",
    "integrate(x**1000, x)",
]

ANSWERS = [
    # plain right and wrong answers
    "x**3/3", "x**3/3 + C", "C + x**3/3 + 7/2", "x**2/2", "x**2/2 + K", "log(x)", "ln|x|", "log(Abs(x))",
    "atan(x)", "-atan(1/x)", "-acot(x)", "acot(-x)", "asin(-x)", "acosh(x/2)", "log(x + sqrt(x**2 - 4))",
    "2**x/log(2)", "exp(x)", "e^x", "E**x", "x*Abs(x)/2", "x*|x|/2", "sign(x)*x**2/2", "sin(x)**2/2",
    "-cos(x)**2/2", "-cos(2*x)/4", "x**1001/1001", "x**1000", "\\frac{x^3}{3}", "x^{3}/3", "\\sqrt[3]{x}",
    "sqrt(x)**2/2", "(x**2)**(1/2)", "x**(1/2)", "pi*x", "2*pi", "x**-1", "x**x", "1/x",
    # the constant of integration other than added
    "x**3/3 + C*x", "(1 + C)*x**3/3", "x**2/2 + x**C", "exp(x + C)", "x**3/3 + C - C", "x**3/3 + 0*C*x",
    "x**2/2 + C + C_1", "C*x**0 + x**3/3",
    # decimals and tiny perturbations
    "0.333333*x**3", "x**3/3 + 1e-9*x", "x**2/2 + 10**(-12)*x", "exp(x + 10**(-12))", "0.5*x**2",
    # jumps and poles
    "x**2/2 + sign(x)", "x**2/2 + 1/(x - 12345)", "x**2/2 + floor(x)",
    # SymPy's construction decides: folding, cancellation, refusals, huge numbers
    "0*x**(10**9) + x**2/2", "x**2/2 + exp(1000) - exp(1000)", "x**2/2 + sqrt(-1)", "x**2/2 + log(0)",
    "x**2/2 + 1/(1 - 1)", "x**2/2 + x/(x - x)", "x**400 - x**400 + x**3/3", "(2**200*x)**1000",
    "(x/10**30)**1000", "x**3/3 - 10**20 + 10**20", "10**20*x - 10**20*x + x**3/3", "(x + 1)**64",
    "(x + 1)**65/65", "(2*x)**1000", "x**(10**9)", "9**9**9", "x**2/2 + log(x, 2) - log(x)/log(2)",
    "x**2/2 + root(x, 3) - x**(1/3)", "x**2/2 + 2**(1/2)", "sqrt(2)*x**2/(2*sqrt(2))",
    # refused outright
    "Integral(x**2, x)", "x**2/2 + ", "x**2/2 + y", "", "x**3/3 + I",
]


def _full(state, answer: str):
    """The full path's verdict (the fast path switched off)."""
    original = checker._judge_light
    checker._judge_light = lambda *args: None
    try:
        return checker._judge(state, answer, CONFIG)
    finally:
        checker._judge_light = original


def _agree(problem: str, answer: str) -> bool:
    """Check that the fast path, where it decides, agrees with the full path; whether it decided."""
    state = checker._problem_state(problem, CONFIG)
    assert not state.error, state.error
    fast = checker._judge_light(state, answer, CONFIG, NAMES)
    if fast is None:
        return False
    full = _full(state, answer)
    assert fast[0] is full[0], (problem, answer, fast, full)
    return True


@pytest.mark.parametrize("problem", PROBLEMS)
def test_fast_path_agrees_with_the_full_path_on_hand_picked_answers(problem):
    decided = sum(_agree(problem, answer) for answer in ANSWERS)
    assert decided >= len(ANSWERS) // 3  # it does decide the plain ones


def test_fast_path_decides_most_of_the_public_set_and_agrees_there():
    text = resources.files("ladder_integration").joinpath("data/verifier_public.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    decided = 0
    for row in rows:
        answer = extract_answer(row["completion"])
        if answer is not None:
            decided += _agree(row["problem"], answer)
    assert decided >= 0.9 * len(rows)


_leaves = st.sampled_from(["x", "x", "2", "3", "1/2", "-1", "pi", "C", "7/3", "0.25", "10**20"])
_unary = st.sampled_from(["sin", "cos", "exp", "log", "sqrt", "atan", "tan", "sinh", "asin", "Abs", "acosh",
                          "sign", "acot", "asec"])


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(lambda a, b: f"({a}) + ({b})", children, children),
        st.builds(lambda a, b: f"({a}) - ({b})", children, children),
        st.builds(lambda a, b: f"({a})*({b})", children, children),
        st.builds(lambda a, b: f"({a})/({b})", children, children),
        st.builds(lambda a, n: f"({a})**({n})", children, st.sampled_from(["2", "3", "-1", "1/2", "-3/2", "x", "0"])),
        st.builds(lambda f, a: f"{f}({a})", _unary, children),
    )


_texts = st.recursive(_leaves, _extend, max_leaves=7)


@settings(max_examples=150, deadline=None)
@given(problem=st.sampled_from(PROBLEMS[:9]), answer=_texts)
def test_fast_path_agrees_with_the_full_path_on_random_expressions(problem, answer):
    _agree(problem, answer)


@settings(max_examples=100, deadline=None)
@given(problem=st.sampled_from(PROBLEMS[:3]),
       answer=st.text(alphabet="x0123456789+-*/^().eEsincoqrtlgabpC| ", max_size=40))
def test_fast_path_agrees_with_the_full_path_on_random_text(problem, answer):
    _agree(problem, answer)


# ------------------------------------------------------------ the light builder itself


def _light(text: str):
    return parse_light(text, variables=("x",), constants_of_integration=NAMES)


@pytest.mark.parametrize("text", ["log(2)*x", "sqrt(-1)*x", "x**(10**9)", "log(x, 2)", "root(x, 3)", "x**pi",
                                  "asin(2) + x", "Abs(-3)*x", "(2**200*x)**1000", "2**(10**6)", "exp(1)*x",
                                  # terms SymPy collects, powers it rewrites
                                  "2*x + 3*x", "10**20*x - 10**20*x", "sqrt(x - x - 1)", "x/x", "exp(x)*exp(-x)",
                                  "(x**2)**(3/2)", "(2*x)**2", "exp(x)**2", "2*(x + 1) - 2*x"])
def test_light_builder_defers_what_sympy_must_decide(text):
    with pytest.raises(Defer):
        _light(text)


def test_light_builder_folds_numbers_as_sympy_does():
    assert _light("0*x**5 + 3").p == 3  # 0*x is 0, as in SymPy
    assert _light("1 - 1 + 1/2").p == 1 and _light("1 - 1 + 1/2").q == 2
    with pytest.raises(ParseError, match="division by zero"):
        _light("x/(1 - 1)")
    assert _light("x**1") is x and _light("x**0").p == 1
    assert _light("C + x**3/3").free_symbols == {x, sympy.Symbol("C")}


@pytest.mark.parametrize("text", ["x**3/3 + C", "-(x + 1)**2", "x*e^x - e^x", "\\frac{x^3}{3}",
                                  "log(x + sqrt(x**2 - 4))", "acot(-x) + asec(x)", "|x|*x/2", "2**x/3",
                                  "sin^2 x + \\cos^{2}(x)", "(x**2 + 1)**(3/2)", "x^x", "1/(2*x**2)",
                                  "-1/(x**2*log(x)) - 1/(x**2*log(x)**2)", "3*(x - 1)**2*(x + 2)/7"])
def test_light_trees_evaluate_like_sympy_trees(text):
    tree = _light(text)
    assert isinstance(tree, Node)
    expr = parse_expression(text, variables=("x",), constants_of_integration=NAMES, drop_constants=False)
    points = np.array([-7.5, -2.5, -0.3, 0.4, 1.7, 3.0, 12.0]) + 0j
    consts = {sympy.Symbol("C"): np.full(points.shape, 2.0 + 0j)}
    with np.errstate(all="ignore"):
        (lv, ld), (sv, sd) = evaluate(tree, x, points, consts=consts), evaluate(expr, x, points, consts=consts)
    lv, sv = np.broadcast_to(lv, points.shape), np.broadcast_to(sv, points.shape)
    assert np.allclose(lv, sv, rtol=1e-12, atol=1e-12, equal_nan=True)
    if ld is not None or sd is not None:
        assert np.allclose(np.broadcast_to(ld if ld is not None else 0j, points.shape),
                           np.broadcast_to(sd if sd is not None else 0j, points.shape), rtol=1e-12, atol=1e-9,
                           equal_nan=True)


def test_answers_keep_functions_as_written_and_problems_evaluate():
    # Answers are only evaluated numerically: SymPy's rewrite of sin(-x), which asks the
    # assumption system first, is skipped; problems go on to CAS work and keep it.
    assert parse_expression("sin(-x)") == sympy.sin(-x, evaluate=False)
    assert parse_expression("sin(-x)") != -sympy.sin(x)
    assert parse_problem("integrate(sin(-x), x)").integrand == -sympy.sin(x)
    assert parse_expression("log(1)*x") == 0  # constants still evaluate (bounded() needs them)


def test_fast_path_verdicts_have_the_usual_reasons():
    v = checker.verify_in_process("integrate(x**2, x)", "<ANSWER>x**3/3 + C</ANSWER>", CONFIG)
    assert v.status is VerdictStatus.CORRECT and "derivative matches" in v.reason
    v = checker.verify_in_process("integrate(x**2, x)", "<ANSWER>x**3/3 + C*x</ANSWER>", CONFIG)
    assert v.status is VerdictStatus.INCORRECT and v.reason.startswith("derivative differs from the integrand at x=")


# ------------------------------------------------------------ light integrands


def _verdicts(items: list, light_problems: bool) -> list:
    original = checker._light_problem
    if not light_problems:
        checker._light_problem = lambda text: None
    try:
        checker.clear_caches()
        return [checker.verify_in_process(p, f"<ANSWER>{a}</ANSWER>", CONFIG).status for p, a in items]
    finally:
        checker._light_problem = original
        checker.clear_caches()


def test_light_integrands_give_the_verdicts_of_sympy_integrands():
    text = resources.files("ladder_integration").joinpath("data/verifier_public.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    items = [(r["problem"], extract_answer(r["completion"]) or "") for r in rows]
    items += [(p, a) for p in PROBLEMS for a in ANSWERS[::3]]
    items += [(p, a) for p in ["integrate(floor(x)*x, x)", "integrate(x*x, x)", "integrate(oo*x, x)",
                               "integrate(sin(-x)*cos(-x), x)", "integrate(exp(log(x)), x)", "integrate(y*x, x)",
                               "integrate(x**2, (x, 0, 1))", "integrate(acos(-x), x)"]
              for a in ["x**3/3", "-cos(x)**2/2", "x*acos(-x) + sqrt(1 - x**2)", "1/3", "x**2/2 + C"]]
    light = _verdicts(items, True)
    assert light == _verdicts(items, False)
    assert sum(checker._light_problem(p) is not None for p in {p for p, _ in items}) >= 30
