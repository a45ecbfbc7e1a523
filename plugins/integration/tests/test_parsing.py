"""Unit tests of the eval-free parser: syntax, LaTeX, refusals, limits, problem sets."""

from __future__ import annotations

import glob
import json
import sys
import time
from pathlib import Path

import pytest
import sympy
from sympy import E, Abs, Rational, Symbol, acos, asin, asinh, atan, cos, exp, log, pi, sin, sqrt, tan

from ladder_integration.parsing import (
    ALLOWED_FUNCTIONS,
    DEFAULT_LIMITS,
    IntegralProblem,
    ParseError,
    ParseLimits,
    expression_to_text,
    parse_expression,
    parse_problem,
)

x, t, u, C = sympy.symbols("x t u C")
DATA = Path(__file__).resolve().parents[1] / "src" / "ladder_integration" / "data"  # the shipped copy


def P(text: str, **kw) -> sympy.Expr:
    return parse_expression(text, **kw)


def assert_same(text: str, expected: sympy.Expr, **kw) -> None:
    got = P(text, **kw)
    assert got == expected or sympy.simplify(got - expected) == 0, f"{text!r} -> {got}, expected {expected}"


def reason(text: str, **kw) -> str:
    with pytest.raises(ParseError) as info:
        P(text, **kw)
    return info.value.reason


# ------------------------------------------------------------------ plain syntax


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x**3/3 - cos(2*x)/2 + log(abs(x+1))", x**3 / 3 - cos(2 * x) / 2 + log(Abs(x + 1))),
        ("x^2", x**2),
        ("2x", 2 * x),
        ("3sin(x)", 3 * sin(x)),
        ("x(x+1)", x * (x + 1)),
        ("(x+1)(x-1)", (x + 1) * (x - 1)),
        ("2 pi", 2 * pi),
        ("2 pi x", 2 * pi * x),
        ("ln(x)", log(x)),
        ("log(x)", log(x)),
        ("log(x, 2)", log(x) / log(2)),
        ("exp(x)", exp(x)),
        ("sqrt(x)", sqrt(x)),
        ("cbrt(x)", x ** Rational(1, 3)),
        ("abs(x)", Abs(x)),
        ("Abs(x)", Abs(x)),
        ("|x - 1|", Abs(x - 1)),
        ("|x-1|+|x+1|", Abs(x - 1) + Abs(x + 1)),
        ("||x| - 1|", Abs(Abs(x) - 1)),
        ("e**x", exp(x)),
        ("E**x", exp(x)),
        ("e^(-x^2)", exp(-(x**2))),
        ("e", E),
        ("pi/2", pi / 2),
        ("-x^2", -(x**2)),
        ("2^-2", Rational(1, 4)),
        ("x^-1", 1 / x),
        ("x^2^3", x**8),
        ("1/2x", x / 2),
        ("x**0.5", sqrt(x)),
        ("0.25", Rational(1, 4)),
        (".5x", x / 2),
        ("1e-3", Rational(1, 1000)),
        ("1e-3x", x / 1000),
        ("2.5e2", 250),
        ("arcsin(x) + acos(x)", asin(x) + acos(x)),
        ("arctan(x)", atan(x)),
        ("arcsinh(x)", asinh(x)),
        ("sin(x)^2", sin(x) ** 2),
        ("sin^2(x)", sin(x) ** 2),
        ("cos^{-1}(x)", acos(x)),
        ("sin x", sin(x)),
        ("sin 2x", sin(2 * x)),
        ("sin x cos x", sin(x) * cos(x)),
        ("ln|x|", log(Abs(x))),
        ("xsinx", x * sin(x)),
        ("xe^x", x * exp(x)),
        ("2sinx", 2 * sin(x)),
        ("sin(x)(x+1)", sin(x) * (x + 1)),
        ("root(x, 3)", x ** Rational(1, 3)),
        ("sech(x) + csch(x) + coth(x)", sympy.sech(x) + sympy.csch(x) + sympy.coth(x)),
        ("acot(x)+asec(x)+acsc(x)", sympy.acot(x) + sympy.asec(x) + sympy.acsc(x)),
        ("acoth(x)+asech(x)+acsch(x)", sympy.acoth(x) + sympy.asech(x) + sympy.acsch(x)),
        ("sign(x)", sympy.sign(x)),
        ("\u2212x\u00b2 + \u03c0", pi - x**2),
        ("2\u00d7x \u00b7 3", 6 * x),
    ],
)
def test_plain_syntax(text, expected):
    assert_same(text, expected)


def test_other_variables():
    assert P("t**2 + u", variables=("t", "u")) == t**2 + u
    assert reason("x", variables=("t",)) == "unknown name 'x'"


def test_two_arg_log_with_numeric_base():
    assert P("log(8, 2)") == log(8) / log(2)


# ------------------------------------------------------------------ constants of integration


def test_constant_of_integration_dropped():
    assert P("x**3/3 + C") == x**3 / 3
    assert P("C + x**3/3") == x**3 / 3
    assert P("C") == 0
    assert P("x + 2*C + C**2 + log(C)") == x
    assert P("exp(x + C)") == exp(x)


def test_constant_of_integration_kept_on_request():
    assert P("x + C", drop_constants=False) == x + C
    assert P("x + K", constants_of_integration=("K",)) == x


def test_constant_in_denominator_is_refused_when_dropped():
    assert "undefined" in reason("x/C")


def test_constant_of_integration_is_not_a_variable_name_clash():
    assert P("C*x + 1", variables=("C", "x")) == Symbol("C") * x + 1


# ------------------------------------------------------------------ LaTeX


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"\frac{x^{2}}{2} + \ln\left|x\right| + C", x**2 / 2 + log(Abs(x))),
        (r"\dfrac{1}{2}\ln\left|\frac{x-1}{x+1}\right|", log(Abs((x - 1) / (x + 1))) / 2),
        (r"\tfrac12 x", x / 2),
        (r"\sqrt{x}", sqrt(x)),
        (r"\sqrt[3]{x}", x ** Rational(1, 3)),
        (r"2\sqrt{x} - 2\ln(1+\sqrt{x})", 2 * sqrt(x) - 2 * log(1 + sqrt(x))),
        (r"e^{x}\left(\sin x - \cos x\right)/2", exp(x) * (sin(x) - cos(x)) / 2),
        (r"\mathrm{e}^{-x}", exp(-x)),
        (r"x \cdot e^{x} - e^{x}", x * exp(x) - exp(x)),
        (r"3 \times x", 3 * x),
        (r"\frac{\pi}{4}", pi / 4),
        (r"\arctan(x) + \frac{1}{2}\log(1+x^2)", atan(x) + log(1 + x**2) / 2),
        (r"-\frac{1}{3}\cos^3 x + C", -(cos(x) ** 3) / 3),
        (r"\sec^2 x", sympy.sec(x) ** 2),
        (r"\sinh^{-1}(x)", asinh(x)),
        (r"\tan^{-1} x", atan(x)),
        (r"\operatorname{arcsinh}(x)", asinh(x)),
        (r"\operatorname{sech}(x)", sympy.sech(x)),
        (r"\log_{2} x", log(x) / log(2)),
        (r"\log_2(x)", log(x) / log(2)),
        (r"\left| x \right|", Abs(x)),
        (r"\lvert x \rvert", Abs(x)),
        (r"\left[ x + 1 \right]^2", (x + 1) ** 2),
        (r"\boxed{x^2}", x**2),
        (r"{x}^{2}", x**2),
        (r"x\,\sin x", x * sin(x)),
        ("$x^2 + C$", x**2),
        ("$$x^2$$", x**2),
        (r"\(x^2\)", x**2),
        (r"\displaystyle \frac{x}{2}", x / 2),
        (r"\dfrac{\sqrt{3}}{3}\arctan\left(\dfrac{2x+1}{\sqrt{3}}\right)", sqrt(3) * atan((2 * x + 1) / sqrt(3)) / 3),
    ],
)
def test_latex(text, expected):
    assert_same(text, expected)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("Integral(x**2, x)", "unknown name 'Integral'"),
        ("integrate(x*exp(x), x)", "unknown name 'integrate'"),
        ("Derivative(x, x)", "unknown name 'Derivative'"),
        ("diff(x**2, x)", "unknown name 'diff'"),
        ("f(x)", "unknown name 'f'"),
        ("y + 1", "unknown name 'y'"),
        ("x.func", "attribute access"),
        ("x.__class__", "attribute access"),
        ("lambda + 1", "keyword 'lambda'"),
        ("lambda x: x", "lambda"),
        ("__import__('os')", "strings"),
        ("__import__", "unknown name '__import__'"),
        ("x[0]", "brackets/indexing"),
        ("[x, 1]", "brackets/indexing"),
        ("'x'", "strings"),
        ('"x"', "strings"),
        ("1, 2", "comma outside function call"),
        ("(x, 1)", "comma outside function call"),
        ("x = 2", "assignment"),
        ("x if x else 1", "keyword 'if'"),
        ("not x", "keyword 'not'"),
        ("5!", "factorial"),
        ("factorial(5)", "factorial"),
        ("gamma(x)", "unknown name 'gamma'"),
        ("I*x", "complex"),
        ("oo", "infinity"),
        ("sqrt(-1)", "non-real"),
        ("log(0)", "undefined"),
        ("1/0", "division by zero"),
        ("x; x", "multiple statements"),
        ("x # comment", "comments"),
        ("x % 2", "modulo"),
        ("x < 1", "comparisons"),
        ("", "empty"),
        ("   ", "empty"),
        ("x +", "end of input"),
        ("(x", "unbalanced '('"),
        ("x)", "unbalanced ')'"),
        ("|x", "unbalanced '|'"),
        ("sin()", "needs an argument"),
        ("sin", "needs an argument"),
        ("sin(x, x)", "takes 1..1 arguments"),
        ("log(x, 1)", "base"),
        ("2 3", "two numbers in a row"),
        (r"\int x\,dx", "integral sign"),
        (r"\frac{d}{dx} x", "unknown name 'd'"),
        (r"\foo{x}", "unknown command"),
        ("x ... x", "ellipsis"),
        ("x @ x", "'@'"),
        ("x\x00", "NUL"),
        ("\\", "unexpected character"),
    ],
)
def test_refusals_have_reasons(text, fragment):
    assert fragment in reason(text)


def test_parse_error_is_value_error_with_reason():
    with pytest.raises(ValueError) as info:
        P("Integral(x, x)")
    assert isinstance(info.value, ParseError)
    assert info.value.reason == "unknown name 'Integral' (integrals are not allowed)"


def test_non_string_input():
    with pytest.raises(ParseError):
        P(None)  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        parse_problem(b"integrate(x, x)")  # type: ignore[arg-type]


# ------------------------------------------------------------------ limits and timing


def _cpu_seconds(fn, repeats: int = 3) -> float:
    """Best-of-n CPU time: robust to other processes sharing the machine's cores."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def _fast_refusal(text: str, budget: float = 0.05, **kw) -> str:
    P("x + 1")  # warm caches
    reasons = []

    def attempt():
        with pytest.raises(ParseError) as info:
            P(text, **kw)
        reasons.append(info.value.reason)

    elapsed = _cpu_seconds(attempt)
    assert elapsed < budget, f"{text[:40]!r} took {elapsed * 1e3:.1f} ms"
    return reasons[0]


BIG = ParseLimits(max_chars=10**7, max_tokens=10**7)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("9**9**9", "exponent too large"),
        ("10**(10**10)", "exponent too large"),
        ("2**2**2**2**2**2", "exponent too large"),
        ("(2*x)**(10**29)", "exponent too large"),
        ("(sqrt(2)*x)**(10**6)", "exponent too large"),
        ("E**(10**29)", "exponent too large"),
        ("x**(10**29)", "exponent too large"),
        ("((x+2)**(10**10))**(10**10)", "exponent too large"),
        ("(2**1000)**1000", "numeric power too large"),
        ("((sqrt(3)**999)**999)**999", "too large"),
        ("sqrt(2**1000)", "root of a too large number"),
        ("2**(1/10**29)", "exponent too large"),
        ("sin(exp(10**29))", "constant too large"),
        ("x/sin(exp(10**29))", "constant too large"),
        ("exp(5**999)", "constant too large"),
        ("2**(pi*10**29)", "exponent too large"),
        ("sin(2**(sqrt(2)*5**99))*x", "too large"),
        ("exp(10000)**1000", "constant too large"),
        ("sin(" + "*".join(["2**999"] * 40) + ")", "number too large"),
        ("((0.5)**((-1)**(1/3)))**((2380214889776718390562390016)/((-1)**(1/3)))", "exponent too large"),
        ("2**(sqrt(2)+10**27)*2**(-sqrt(2))", "exponent too large"),
        ("1" * 31, "more than 30 digits"),
        ("1e31", "decimal exponent"),
        ("x" * 200_000, "longer than"),
        ("(" * 5000 + "x" + ")" * 5000, "longer than"),
    ],
)
def test_resource_limits_refuse_fast(text, fragment):
    assert fragment in _fast_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5000 + "x" + ")" * 5000,
        "-" * 5000 + "x",
        "2^" * 5000 + "2",
        "sin(" * 5000 + "x" + ")" * 5000,
        "sin " * 5000 + "x",
        r"\sqrt" * 5000 + "x",
        r"\frac{" * 5000 + "x" + "}{2}" * 5000,
        "|" * 5000 + "x" + "|" * 5000,
        "{" * 5000 + "x" + "}" * 5000,
        "x^{" * 5000 + "x" + "}" * 5000,
        "sin^" * 5000 + "2 x",
    ],
)
def test_deep_nesting_hits_depth_limit_not_recursion_error(text):
    # Even with length and token limits lifted, the depth limit fires (lexing the
    # ~20,000 tokens dominates the time here; the default limits never get that far).
    assert "nesting deeper" in _fast_refusal(text, budget=0.5, limits=BIG)


def test_depth_limit_holds_under_a_low_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(600)
    try:
        for text in ["(" * 100 + "x" + ")" * 100, "sin(" * 100 + "x" + ")" * 100]:
            with pytest.raises(ParseError) as info:
                P(text)
            assert "nesting deeper" in info.value.reason
        assert P("(" * 60 + "x" + ")" * 60) == x
    finally:
        sys.setrecursionlimit(old)


def test_token_limit():
    assert "tokens" in _fast_refusal("+".join(["x"] * 400))
    assert P("+".join(["x"] * 250)) == 250 * x


def test_moderate_constants_still_parse():
    assert P("exp(100) + cosh(50) + sin(10**29) + 2**sqrt(2)") == exp(100) + sympy.cosh(50) + sin(10**29) + 2 ** sqrt(2)
    assert P("exp(-100)*x") == exp(-100) * x


def test_allowed_sizes_still_parse():
    assert P("2**1000") == sympy.Integer(2) ** 1000
    assert P("x**2024") == x**2024
    assert P("(1 - x**2025)**2025") == (1 - x**2025) ** 2025
    assert P("1" * 30) == sympy.Integer(int("1" * 30))
    assert P("1e-30") == Rational(1, 10**30)


def test_huge_symbolic_exponents_in_answers_but_not_in_problems():
    # SymPy keeps x**(10**9) unevaluated, so an answer may carry it (0 times it is 0);
    # problems go on to CAS work that may expand powers and keep the small bound.
    assert P("0*x**(10**9)") == 0
    assert P("x**(10**9)") == x ** (10**9)
    with pytest.raises(ParseError, match="exponent too large"):
        parse_problem("integrate(x**(10**9), x)")
    assert parse_problem("integrate(x**2024, x)").integrand == x**2024


def test_custom_limits():
    tight = ParseLimits(max_exponent=10, max_digits=3)
    assert "exponent too large" in reason("2**11", limits=tight)
    assert "digits" in reason("1234", limits=tight)
    assert P("2**10", limits=tight) == 1024
    assert DEFAULT_LIMITS.max_chars == 2000


def test_typical_answer_is_fast():
    text = "x**3/3 - cos(2*x)/2 + log(abs(x+1))"
    P(text)
    runs = 200

    def batch():
        for _ in range(runs):
            P(text)

    per_call = _cpu_seconds(batch) / runs
    assert per_call < 300e-6, f"{per_call * 1e6:.0f} us per parse"


# ------------------------------------------------------------------ output whitelist


def _node_types(expr):
    return {type(n) for n in sympy.preorder_traversal(expr)}


def test_output_uses_only_whitelisted_nodes():
    allowed_funcs = set(ALLOWED_FUNCTIONS)
    for text in [
        r"\frac{1}{2}\ln\left|\frac{x-1}{x+1}\right| + \arcsin(x) + C",
        "sqrt(x**2+1) + asinh(x) + sign(x)*abs(x) + sech(x) + acoth(x)",
        "Abs(exp(x)) + abs(x**2) + abs(-x)",
        "2**x + x**x + pi**E",
    ]:
        expr = P(text)
        for node in sympy.preorder_traversal(expr):
            ok = (
                isinstance(node, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Rational, sympy.Symbol))
                or node in (sympy.pi, sympy.E)
                or type(node) in allowed_funcs
            )
            assert ok, f"{text}: {type(node).__name__}"


def test_abs_of_exp_is_not_rewritten_with_re():
    expr = P("abs(exp(x))")
    assert not expr.has(sympy.re) and expr.has(sympy.Abs)


# ------------------------------------------------------------------ expression_to_text


@pytest.mark.parametrize(
    "expr",
    [
        x**3 / 3 - cos(2 * x) / 2 + log(Abs(x + 1)),
        sqrt(x) * exp(-(x**2)) + atan(x) / pi,
        E**x * sin(x) + Rational(7, 3),
        (x + 1) ** Rational(-3, 2) - tan(x) ** 2,
        sympy.acosh(x) + sympy.asech(x) + sympy.sign(x),
        -x,
        sympy.Integer(0),
        (-1) ** Rational(1, 3) * x,
    ],
)
def test_expression_to_text_round_trip(expr):
    text = expression_to_text(expr)
    assert P(text) == expr, text


# ------------------------------------------------------------------ problems


def test_problem_forms():
    p = parse_problem("integrate(x**2, x)")
    assert p == IntegralProblem(x**2, x, None, None, "integrate(x**2, x)")
    assert not p.definite
    p = parse_problem("integrate(exp(-t**2), (t, -oo, oo))")
    assert (p.integrand, p.var, p.lower, p.upper) == (exp(-(t**2)), t, -sympy.oo, sympy.oo)
    assert p.definite
    p = parse_problem("integrate(sin(u), u, 0, pi/2)")
    assert (p.integrand, p.var, p.lower, p.upper) == (sin(u), u, 0, pi / 2)
    p = parse_problem("  integrate( e**x*floor(x) , (x, 0, E) ) ")
    assert p.integrand == exp(x) * sympy.floor(x) and p.upper == E


def test_problem_variable_consistent_with_parse_expression():
    p = parse_problem("integrate(t*exp(t), t)")
    answer = parse_expression("t*e^t - e^t + C", variables=(p.var.name,))
    assert sympy.simplify(sympy.diff(answer, p.var) - p.integrand) == 0


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("Limit(integrate(x**n, (x, 0, 1)), n, oo)", "unsupported: expression around"),
        ("2*integrate(x, x)", "unsupported: expression around"),
        ("integrate(x, x) + 1", "unsupported: expression around"),
        ("x**2", "unsupported: not an integrate"),
        ("integrate({x}/x, (x, 1, 2))", "unsupported: braces"),
        ("integrate(sum(x**k, (k, 0, 5)), x)", "unsupported: name 'sum'"),
        ("integrate(p*x, x)", "unsupported: free parameter(s) p"),
        ("integrate(x, (x, 0, a))", "unsupported: symbolic integration limit"),
        ("integrate(h(x), x)", "unsupported: function 'h'"),
        ("integrate(integrate(x, x), x)", "unsupported: name 'integrate'"),
        ("integrate(x, x, '+')", "unsupported: notation outside the grammar"),
    ],
)
def test_problem_unsupported(raw, fragment):
    with pytest.raises(ParseError) as info:
        parse_problem(raw)
    assert info.value.reason.startswith("unsupported:")
    assert fragment in info.value.reason


@pytest.mark.parametrize(
    "raw",
    ["integrate(x, )", "integrate(, x)", "integrate(x, (x, 0))", "integrate(x, 2)", "integrate(x, x, 0)", "integrate(x y z, x)"],
)
def test_problem_malformed(raw):
    with pytest.raises(ParseError):
        parse_problem(raw)


def test_problem_missing_final_paren_is_tolerated():
    p = parse_problem("integrate(log(x**(log(x**x)))/x**2, x")
    assert p.var == x and not p.definite


def test_problem_limits_refuse_fast():
    def attempt():
        for raw in ["integrate(9**9**9, x)", "integrate(" + "(" * 5000 + "x" + ")" * 5000 + ", x)", "integrate(x" + "+x" * 10**5 + ", x)"]:
            with pytest.raises(ParseError):
                parse_problem(raw)

    assert _cpu_seconds(attempt) < 0.1


def _shipped_problems():
    rows = []
    for path in sorted(glob.glob(str(DATA / "*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if "raw" in row:
                    rows.append(row)
    return rows


def test_every_shipped_problem_parses_or_is_explicitly_unsupported(capsys):
    rows = _shipped_problems()
    assert len(rows) >= 700
    per_set: dict[str, list[int]] = {}
    for row in rows:
        counts = per_set.setdefault(row["set"], [0, 0])
        counts[1] += 1
        try:
            problem = parse_problem(row["raw"])
        except ParseError as exc:
            assert exc.reason.startswith("unsupported:"), (row["id"], row["raw"], exc.reason)
            continue
        counts[0] += 1
        assert problem.integrand.free_symbols <= {problem.var}, row["id"]
        if row["kind"] == "definite":  # the sets' "kind" is a guess that misses integrate(f, x, a, b)
            assert problem.definite, row["id"]
    total_ok = sum(c[0] for c in per_set.values())
    with capsys.disabled():
        print(f"\nproblem-set coverage: {total_ok}/{len(rows)} parse")
        for name, (ok, n) in sorted(per_set.items()):
            print(f"  {name:32s} {ok:4d}/{n}")
    assert total_ok / len(rows) > 0.9
