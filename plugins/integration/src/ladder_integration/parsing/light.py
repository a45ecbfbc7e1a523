"""Plain numeric trees for answers: the verifier's fast path, built without SymPy.

Building SymPy objects is most of the cost of checking an answer (canonical ordering,
assumption queries, caches), and the default check only evaluates the answer
numerically. With :data:`LIGHT` the same parser (:mod:`.parser`: one grammar, one set of
syntax refusals) builds a small tree of the node types below instead, which the numeric
evaluator walks like a SymPy tree (``args``, ``is_Integer``, ``p``/``q``,
``free_symbols``; leaves are the SymPy symbols and ``pi``/``E``).

It covers plain answers: numbers, the variable, constants of integration, ``pi``, ``e``,
sums, products, powers with a rational or symbolic exponent, functions of non-constant
arguments. Numbers are folded exactly as SymPy folds them (``0*x`` is 0, ``x/(1 - 1)`` a
division by zero). Wherever SymPy's construction could decide something itself, the
builder raises :class:`Defer` and the caller parses the text again with SymPy: a
function of a constant (SymPy may turn ``log(-1)`` into ``I*pi``, ``log(0)`` into
``zoo``, both refused), a constant under a non-integer power (``sqrt(-1)``), numbers or
exponents beyond small bounds (SymPy's guards in :mod:`.build` refuse some of those),
``log`` with a base, ``root``. The verifier trusts a light tree only for verdicts that
SymPy's tree would give too (see ``verify/checker.py``).
"""

from __future__ import annotations

from math import gcd
from typing import Any

import sympy

from . import build
from .errors import ParseError
from .limits import ParseLimits

__all__ = ["Defer", "LIGHT", "Node", "Number", "Add", "Mul", "Pow", "Function", "FUNCTION_CLASSES"]

_MAX_BITS = 256  # a folded number larger than this: SymPy's bounds decide
_MAX_INT_POWER = 64  # number**n folded here up to this n
_MAX_EXPONENT = 1000  # |p|, q of a rational exponent of a symbolic base


class Defer(Exception):
    """The text needs SymPy's construction (parse it with :func:`parse_expression`)."""


class Node:
    """An inner node: ``args`` and whether it is free of symbols (``constant``)."""

    __slots__ = ("args", "constant", "_key")
    is_Add = is_Mul = is_Pow = is_Number = is_Integer = is_Rational = is_Atom = is_Symbol = False

    def __init__(self, args: tuple, constant: bool) -> None:
        self.args = args
        self.constant = constant
        self._key = None

    def key(self) -> tuple:
        """Structural identity (what SymPy's equality compares), computed once."""
        if self._key is None:
            self._key = (type(self).__name__, *(_key(a) for a in self.args))
        return self._key

    @property
    def free_symbols(self) -> set:
        out: set = set()
        stack = list(self.args)
        while stack:
            node = stack.pop()
            if isinstance(node, Node):
                stack.extend(node.args)
            elif node.is_Symbol:
                out.add(node)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.args!r}"


class Number(Node):
    """The rational ``p/q`` (``q > 0``, reduced)."""

    __slots__ = ("p", "q")
    is_Number = is_Rational = is_Atom = True

    def __init__(self, p: int, q: int = 1) -> None:
        super().__init__((), True)
        self.p = p
        self.q = q
        self._key = ("Number", p, q)

    @property
    def is_Integer(self) -> bool:  # type: ignore[override]
        return self.q == 1

    def __repr__(self) -> str:
        return f"{self.p}" if self.q == 1 else f"{self.p}/{self.q}"


class Add(Node):
    __slots__ = ()
    is_Add = True


class Mul(Node):
    __slots__ = ()
    is_Mul = True


class Pow(Node):
    __slots__ = ()
    is_Pow = True


class Function(Node):
    """``sympy_class`` of the one argument; a subclass per function, so that the
    evaluator finds the handler of the SymPy class by the node's type."""

    __slots__ = ()
    sympy_class: Any = None


FUNCTION_CLASSES: dict[Any, type] = {
    cls: type(cls.__name__, (Function,), {"__slots__": (), "sympy_class": cls})
    for cls in sorted(build.ALLOWED_FUNCTIONS, key=lambda c: c.__name__)
}

ZERO, ONE, MINUS_ONE, HALF, THIRD = Number(0), Number(1), Number(-1), Number(1, 2), Number(1, 3)


def _is_constant(value: Any) -> bool:
    return value.constant if isinstance(value, Node) else not value.is_Symbol


def _key(value: Any) -> Any:
    return value.key() if isinstance(value, Node) else value  # SymPy leaves: symbols, pi, E


def _term_key(term: Any) -> Any:
    """What SymPy's ``Add`` collects by: the term without its numeric coefficient."""
    if isinstance(term, Mul) and isinstance(term.args[0], Number):
        rest = term.args[1:]
        return _key(rest[0]) if len(rest) == 1 else ("Mul", *(_key(a) for a in rest))
    return _key(term)


def _base_key(factor: Any) -> Any:
    """What SymPy's ``Mul`` collects by: the base of a power (``exp(u)`` is ``E**u``)."""
    if isinstance(factor, Pow):
        factor = factor.args[0]
    if isinstance(factor, FUNCTION_CLASSES[sympy.exp]):
        return sympy.E
    return _key(factor)


def _no_repeats(keys: list) -> None:
    """SymPy would collect repeated terms (``x - x`` is 0, ``x/x`` is 1), and a collected
    constant can change what SymPy builds around it (``sqrt(x - x - 1)`` is ``I``,
    refused): such texts go to SymPy. Answers rarely repeat a term."""
    if len(set(keys)) < len(keys):
        raise Defer


def _number(p: int, q: int = 1) -> Number:
    if q < 0:
        p, q = -p, -q
    g = gcd(p, q)
    if g > 1:
        p, q = p // g, q // g
    if p.bit_length() > _MAX_BITS or q.bit_length() > _MAX_BITS:
        raise Defer
    return Number(p, q)


def make_number(text: str, limits: ParseLimits, position: int) -> Number:
    return _number(*build.decimal_value(text, limits, position))


def make_sum(terms: list, limits: ParseLimits) -> Any:
    if len(terms) == 1:
        return terms[0]
    flat: list = []
    p, q = 0, 1  # the numbers, summed exactly
    for term in terms:
        for t in term.args if isinstance(term, Add) else (term,):
            if isinstance(t, Number):
                p, q = p * t.q + t.p * q, q * t.q
            else:
                flat.append(t)
    _no_repeats([_term_key(t) for t in flat])
    if p:
        flat.append(_number(p, q))
    if not flat:
        return ZERO
    if len(flat) == 1:
        return flat[0]
    return Add(tuple(flat), all(_is_constant(t) for t in flat))


def make_product(factors: list, limits: ParseLimits) -> Any:
    if len(factors) == 1:
        return factors[0]
    flat: list = []
    p, q = 1, 1  # the numeric coefficient, multiplied exactly
    for factor in factors:
        for f in factor.args if isinstance(factor, Mul) else (factor,):
            if isinstance(f, Number):
                p, q = p * f.p, q * f.q
            else:
                flat.append(f)
    if not p:
        return ZERO  # SymPy's 0*x: a light tree holds no infinity that would make it nan
    _no_repeats([_base_key(f) for f in flat])
    coeff = _number(p, q) if p != q else ONE
    if coeff is not ONE and len(flat) == 1 and isinstance(flat[0], Add):
        # SymPy distributes a number over a sum: 2*(x + 1) is 2*x + 2.
        return make_sum([make_product([coeff, t], limits) for t in flat[0].args], limits)
    if coeff is not ONE or not flat:
        flat.insert(0, coeff)
    if len(flat) == 1:
        return flat[0]
    return Mul(tuple(flat), all(_is_constant(f) for f in flat))


def negate(value: Any) -> Any:
    if isinstance(value, Number):
        return Number(-value.p, value.q)
    return make_product([MINUS_ONE, value], None)  # type: ignore[arg-type]


def reciprocal(value: Any, limits: ParseLimits, position: int | None = None) -> Any:
    if isinstance(value, Number):
        if value.p == 0:
            raise ParseError("division by zero", position)
        return _number(value.q, value.p)
    # As SymPy builds them: 1/(2*x) is x**-1/2, 1/x**2 is x**-2.
    if isinstance(value, Mul):
        return make_product([reciprocal(f, limits, position) for f in value.args], limits)
    if isinstance(value, Pow) and isinstance(value.args[1], Number):
        e = value.args[1]
        return power(value.args[0], Number(-e.p, e.q), limits, position)
    return Pow((value, MINUS_ONE), _is_constant(value))


def _numeric_bits(base: Any) -> int:
    """Bits of the numbers SymPy would raise to the power along with ``base`` (its
    ``_is_eager`` cases: a numeric factor of a product, the number under a power)."""
    if isinstance(base, Mul):
        return max((max(f.p.bit_length(), f.q.bit_length()) for f in base.args if isinstance(f, Number)), default=0)
    if isinstance(base, Pow) and isinstance(base.args[0], Number):
        b = base.args[0]
        return max(b.p.bit_length(), b.q.bit_length())
    return 0


def power(base: Any, exp: Any, limits: ParseLimits, position: int | None = None) -> Any:
    if isinstance(exp, Number):
        p, q = exp.p, exp.q
        if isinstance(base, Number):
            if q != 1 or abs(p) > _MAX_INT_POWER or (p < 0 and base.p == 0):
                raise Defer
            return _number(base.p**p, base.q**p) if p >= 0 else _number(base.q**-p, base.p**-p)
        if _is_constant(base) or max(abs(p), q) > _MAX_EXPONENT:
            raise Defer
        if isinstance(base, (Mul, Pow, FUNCTION_CLASSES[sympy.exp])):
            raise Defer  # SymPy rewrites (2*x)**2, (x**2)**3, exp(x)**2; let it
        bits = _numeric_bits(base)
        if bits * abs(p) > limits.max_number_bits or (q != 1 and bits > limits.max_root_bits):
            raise Defer
        if p == 0:
            return ONE
        if p == 1 and q == 1:
            return base
        return Pow((base, exp), False)
    if _is_constant(exp):
        raise Defer  # x**pi, 2**sqrt(2): SymPy's guards bound those
    return Pow((base, exp), False)


def absolute(value: Any, limits: ParseLimits, position: int | None) -> Any:
    return _apply(sympy.Abs, value)


def _apply(cls: Any, arg: Any) -> Any:
    if _is_constant(arg):
        raise Defer
    return FUNCTION_CLASSES[cls]((arg,), False)


def _unary(cls: Any):
    def make(args: list, limits: ParseLimits, position: int | None) -> Any:
        return _apply(cls, args[0])

    return make


def _log(args: list, limits: ParseLimits, position: int | None) -> Any:
    if len(args) != 1:
        raise Defer
    return _apply(sympy.log, args[0])


def _defer(args: list, limits: ParseLimits, position: int | None) -> Any:
    raise Defer


def _light_functions() -> dict:
    """The answer functions of :mod:`.build` (same names, same argument counts)."""
    by_class = {cls: _unary(cls) for cls in FUNCTION_CLASSES}
    special = {
        "log": _log, "ln": _log, "root": _defer,
        "sqrt": lambda args, limits, position: power(args[0], HALF, limits, position),
        "cbrt": lambda args, limits, position: power(args[0], THIRD, limits, position),
    }
    table = {}
    for name, (_, lo, hi) in build.ANSWER_FUNCTIONS.items():
        if name in special:
            table[name] = (special[name], lo, hi)
            continue
        cls = build.ANSWER_CLASSES[name]
        table[name] = (by_class[cls], lo, hi)
    return table


_ANSWER_FUNCTIONS = _light_functions()
# Problems: the same, and the problem-only functions (floor, Max...) go to SymPy.
_PROBLEM_FUNCTIONS = {**_ANSWER_FUNCTIONS, **{name: (_defer, lo, hi) for name, (_, lo, hi) in
                                              build.PROBLEM_FUNCTIONS.items() if name not in _ANSWER_FUNCTIONS}}


class LightBuilder:
    """The parser's builder for light trees (see :class:`.build.SympyBuilder`)."""

    answer_functions = _ANSWER_FUNCTIONS
    problem_functions = _PROBLEM_FUNCTIONS

    @staticmethod
    def check_tree(tree: Any) -> None:
        """Only light nodes, symbols, ``pi`` and ``E``: the parser hands a problem's ``oo``
        straight through, which SymPy's gate refuses in an integrand."""
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Node):
                stack.extend(node.args)
            elif not (node.is_Symbol or node is sympy.pi or node is sympy.E):
                raise Defer
    half = HALF
    make_number = staticmethod(make_number)
    make_sum = staticmethod(make_sum)
    make_product = staticmethod(make_product)
    negate = staticmethod(negate)
    reciprocal = staticmethod(reciprocal)
    power = staticmethod(power)
    absolute = staticmethod(absolute)

    @staticmethod
    def bounded(value: Any, limits: ParseLimits, position: int | None = None) -> Any:
        return value  # every constant here is small (see power and _number)

    @staticmethod
    def integer(n: int) -> Number:
        return _number(n)

    @staticmethod
    def minus(value: Any, limits: ParseLimits) -> Any:
        return negate(value)

    @staticmethod
    def is_minus_one(value: Any) -> bool:
        return isinstance(value, Number) and value.p == -1 and value.q == 1

    @staticmethod
    def positive_integer(value: Any) -> int | None:
        return value.p if isinstance(value, Number) and value.q == 1 and value.p > 0 else None


LIGHT = LightBuilder()
