"""Guarded SymPy constructors: the only place the parser creates SymPy objects.

SymPy evaluates on construction, which is cheap for small objects and catastrophic for
``9**9**9`` or ``(2*x)**(10**30)`` (it distributes and computes ``2**(10**30)``).  Every
power goes through :func:`safe_pow`, which bounds the exponent and the estimated size of
the result before SymPy sees it.  :func:`check_tree` is the last gate: the finished
expression may only contain the node types listed in ``ALLOWED_FUNCTIONS`` and friends.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy import Add, Float, Integer, Mul, Pow, Rational, Symbol

from .errors import ParseError
from .limits import ParseLimits

ZERO = sympy.S.Zero
ONE = sympy.S.One
MINUS_ONE = sympy.S.NegativeOne
HALF = sympy.S.Half
THIRD = Rational(1, 3)


def make_number(text: str, limits: ParseLimits, position: int) -> sympy.Expr:
    """An exact SymPy number for a decimal literal.

    Decimals become exact rationals (``0.5`` -> ``1/2``, ``1e-3`` -> ``1/1000``) so that
    ``x**0.5`` is ``sqrt(x)`` and answers compare exactly; no ``Float`` is ever built.
    """
    p, q = decimal_value(text, limits, position)
    return Integer(p) if q == 1 else Rational(p, q)


def decimal_value(text: str, limits: ParseLimits, position: int) -> tuple[int, int]:
    """``(p, q)`` with ``p/q`` exactly the decimal literal ``text`` (not reduced)."""
    mantissa, _, exp_text = text.replace("E", "e").partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    if len(digits) > limits.max_digits:
        raise ParseError(f"number with more than {limits.max_digits} digits", position)
    if not exp_text and not frac_part and "." not in mantissa:
        return int(int_part), 1
    shift = int(exp_text) if exp_text else 0
    if abs(shift) > limits.max_decimal_exponent:
        raise ParseError(f"decimal exponent beyond +-{limits.max_decimal_exponent}", position)
    value = int(int_part + frac_part) if (int_part + frac_part) else 0
    shift -= len(frac_part)
    if shift >= 0:
        return value * 10**shift, 1
    return value, 10 ** (-shift)


# id(expr) -> (expr, constant?). Keyed by identity, not equality: an equality lookup that
# hits an equal but distinct tree (the parser builds new objects every parse) compares
# the two trees node by node, which cost more than the memo saved. Holding ``expr``
# keeps its id from being reused while the entry lives.
_CONSTANT_CACHE: dict[int, tuple] = {}


def clear_memos() -> None:
    """Forget the memos of :func:`is_constant` and :func:`bounded` (benchmarks measure cold parses)."""
    _CONSTANT_CACHE.clear()
    _SEEN_BOUNDED.clear()


def is_constant(expr: sympy.Expr) -> bool:
    """No symbol inside: SymPy's ``is_number``, memoised (it recomputes on every call)."""
    if expr.is_Atom:
        return not expr.is_Symbol
    entry = _CONSTANT_CACHE.get(id(expr))
    if entry is not None and entry[0] is expr:
        return entry[1]
    known = all(is_constant(arg) for arg in expr.args)
    if len(_CONSTANT_CACHE) > 8192:
        _CONSTANT_CACHE.clear()
    _CONSTANT_CACHE[id(expr)] = (expr, known)
    return known


def _number_bits(expr: sympy.Expr) -> int:
    """Largest bit length of any rational inside ``expr`` (a small tree)."""
    best = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_Rational:
            best = max(best, int(node.p).bit_length(), int(node.q).bit_length())
        else:
            stack.extend(node.args)
    return best


def _is_eager(base: sympy.Expr) -> bool:
    """Whether SymPy would evaluate ``base**n`` numerically (and so could blow up)."""
    if is_constant(base):
        return base not in (ONE, MINUS_ONE, ZERO)
    if base.is_Mul:
        return any(a is not MINUS_ONE and is_constant(a) for a in base.args)
    if base.is_Pow:
        return is_constant(base.base)
    return False


def safe_pow(base: sympy.Expr, exp: sympy.Expr, limits: ParseLimits, position: int | None = None) -> sympy.Expr:
    """``base**exp`` after checking that SymPy's eager evaluation stays small."""
    if exp.is_Rational:
        p, q = int(exp.p), int(exp.q)
        size = max(abs(p), q)
        if _is_eager(base):
            if size > limits.max_exponent:
                raise ParseError(f"exponent too large (|p|, q > {limits.max_exponent})", position)
            bits = _number_bits(base)
            if bits * abs(p) > limits.max_number_bits:
                raise ParseError("numeric power too large", position)
            if q != 1 and bits > limits.max_root_bits:
                raise ParseError("root of a too large number", position)
        elif size > limits.max_symbolic_exponent:
            raise ParseError(f"exponent too large (|p|, q > {limits.max_symbolic_exponent})", position)
    elif is_constant(exp):
        # SymPy folds (b**u)**v into b**(u*v), and u*v may be a huge rational even
        # when neither u nor v is (u = (-1)**(1/3), v = 10**27/(-1)**(1/3)).
        limit = limits.max_exponent if _is_eager(base) else limits.max_symbolic_exponent
        if _magnitude(exp, position) > limit:
            raise ParseError(f"exponent too large (> {limit})", position)
    result = Pow(base, exp)
    # (x**a)**b folds into x**(a*b): bound the folded exponent too.
    if result.is_Pow and result.exp.is_Rational and result.exp is not exp:
        if max(abs(int(result.exp.p)), int(result.exp.q)) > limits.max_symbolic_exponent:
            raise ParseError(f"exponent too large (|p|, q > {limits.max_symbolic_exponent})", position)
    return bounded(result, limits, position)


def bounded(expr: sympy.Expr, limits: ParseLimits, position: int | None = None) -> sympy.Expr:
    """Refuse a constant whose magnitude exceeds ``2**max_number_bits``.

    Applied to every node as it is built, so the children of a new node are already
    bounded and evaluating it at low precision is cheap.  Without this, ``exp(10**29)``
    is harmless on its own but ``sin(exp(10**29))`` makes any later assumption query
    (SymPy asks ``is_zero`` while building products) reduce the argument modulo pi to
    10**29 bits, which never finishes.
    """
    if expr.is_Rational:
        if max(int(expr.p).bit_length(), int(expr.q).bit_length()) > limits.max_number_bits:
            raise ParseError("number too large", position)
        return expr
    if expr.is_Atom:
        return expr
    if not is_constant(expr):
        # Products and sums combine their children (exp(a)*exp(b) -> exp(a + b)), so a
        # new constant can appear as a direct argument of a symbolic result.
        if expr.is_Mul or expr.is_Add:
            for arg in expr.args:
                if not arg.is_Atom and is_constant(arg):
                    _bounded_constant(arg, limits, position)
        return expr
    _bounded_constant(expr, limits, position)
    return expr


_SEEN_BOUNDED: dict = {}


def _bounded_constant(expr: sympy.Expr, limits: ParseLimits, position: int | None) -> None:
    key = (expr, limits.max_number_bits)
    if key in _SEEN_BOUNDED:
        return
    # Exponential growth: check the (already bounded, cheap) argument first, because
    # evaluating exp(N) costs time in the bit length of N (exp(5**999) takes 0.1 s).
    if type(expr) in _EXP_LIKE:
        _check_log_magnitude(_magnitude(expr.args[0], position) * 1.4427, limits, position)
    elif expr.is_Pow and not expr.exp.is_Rational:
        _check_log_magnitude(_magnitude(expr.exp, position) * max(_log2_abs(expr.base, position), 1.0), limits, position)
    _log2_abs(expr, position, limits)
    if len(_SEEN_BOUNDED) > 4096:
        _SEEN_BOUNDED.clear()
    _SEEN_BOUNDED[key] = True


_EXP_LIKE = frozenset({sympy.exp, sympy.sinh, sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch})


def _check_log_magnitude(log2_value: float, limits: ParseLimits, position: int | None) -> None:
    if log2_value > limits.max_number_bits:
        raise ParseError("constant too large", position)


def _magnitude(expr: sympy.Expr, position: int | None) -> float:
    """``|expr|`` as a float (may be inf) for an already bounded constant."""
    if expr.is_Rational and max(int(expr.p).bit_length(), int(expr.q).bit_length()) < 1000:
        return abs(float(expr))
    log2 = _log2_abs(expr, position)
    return 2.0**log2 if log2 < 1000 else float("inf")


def _log2_abs(expr: sympy.Expr, position: int | None, limits: ParseLimits | None = None) -> float:
    """Upper bound on ``log2|expr|`` from a 3-digit evaluation; refuses if over the limit."""
    if expr.is_Rational:
        return float(int(abs(expr.p)).bit_length() - int(expr.q).bit_length() + 1)
    try:
        value = expr.evalf(3)
    except Exception:  # noqa: BLE001 - any failure to evaluate is a refusal
        raise ParseError("cannot evaluate constant", position) from None
    best = float("-inf")
    for part in (value,) if value.is_Float else value.atoms(Float):
        mpf = part._mpf_
        if mpf[1]:
            best = max(best, float(mpf[2] + mpf[3]))
    if limits is not None:
        _check_log_magnitude(best, limits, position)
    return best


def make_sum(terms: list[sympy.Expr], limits: ParseLimits) -> sympy.Expr:
    return terms[0] if len(terms) == 1 else bounded(Add(*terms), limits)


def make_product(factors: list[sympy.Expr], limits: ParseLimits) -> sympy.Expr:
    return factors[0] if len(factors) == 1 else bounded(Mul(*factors), limits)


def negate(expr: sympy.Expr) -> sympy.Expr:
    return Mul(MINUS_ONE, expr)


def reciprocal(expr: sympy.Expr, limits: ParseLimits, position: int | None = None) -> sympy.Expr:
    if expr is ZERO:
        raise ParseError("division by zero", position)
    return safe_pow(expr, MINUS_ONE, limits, position)


# ---------------------------------------------------------------- function builders


def _unary(cls, eager: bool = True):
    """Builder for ``cls(arg)``. ``eager=False`` (answers) keeps a symbolic argument as
    written: SymPy's ``eval`` of one only rewrites (``sin(-x)`` -> ``-sin(x)``,
    ``acos(-x)`` -> ``pi - acos(x)``) and asks the assumption system about the whole
    argument first, which costs milliseconds for ``log((x - 1)/(x + 1))`` — most of a
    verifier check. Answers are only ever evaluated numerically (or handed to SymPy,
    which evaluates on its own), so nothing is lost. Constant arguments always evaluate:
    :func:`bounded` needs their values."""

    def build(args, limits, position):
        arg = args[0]
        return cls(arg) if eager or is_constant(arg) else cls(arg, evaluate=False)

    return build


def _abs(args, limits, position):
    arg = args[0]
    # Evaluated on rationals only: SymPy rewrites Abs(exp(x)) as exp(re(x)) (``re`` is
    # not a node the numeric verifier knows) and expands Abs of a nested complex constant
    # through as_real_imag, which grows exponentially with the nesting.
    return sympy.Abs(arg) if arg.is_Rational else sympy.Abs(arg, evaluate=False)


def _sign(args, limits, position):
    arg = args[0]
    return sympy.sign(arg) if arg.is_Rational else sympy.sign(arg, evaluate=False)


def _sqrt(args, limits, position):
    return safe_pow(args[0], HALF, limits, position)


def _cbrt(args, limits, position):
    return safe_pow(args[0], THIRD, limits, position)


def _root(args, limits, position):
    index = args[1]
    if not (index.is_Integer and index != 0):
        raise ParseError("root index must be a non-zero integer", position)
    return safe_pow(args[0], reciprocal(index, limits, position), limits, position)


def _logarithm(eager: bool):
    """Builder for ``log(a)`` and ``log(a, b)`` (``eager`` as in :func:`_unary`)."""
    log = _unary(sympy.log, eager)

    def build(args, limits, position):
        if len(args) == 1:
            return log(args, limits, position)
        base = args[1]
        if base is ZERO or base is ONE:
            raise ParseError("logarithm base must not be 0 or 1", position)
        return Mul(log(args, limits, position), safe_pow(sympy.log(base), MINUS_ONE, limits, position))

    return build


def _minmax(cls):
    def build(args, limits, position):
        return cls(*args)

    return build


# name written in text -> (builder, min args, max args)
FunctionSpec = tuple

_TRIG = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot,
    "sec": sympy.sec, "csc": sympy.csc,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "acot": sympy.acot,
    "asec": sympy.asec, "acsc": sympy.acsc,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "coth": sympy.coth,
    "sech": sympy.sech, "csch": sympy.csch,
    "asinh": sympy.asinh, "acosh": sympy.acosh, "atanh": sympy.atanh,
    "acoth": sympy.acoth, "asech": sympy.asech, "acsch": sympy.acsch,
}


def _function_classes() -> dict[str, Any]:
    """Name written in text -> SymPy class, for the one-argument functions."""
    names: dict[str, Any] = dict(_TRIG)
    for name, cls in _TRIG.items():
        if name.startswith("a"):
            names["arc" + name[1:]] = cls  # arcsin, arcsinh...
            if name.endswith("h"):
                names["ar" + name[1:]] = cls  # arsinh (ISO)
    names.update({"cosec": sympy.csc, "exp": sympy.exp, "abs": sympy.Abs, "Abs": sympy.Abs,
                  "sign": sympy.sign, "sgn": sympy.sign})
    return names


ANSWER_CLASSES: dict[str, Any] = _function_classes()


def _functions(eager: bool) -> dict[str, FunctionSpec]:
    """The functions a text may call, built eagerly (problems: they go on to CAS work
    such as variants and canonical forms) or lazily (answers, see :func:`_unary`)."""
    special = {sympy.Abs: _abs, sympy.sign: _sign}
    table: dict[str, FunctionSpec] = {
        name: (special.get(cls) or _unary(cls, eager), 1, 1) for name, cls in ANSWER_CLASSES.items()
    }
    log = (_logarithm(eager), 1, 2)
    table.update(
        {
            "log": log,
            "ln": (log[0], 1, 1),
            "sqrt": (_sqrt, 1, 1),
            "cbrt": (_cbrt, 1, 1),
            "root": (_root, 2, 2),
        }
    )
    return table


ANSWER_FUNCTIONS: dict[str, FunctionSpec] = _functions(eager=False)
PROBLEM_FUNCTIONS: dict[str, FunctionSpec] = _functions(eager=True)
PROBLEM_FUNCTIONS.update(
    {
        "floor": (_unary(sympy.floor), 1, 1),
        "ceiling": (_unary(sympy.ceiling), 1, 1),
        "ceil": (_unary(sympy.ceiling), 1, 1),
        "max": (_minmax(sympy.Max), 2, 16),
        "Max": (_minmax(sympy.Max), 2, 16),
        "min": (_minmax(sympy.Min), 2, 16),
        "Min": (_minmax(sympy.Min), 2, 16),
    }
)

# Inverse of f for the notation f^{-1}(x).
INVERSES = {name: "a" + name for name in _TRIG if not name.startswith("a")}
INVERSES["cosec"] = "acsc"

# -------------------------------------------------------------------- output gate

ALLOWED_FUNCTIONS: frozenset = frozenset(
    set(_TRIG.values()) | {sympy.exp, sympy.log, sympy.Abs, sympy.sign}
)
PROBLEM_ONLY_FUNCTIONS: frozenset = frozenset({sympy.floor, sympy.ceiling, sympy.Max, sympy.Min})

_CORE_TYPES = frozenset({Add, Mul, Pow, Symbol, type(sympy.pi), type(sympy.E)})
_INFINITIES = frozenset({type(sympy.oo), type(-sympy.oo)})


def rebuild(node: sympy.Expr, args: list, limits: ParseLimits) -> sympy.Expr:
    """``node.func(*args)`` through the same guards as the parser."""
    if node.is_Pow:
        return safe_pow(args[0], args[1], limits)
    if node.func is sympy.Abs:
        return _abs(args, limits, None)
    if node.func is sympy.sign:
        return _sign(args, limits, None)
    return bounded(node.func(*args), limits)


def check_tree(expr: sympy.Expr, *, problem: bool = False, allow_infinity: bool = False) -> None:
    """Refuse any node outside the whitelist (e.g. ``I`` from ``sqrt(-1)``, ``zoo``)."""
    allowed = _CORE_TYPES | ALLOWED_FUNCTIONS
    if problem:
        allowed = allowed | PROBLEM_ONLY_FUNCTIONS
    if allow_infinity:
        allowed = allowed | _INFINITIES
    stack = [expr]
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls in allowed:
            stack.extend(node.args)
        elif isinstance(node, (Rational, Float)):
            continue
        elif node is sympy.zoo or node is sympy.nan:
            raise ParseError("undefined value (division by zero or similar)")
        elif node is sympy.I:
            raise ParseError("non-real constant (e.g. sqrt of a negative number)")
        elif cls in _INFINITIES:
            raise ParseError("infinite value")
        else:
            raise ParseError(f"result contains unsupported node {cls.__name__}")


# ------------------------------------------------------------------ the parser's builder


class SympyBuilder:
    """What the parser calls to build values: guarded SymPy objects (the functions above).

    :mod:`.light` has the other builder, plain numeric trees for the verifier's fast
    path; the grammar, the name resolution and every syntax refusal stay in one parser.
    """

    answer_functions = ANSWER_FUNCTIONS
    problem_functions = PROBLEM_FUNCTIONS
    half = HALF
    make_number = staticmethod(make_number)
    make_sum = staticmethod(make_sum)
    make_product = staticmethod(make_product)
    negate = staticmethod(negate)
    reciprocal = staticmethod(reciprocal)
    power = staticmethod(safe_pow)
    bounded = staticmethod(bounded)

    @staticmethod
    def integer(n: int) -> sympy.Expr:
        return Integer(n)

    @staticmethod
    def minus(value: sympy.Expr, limits: ParseLimits) -> sympy.Expr:
        """Unary minus."""
        return -value if value.is_Number else bounded(negate(value), limits)

    @staticmethod
    def absolute(value: sympy.Expr, limits: ParseLimits, position: int | None) -> sympy.Expr:
        return bounded(_abs([value], limits, position), limits, position)

    @staticmethod
    def is_minus_one(value: sympy.Expr) -> bool:
        return value == MINUS_ONE

    @staticmethod
    def positive_integer(value: sympy.Expr) -> int | None:
        return int(value) if value.is_Integer and value > 0 else None


SYMPY = SympyBuilder()
