"""Recursive-descent parser from tokens straight to whitelisted SymPy objects.

Grammar (lowest to highest binding)::

    sum      := product (('+' | '-') product)*
    product  := unary (('*' | '/' | implicit) power)*
    unary    := ('-' | '+') unary | power
    power    := atom ('^' exponent)?          # right-associative, exponent := unary
    atom     := number | name | call | '(' sum ')' | '{' sum '}' | '|' sum '|'
              | \\frac{a}{b} | \\sqrt[n]{a} | \\sin^{2} x | ...

Implicit multiplication has the precedence of ``*`` and associates to the left, as in
SymPy's ``implicit_multiplication`` (``1/2x`` is ``x/2``).  A function written without
parentheses (``\\sin 2x``, ``ln x``) takes the following implicit product of plain
factors.  Every recursive entry point counts nesting depth, so the depth limit fires
long before Python's recursion limit could.
"""

from __future__ import annotations

import sympy

from . import build, latex
from .build import SYMPY, ParseLimits
from .errors import UNSUPPORTED, ParseError
from .lexer import EOF

CONSTANT_NAMES = {"pi": sympy.pi, "e": sympy.E, "E": sympy.E}

# Names with a dedicated refusal in answers (problems report them as unsupported).
FORBIDDEN = {
    "Integral": "unknown name 'Integral' (integrals are not allowed)",
    "integrate": "unknown name 'integrate' (integrals are not allowed)",
    "Derivative": "unknown name 'Derivative' (derivatives are not allowed)",
    "diff": "unknown name 'diff' (derivatives are not allowed)",
    "lambda": "keyword 'lambda' not allowed",
    "import": "keyword 'import' not allowed",
    "Limit": "unknown name 'Limit' (limits are not allowed)",
    "limit": "unknown name 'limit' (limits are not allowed)",
    "Sum": "unknown name 'Sum' (sums are not allowed)",
    "sum": "unknown name 'sum' (sums are not allowed)",
    "Product": "unknown name 'Product'",
    "factorial": "unknown name 'factorial' (factorials are not supported)",
    "I": "unknown name 'I' (complex numbers are not allowed)",
    "oo": "infinity is not allowed here",
    "zoo": "unknown name 'zoo'",
    "nan": "unknown name 'nan'",
}
_KEYWORDS = frozenset(
    "and as assert async await break class continue def del elif else except finally for "
    "from global if in is nonlocal not or pass raise return try while with yield None True "
    "False".split()
)

_MAX_SPLIT = 24


class Context:
    """What names mean in one parse: variables, constants of integration, functions."""

    __slots__ = ("variables", "constants", "functions", "problem", "allow_infinity", "limits", "builder")

    def __init__(
        self,
        variables: dict[str, sympy.Symbol],
        constants: dict[str, sympy.Symbol],
        *,
        problem: bool,
        limits: ParseLimits,
        builder=SYMPY,
    ) -> None:
        self.variables = variables
        self.constants = constants
        self.builder = builder  # build.SYMPY, or light.LIGHT (answers only)
        self.functions = builder.problem_functions if problem else builder.answer_functions
        self.problem = problem
        self.allow_infinity = problem
        self.limits = limits


class Parser:
    """One-shot parser over a token list; build SymPy values as it goes."""

    __slots__ = ("toks", "i", "ctx", "limits", "depth", "abs_depth", "saw_constant", "b")

    def __init__(self, tokens: list, ctx: Context) -> None:
        self.toks = tokens + [EOF]
        self.i = 0
        self.ctx = ctx
        self.b = ctx.builder
        self.limits = ctx.limits
        self.depth = 0
        self.abs_depth = 0
        self.saw_constant = False

    # ------------------------------------------------------------------ helpers

    def peek(self) -> tuple:
        return self.toks[self.i]

    def error(self, reason: str, tok: tuple | None = None) -> ParseError:
        tok = tok or self.toks[self.i]
        return ParseError(reason, tok[2] if tok[2] >= 0 else None)

    def expect_op(self, value: str, reason: str) -> None:
        tok = self.toks[self.i]
        if tok[0] != "op" or tok[1] != value:
            raise self.error(self._describe(tok, reason))
        self.i += 1

    def _describe(self, tok: tuple, fallback: str) -> str:
        kind, value = tok[0], tok[1]
        if kind == "eof":
            return f"unexpected end of input ({fallback})"
        if kind == "op" and value == ",":
            return "comma outside function call"
        if kind == "op" and value == "[":
            return "brackets/indexing not allowed"
        return f"unexpected {value!r} ({fallback})"

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self.error(f"nesting deeper than {self.limits.max_depth}")

    def starts_atom(self, tok: tuple) -> bool:
        kind = tok[0]
        if kind in ("num", "name", "cmd"):
            return True
        if kind == "op":
            value = tok[1]
            return value in ("(", "{", "abs(") or (value == "|" and self.abs_depth == 0)
        return False

    # ------------------------------------------------------------------ grammar

    def parse_all(self) -> sympy.Expr:
        expr = self.sum()
        tok = self.peek()
        if tok[0] != "eof":
            if tok[0] == "op" and tok[1] == ")":
                raise self.error("unbalanced ')'")
            if tok[0] == "op" and tok[1] in ("|", "abs)"):
                raise self.error("unbalanced '|'")
            raise self.error(self._describe(tok, "expected end of input"))
        return expr

    def sum(self) -> sympy.Expr:
        self.enter()
        terms = [self.product()]
        toks = self.toks
        while True:
            tok = toks[self.i]
            if tok[0] != "op":
                break
            if tok[1] == "+":
                self.i += 1
                terms.append(self.product())
            elif tok[1] == "-":
                self.i += 1
                terms.append(self.b.negate(self.product()))
            else:
                break
        self.depth -= 1
        return self.b.make_sum(terms, self.limits)

    def product(self) -> sympy.Expr:
        factors = [self.unary()]
        toks = self.toks
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "op" and tok[1] == "*":
                self.i += 1
                factors.append(self.unary())
            elif kind == "op" and tok[1] == "/":
                self.i += 1
                factors.append(self.b.reciprocal(self.unary(), self.limits, tok[2]))
            elif self.starts_atom(tok):
                if kind == "num" and toks[self.i - 1][0] == "num":
                    raise self.error("two numbers in a row")
                factors.append(self.power())
            else:
                break
        return self.b.make_product(factors, self.limits)

    def unary(self) -> sympy.Expr:
        tok = self.toks[self.i]
        if tok[0] == "op" and tok[1] in ("-", "+"):
            self.i += 1
            self.enter()
            value = self.unary()
            self.depth -= 1
            if tok[1] == "+":
                return value
            return self.b.minus(value, self.limits)
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        tok = self.toks[self.i]
        if tok[0] == "op" and tok[1] == "^":
            self.i += 1
            exponent = self.exponent()
            return self.b.power(base, exponent, self.limits, tok[2])
        if tok[0] == "op" and tok[1] == "[":
            raise self.error("brackets/indexing not allowed")
        return base

    def exponent(self) -> sympy.Expr:
        self.enter()
        value = self.unary()
        self.depth -= 1
        return value

    def atom(self) -> sympy.Expr:
        tok = self.toks[self.i]
        kind, value = tok[0], tok[1]
        if kind == "num":
            self.i += 1
            return self.b.make_number(value, self.limits, tok[2])
        if kind == "name":
            self.i += 1
            return self.name(tok)
        if kind == "cmd":
            return self.command(tok)
        if kind == "op":
            if value == "(":
                self.i += 1
                if self.peek()[:2] == ("op", ")"):
                    raise self.error("empty parentheses")
                inner = self.sum()
                self.expect_op(")", "unbalanced '('")
                return inner
            if value == "{":
                if self.ctx.problem:
                    raise self.error(UNSUPPORTED + "braces ({x} is the fractional part)")
                self.i += 1
                inner = self.sum()
                self.expect_op("}", "unbalanced '{'")
                return inner
            if value in ("|", "abs("):
                self.i += 1
                self.abs_depth += 1
                inner = self.sum()
                close = self.peek()
                if close[0] != "op" or close[1] not in ("|", "abs)"):
                    raise self.error(self._describe(close, "unbalanced '|'"))
                self.i += 1
                self.abs_depth -= 1
                return self.b.absolute(inner, self.limits, tok[2])
            if value == ")":
                raise self.error("unbalanced ')'")
            if value == "[":
                raise self.error("brackets/indexing not allowed")
            if value == "_":
                raise self.error("unexpected subscript '_'")
        raise self.error(self._describe(tok, "expected a number, name or '('"))

    # ------------------------------------------------------------------ names

    def name(self, tok: tuple) -> sympy.Expr:
        """Resolve a name token (already consumed)."""
        name = tok[1]
        ctx = self.ctx
        nxt = self.toks[self.i]
        if nxt[0] == "op" and nxt[1] == "_" and name not in ctx.functions:
            name = self.subscripted(name)
        symbol = ctx.variables.get(name)
        if symbol is not None:
            return symbol
        symbol = ctx.constants.get(name)
        if symbol is not None:
            self.saw_constant = True
            return symbol
        constant = CONSTANT_NAMES.get(name)
        if constant is not None:
            return constant
        if name in ctx.functions:
            return self.call(name, tok)
        if name == "oo" and ctx.allow_infinity:
            return sympy.oo
        if ctx.problem:
            if name in FORBIDDEN or name in _KEYWORDS or name.startswith("_"):
                raise self.error(UNSUPPORTED + f"name {name!r}", tok)
            if self.peek()[:2] == ("op", "("):
                raise self.error(UNSUPPORTED + f"function {name!r}", tok)
            return sympy.Symbol(name)  # a free parameter unless it is the integration variable
        reason = FORBIDDEN.get(name)
        if reason is not None:
            raise self.error(reason, tok)
        if name in _KEYWORDS:
            raise self.error(f"keyword {name!r} not allowed", tok)
        parts = self.split_name(name)
        if parts is None:
            raise self.error(f"unknown name {name!r}", tok)
        self.i -= 1
        self.toks[self.i : self.i + 1] = [("name", part, tok[2]) for part in parts]
        return self.atom()

    def subscripted(self, name: str) -> str:
        """``C_1``, ``C_{1}``: fold a subscript into the name."""
        self.i += 1  # '_'
        tok = self.peek()
        braced = tok[:2] == ("op", "{")
        if braced:
            self.i += 1
            tok = self.peek()
        if tok[0] not in ("num", "name"):
            raise self.error("unsupported subscript")
        self.i += 1
        if braced:
            self.expect_op("}", "unbalanced '{'")
        return f"{name}_{tok[1]}"

    def split_name(self, name: str) -> list[str] | None:
        """Split ``xsinx`` into ``x sin x``; ``None`` unless every piece is known."""
        if len(name) > _MAX_SPLIT or not name.isalpha():
            return None
        ctx = self.ctx
        words = set(ctx.variables) | {"pi", "e"} | set(ctx.functions)
        words = {w for w in words if w.isalpha() and not w[0].isupper()} | {
            w for w in ctx.variables if w.isalpha()
        }
        best: dict[int, list[str] | None] = {len(name): []}
        for start in range(len(name) - 1, -1, -1):
            options = [
                [name[start:end]] + tail
                for end in range(len(name), start, -1)
                if name[start:end] in words and (tail := best.get(end)) is not None
            ]
            best[start] = min(options, key=len) if options else None
        parts = best[0]
        return parts if parts and len(parts) > 1 else None

    # ------------------------------------------------------------------ functions

    def call(self, name: str, tok: tuple) -> sympy.Expr:
        """A function application: ``f(a, b)``, ``f{a}``, ``f a``, ``f^2 a``, ``f^{-1}(a)``, ``log_b a``."""
        ctx = self.ctx
        power = None
        nxt = self.peek()
        if nxt[:2] == ("op", "^"):
            self.i += 1
            power = self.exponent()
            if name in build.INVERSES and self.b.is_minus_one(power):
                name, power = build.INVERSES[name], None
        base = None
        nxt = self.peek()
        if nxt[:2] == ("op", "_") and name in ("log", "ln"):
            self.i += 1
            base = self.latex_arg()
        spec = ctx.functions[name]
        builder, min_args, max_args = spec
        nxt = self.peek()
        if nxt[:2] == ("op", "("):
            self.i += 1
            if self.peek()[:2] == ("op", ")"):
                raise self.error(f"function {name!r} needs an argument")
            args = [self.sum()]
            while self.peek()[:2] == ("op", ","):
                self.i += 1
                args.append(self.sum())
            self.expect_op(")", f"unbalanced '(' in call of {name!r}")
        elif nxt[:2] == ("op", "{") and not ctx.problem:
            args = [self.latex_arg()]
        else:
            args = [self.bare_argument(name)]
        if base is not None:
            args.append(base)
            max_args = max(max_args, 2)
        if not (min_args <= len(args) <= max_args):
            raise self.error(f"function {name!r} takes {min_args}..{max_args} arguments, got {len(args)}", tok)
        try:
            value = self.b.bounded(builder(args, self.limits, tok[2]), self.limits, tok[2])
        except ParseError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.error(f"cannot build {name}(...): {type(exc).__name__}", tok) from None
        if power is not None:
            value = self.b.power(value, power, self.limits, tok[2])
        return value

    def bare_argument(self, name: str) -> sympy.Expr:
        """The argument of ``\\sin 2x``: an implicit product of plain factors."""
        tok = self.peek()
        if not (self.starts_atom(tok) or tok[:2] in (("op", "-"), ("op", "+"))):
            raise self.error(f"function {name!r} needs an argument")
        self.enter()
        factors = [self.unary()]
        while True:
            tok = self.peek()
            kind = tok[0]
            if kind == "num" or (kind == "name" and tok[1] not in self.ctx.functions):
                if kind == "num" and self.toks[self.i - 1][0] == "num":
                    raise self.error("two numbers in a row")
                factors.append(self.power())
            elif kind == "cmd" and tok[1] in latex.NAMES:
                factors.append(self.power())
            else:
                break
        self.depth -= 1
        return self.b.make_product(factors, self.limits)

    # ------------------------------------------------------------------ LaTeX

    def latex_arg(self) -> sympy.Expr:
        """One argument of a LaTeX command: ``{...}``, a single digit, or one atom."""
        self.enter()
        tok = self.peek()
        if tok[0] == "num" and len(tok[1]) > 1 and tok[1].isdigit():
            self.toks[self.i] = ("num", tok[1][1:], tok[2] + 1)
            value = self.b.integer(int(tok[1][0]))
        else:
            value = self.power() if tok[:2] != ("op", "{") else self.atom()
        self.depth -= 1
        return value

    def command(self, tok: tuple) -> sympy.Expr:
        name = tok[1]
        if name in latex.FRACTIONS:
            self.i += 1
            numerator = self.latex_arg()
            denominator = self.latex_arg()
            return self.b.make_product([numerator, self.b.reciprocal(denominator, self.limits, tok[2])], self.limits)
        if name == "sqrt":
            self.i += 1
            if self.peek()[:2] == ("op", "["):
                self.i += 1
                index = self.sum()
                self.expect_op("]", "unbalanced '[' in \\sqrt[n]")
                if self.b.positive_integer(index) is None:
                    raise self.error("root index must be a positive integer", tok)
                return self.b.power(self.latex_arg(), self.b.reciprocal(index, self.limits), self.limits, tok[2])
            return self.b.power(self.latex_arg(), self.b.half, self.limits, tok[2])
        if name in latex.FUNCTIONS:
            self.i += 1
            return self.call(name, tok)
        if name in latex.NAMES:
            self.toks[self.i] = ("name", latex.NAMES[name], tok[2])
            return self.atom()
        if name in latex.NAME_WRAPPERS:
            self.i += 1
            self.expect_op("{", f"'{{' after \\{name}")
            inner = self.peek()
            if inner[0] != "name":
                raise self.error(f"expected a name inside \\{name}{{...}}")
            self.i += 1
            self.expect_op("}", f"unbalanced '{{' after \\{name}")
            return self.name(inner)
        if name in latex.TRANSPARENT:
            self.i += 1
            return self.latex_arg()
        reason = latex.REFUSED.get(name)
        if reason is not None:
            raise self.error(reason, tok)
        raise self.error(f"unknown command '\\{name}'", tok)
