"""``parse_problem``: the problem sets' ``integrate(...)`` notation, through the same parser.

Accepted forms: ``integrate(f, x)``, ``integrate(f, (x, a, b))`` and
``integrate(f, x, a, b)``, any variable name.  Everything the sets contain beyond that
(``Limit(...)``, sums and products, ``{x}``, free parameters, functions outside the
whitelist) is refused with a reason that starts with ``"unsupported:"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import build
from .errors import UNSUPPORTED, ParseError
from .expression import symbol
from .lexer import tokenize
from .limits import PROBLEM_LIMITS, ParseLimits
from .parser import Context, Parser


@dataclass(frozen=True)
class IntegralProblem:
    """One integral: integrand in ``var``; ``lower``/``upper`` are ``None`` when indefinite."""

    integrand: sympy.Expr
    var: sympy.Symbol
    lower: sympy.Expr | None
    upper: sympy.Expr | None
    raw: str

    @property
    def definite(self) -> bool:
        return self.lower is not None


def parse_problem(raw: str, *, limits: ParseLimits = PROBLEM_LIMITS, builder=build.SYMPY) -> IntegralProblem:
    """Parse one problem's ``raw`` text.  Raises only :class:`ParseError`.

    ``builder=light.LIGHT`` (the verifier's numeric checks only) gives a light integrand
    and may raise :class:`~.light.Defer` too; see :func:`.expression.parse_light`."""
    if not isinstance(raw, str):
        raise ParseError("problem is not a string")
    if builder is not build.SYMPY:
        return _parse_problem(raw, limits, builder)
    try:
        return _parse_problem(raw, limits)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("problem nested too deeply") from None
    except Exception as exc:
        raise ParseError(f"cannot build problem: {type(exc).__name__}") from None


def _parse_problem(raw: str, limits: ParseLimits, builder=build.SYMPY) -> IntegralProblem:
    text = raw.strip()
    try:
        tokens = tokenize(text, limits)
    except ParseError as exc:
        if exc.reason.startswith(UNSUPPORTED) or len(text) > limits.max_chars:
            raise
        raise ParseError(UNSUPPORTED + f"notation outside the grammar: {exc.reason}", exc.position) from None
    if len(tokens) < 2 or tokens[0][:2] != ("name", "integrate") or tokens[1][:2] != ("op", "("):
        if any(t[:2] == ("name", "integrate") for t in tokens):
            raise ParseError(UNSUPPORTED + "expression around integrate(...) (limit, scaling, ...)")
        raise ParseError(UNSUPPORTED + "not an integrate(...) problem")
    balance = sum(1 if t[1] == "(" else -1 for t in tokens if t[0] == "op" and t[1] in ("(", ")"))
    depth, close_at = 0, None
    for index, tok in enumerate(tokens):
        if tok[0] == "op" and tok[1] in ("(", ")"):
            depth += 1 if tok[1] == "(" else -1
            if depth == 0:
                close_at = index
                break
    if close_at is None:
        # Transcription slip in the published sets: a missing final ')'.
        tokens = tokens + [("op", ")", len(text))] * depth
        close_at = len(tokens) - 1
    if close_at != len(tokens) - 1:
        raise ParseError(UNSUPPORTED + "expression around integrate(...) (limit, scaling, ...)")

    try:
        return _parse_call(tokens, raw, limits, builder)
    except ParseError as exc:
        if balance != 0 and not exc.reason.startswith(UNSUPPORTED):
            raise ParseError(UNSUPPORTED + "unbalanced parentheses in the problem text", exc.position) from None
        raise


def _parse_call(tokens: list, raw: str, limits: ParseLimits, builder=build.SYMPY) -> IntegralProblem:
    ctx = Context({}, {}, problem=True, limits=limits, builder=builder)
    parser = Parser(tokens[:-1], ctx)
    parser.i = 2
    integrand = parser.sum()
    parser.expect_op(",", "expected ', variable' after the integrand")
    lower = upper = None
    if parser.peek()[:2] == ("op", "("):
        parser.i += 1
        var = _variable(parser)
        parser.expect_op(",", "expected (x, a, b)")
        lower = parser.sum()
        parser.expect_op(",", "expected (x, a, b)")
        upper = parser.sum()
        parser.expect_op(")", "expected (x, a, b)")
    else:
        var = _variable(parser)
        if parser.peek()[:2] == ("op", ","):
            parser.i += 1
            lower = parser.sum()
            parser.expect_op(",", "expected integrate(f, x, a, b)")
            upper = parser.sum()
    if parser.peek()[0] != "eof":
        raise parser.error(parser._describe(parser.peek(), "expected ')' closing integrate("))

    extra = sorted(s.name for s in integrand.free_symbols if s != var)
    if extra:
        raise ParseError(UNSUPPORTED + f"free parameter(s) {', '.join(extra)} besides {var.name}")
    if builder is build.SYMPY:
        build.check_tree(integrand, problem=True)
    else:
        builder.check_tree(integrand)
    for bound in (lower, upper):
        if bound is not None:
            if bound.free_symbols:
                names = ", ".join(sorted(s.name for s in bound.free_symbols))
                raise ParseError(UNSUPPORTED + f"symbolic integration limit ({names})")
            build.check_tree(bound, problem=True, allow_infinity=True)
    return IntegralProblem(integrand=integrand, var=var, lower=lower, upper=upper, raw=raw)


def _variable(parser: Parser) -> sympy.Symbol:
    tok = parser.peek()
    if tok[0] != "name" or tok[1] in parser.ctx.functions or tok[1] in ("pi", "e", "E", "oo"):
        raise parser.error(parser._describe(tok, "expected the integration variable"))
    parser.i += 1
    return symbol(tok[1])
