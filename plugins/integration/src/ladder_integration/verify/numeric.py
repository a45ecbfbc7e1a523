"""Tree-walking evaluation of a SymPy expression with forward-mode derivative.

Why not ``lambdify``: it builds Python source and calls ``exec``; here the tree is
walked directly over a whitelist of node types, so nothing a model writes is ever
compiled. Why forward mode: the derivative of the answer comes out exact up to
rounding (no finite differences), in one pass, for every sample point at once.

Values are complex so that ``log`` of a negative number, ``sqrt`` of a negative
number, ``asin(2)`` etc. take their principal branch instead of producing NaN;
the callers decide which points count as real. A derivative of ``None`` means
"identically zero" (the subtree does not depend on the variable), which lets
constant subtrees skip all derivative work and gives a value-only mode for free
(pass ``dx=None``).

Two backends share one evaluator: numpy complex128 arrays (fast, many points)
and mpmath scalars (slow, any precision; used to settle doubtful points and for
quadrature).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import mpmath
import numpy as np
import sympy

from ladder_integration.parsing import light

__all__ = ["UnsupportedExpression", "NumpyBackend", "MpmathBackend", "NUMPY", "MPMATH", "evaluate", "evaluate_tracked", "node_count"]


class UnsupportedExpression(ValueError):
    """The expression contains a node outside the evaluator's whitelist (or a stray symbol)."""


# ----------------------------------------------------------------------------- backends


class NumpyBackend:
    """numpy complex128 arrays. ``cut`` turns ``-0.0`` imaginary parts into ``+0.0`` so
    that a negative real number sits on the upper side of every branch cut, as in
    SymPy's and mpmath's principal branches."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tan = staticmethod(np.tan)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    tanh = staticmethod(np.tanh)
    asin = staticmethod(np.arcsin)
    acos = staticmethod(np.arccos)
    atan = staticmethod(np.arctan)
    asinh = staticmethod(np.arcsinh)
    acosh = staticmethod(np.arccosh)
    atanh = staticmethod(np.arctanh)
    power = staticmethod(np.power)
    # Constants are numpy scalars, not Python complex: ``1/0`` and ``(1e200)**2`` then
    # give inf/nan like the arrays do instead of raising.
    pi = np.complex128(math.pi)
    e = np.complex128(math.e)

    @staticmethod
    def cut(z: Any) -> Any:
        return z + 0.0

    @staticmethod
    def abs(z: Any) -> Any:
        return np.abs(z) + 0j

    @staticmethod
    def real(z: Any) -> Any:
        return np.real(z)

    @staticmethod
    def conj(z: Any) -> Any:
        return np.conjugate(z)

    @staticmethod
    def number(p: int, q: int = 1) -> np.complex128:
        try:
            return np.complex128(p / q)
        except OverflowError:
            return np.complex128(math.inf if p > 0 else -math.inf)

    @staticmethod
    def float_(node: sympy.Float) -> np.complex128:
        return np.complex128(float(node))

    @staticmethod
    def floor(z: Any) -> Any:
        return np.where(np.abs(np.imag(z)) <= 1e-12 * np.abs(z), np.floor(np.real(z)), np.nan) + 0j

    @staticmethod
    def ceil(z: Any) -> Any:
        return np.where(np.abs(np.imag(z)) <= 1e-12 * np.abs(z), np.ceil(np.real(z)), np.nan) + 0j

    @staticmethod
    def select(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    @staticmethod
    def is_real_ge(a: Any, b: Any) -> Any:
        """``a > b`` compared on real parts; NaN where either side is not real."""
        return np.real(a) > np.real(b)

    @staticmethod
    def nan_unless_real(z: Any) -> Any:
        return np.where(np.abs(np.imag(z)) <= 1e-12 * np.abs(z), z, np.nan)


_MP_MAX_MAG = 64  # |argument| beyond 2**64: no meaningful value, and mpmath may spend ages reducing it


def _mp_guard(fn: Callable[[Any], Any], part: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` refusing (OverflowError) arguments whose ``part`` is beyond 2**64: mpmath
    would reduce it modulo 2*pi with that many extra digits (``sin(1e90)``,
    ``exp(1e90*I)``), and no such value means anything for a float input."""

    def guarded(z: Any) -> Any:
        z = mpmath.mpmathify(z)
        p = part(z)
        if p and mpmath.mag(p) > _MP_MAX_MAG:
            raise OverflowError("argument too large for a meaningful value")
        return fn(z)

    return guarded


def _mp_power(b: Any, e: Any) -> Any:
    b, e = mpmath.mpmathify(b), mpmath.mpmathify(e)
    if b and e:
        w = e * mpmath.log(b)
        if mpmath.im(w) and mpmath.mag(mpmath.im(w)) > _MP_MAX_MAG:
            raise OverflowError("power too large for a meaningful value")
    return mpmath.power(b, e)


def _upper_side(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` on the upper side of its cut ``(1, inf)`` for real arguments, as numpy
    takes it: mpmath (no signed zero) puts ``asin(2)``, ``acos(2)``, ``atanh(2)`` on the
    lower side. Both backends must pick the same branch, or a recheck in mpmath would
    see a jump in the imaginary part that numpy does not."""

    def upper(z: Any) -> Any:
        z = mpmath.mpmathify(z)
        if mpmath.im(z) == 0 and mpmath.re(z) > 1:
            return mpmath.conj(fn(z))
        return fn(z)

    return upper


class MpmathBackend:
    """mpmath scalars at the caller's working precision (``mpmath.workdps``)."""

    exp = staticmethod(_mp_guard(mpmath.exp, mpmath.im))
    log = staticmethod(mpmath.log)
    sqrt = staticmethod(mpmath.sqrt)
    sin = staticmethod(_mp_guard(mpmath.sin, mpmath.re))
    cos = staticmethod(_mp_guard(mpmath.cos, mpmath.re))
    tan = staticmethod(_mp_guard(mpmath.tan, mpmath.re))
    sinh = staticmethod(_mp_guard(mpmath.sinh, mpmath.im))
    cosh = staticmethod(_mp_guard(mpmath.cosh, mpmath.im))
    tanh = staticmethod(_mp_guard(mpmath.tanh, mpmath.im))
    asin = staticmethod(_upper_side(mpmath.asin))
    acos = staticmethod(_upper_side(mpmath.acos))
    atan = staticmethod(mpmath.atan)
    asinh = staticmethod(mpmath.asinh)
    acosh = staticmethod(mpmath.acosh)
    atanh = staticmethod(_upper_side(mpmath.atanh))
    power = staticmethod(_mp_power)

    @property
    def pi(self) -> Any:
        return +mpmath.pi

    @property
    def e(self) -> Any:
        return +mpmath.e

    @staticmethod
    def cut(z: Any) -> Any:
        return z

    @staticmethod
    def abs(z: Any) -> Any:
        return abs(z)

    @staticmethod
    def real(z: Any) -> Any:
        return mpmath.re(z)

    @staticmethod
    def conj(z: Any) -> Any:
        return mpmath.conj(z)

    @staticmethod
    def number(p: int, q: int = 1) -> Any:
        return mpmath.mpf(p) / q

    @staticmethod
    def float_(node: sympy.Float) -> Any:
        return mpmath.mpf(node._mpf_)

    @staticmethod
    def _realish(z: Any) -> bool:
        return abs(mpmath.im(z)) <= mpmath.mpf(10) ** (-mpmath.mp.dps + 5) * abs(z)

    @classmethod
    def floor(cls, z: Any) -> Any:
        return mpmath.floor(mpmath.re(z)) if cls._realish(z) else mpmath.nan

    @classmethod
    def ceil(cls, z: Any) -> Any:
        return mpmath.ceil(mpmath.re(z)) if cls._realish(z) else mpmath.nan

    @staticmethod
    def select(cond: bool, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def is_real_ge(a: Any, b: Any) -> bool:
        return mpmath.re(a) > mpmath.re(b)

    @classmethod
    def nan_unless_real(cls, z: Any) -> Any:
        return z if cls._realish(z) else mpmath.nan


NUMPY = NumpyBackend()
MPMATH = MpmathBackend()

# ----------------------------------------------------------------------------- evaluator

Pair = tuple  # (value, derivative or None)


def _add(d1: Any, d2: Any) -> Any:
    if d1 is None:
        return d2
    if d2 is None:
        return d1
    return d1 + d2


def _scale(d: Any, factor: Any) -> Any:
    return None if d is None else d * factor


class _Evaluator:
    __slots__ = ("B", "var", "x", "dx", "cond", "consts")

    def __init__(self, backend: Any, var: sympy.Symbol, x: Any, dx: Any, track: bool = False,
                 consts: dict | None = None) -> None:
        self.B = backend
        self.var = var
        self.x = x
        self.dx = dx
        self.cond = 1.0 if track else None
        self.consts = consts

    def ev(self, node: Any) -> Pair:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            handler = _fallback_handler(node)
        return handler(self, node)


def _h_symbol(e: _Evaluator, node: sympy.Symbol) -> Pair:
    if node == e.var:
        return e.x, e.dx
    if e.consts is not None and node in e.consts:
        return e.consts[node], None
    raise UnsupportedExpression(f"unknown symbol {node.name!r}")


def _h_integer(e: _Evaluator, node: Any) -> Pair:
    return e.B.number(int(node.p)), None


def _h_rational(e: _Evaluator, node: Any) -> Pair:
    return e.B.number(int(node.p), int(node.q)), None


def _h_float(e: _Evaluator, node: Any) -> Pair:
    return e.B.float_(node), None


def _h_pi(e: _Evaluator, node: Any) -> Pair:
    return e.B.pi, None


def _h_e(e: _Evaluator, node: Any) -> Pair:
    return e.B.e, None


def _h_add(e: _Evaluator, node: Any) -> Pair:
    ev = e.ev
    args = node.args
    v, d = ev(args[0])
    if e.cond is not None:
        return _add_tracked(e, v, d, [ev(arg) for arg in args[1:]])
    for arg in args[1:]:
        v2, d2 = ev(arg)
        v = v + v2
        if d2 is not None:
            d = d2 if d is None else d + d2
    return v, d


def _add_tracked(e: _Evaluator, v: Any, d: Any, rest: list) -> Pair:
    """A sum that also records how much it cancels: ``sum |terms| / |sum|``, the factor
    by which rounding errors of the terms grow (digits lost: its log10)."""
    absolute = abs if e.B is MPMATH else np.abs
    mv = absolute(v)
    md = 0.0 if d is None else absolute(d)
    for v2, d2 in rest:
        v = v + v2
        mv = mv + absolute(v2)
        if d2 is not None:
            d = d2 if d is None else d + d2
            md = md + absolute(d2)
    if e.B is MPMATH:
        e.cond = max(e.cond, _mp_ratio(mv, v), _mp_ratio(md, d))
        return v, d
    ratio = np.maximum(mv / np.abs(v), 1.0)
    if d is not None:
        ratio = np.maximum(ratio, md / np.abs(d))
    e.cond = np.fmax(e.cond, np.where(np.isnan(ratio), np.inf, ratio))
    return v, d


def _mp_ratio(total: Any, s: Any) -> Any:
    """``total / |s|`` for mpmath scalars: 1 without cancellation, inf when it is total."""
    if s is None or not total:
        return 1
    a = abs(s)
    if not a:
        return mpmath.inf
    return total / a


def _h_mul(e: _Evaluator, node: Any) -> Pair:
    ev = e.ev
    args = node.args
    v, d = ev(args[0])
    for arg in args[1:]:
        v2, d2 = ev(arg)
        if d is None:
            d = None if d2 is None else v * d2
        elif d2 is None:
            d = d * v2
        else:
            d = d * v2 + v * d2
        v = v * v2
    return v, d


def _h_pow(e: _Evaluator, node: Any) -> Pair:
    B = e.B
    base, expo = node.args
    bv, bd = e.ev(base)
    if expo.is_Integer:
        n = int(expo.p)
        if n == -1:
            v = 1 / bv
            return v, None if bd is None else -bd * v * v
        if n == 2:
            return bv * bv, None if bd is None else 2 * bv * bd
        if abs(n) <= 64:
            pm1 = bv ** (n - 1) if n - 1 >= 0 else 1 / bv ** (1 - n)
            return pm1 * bv, None if bd is None else n * pm1 * bd
        v = B.power(B.cut(bv), B.number(n))
        return v, None if bd is None else B.number(n) * v / bv * bd
    if expo.is_Rational:
        p, q = int(expo.p), int(expo.q)
        if q == 2 and p in (1, -1):
            s = B.sqrt(B.cut(bv))
            if p == 1:
                return s, None if bd is None else bd / (2 * s)
            v = 1 / s
            return v, None if bd is None else -bd * v / (2 * bv)
        ex = B.number(p, q)
        v = B.power(B.cut(bv), ex)
        return v, None if bd is None else ex * v / bv * bd
    ev_, ed = e.ev(expo)
    if ed is None:  # constant but not a plain number, e.g. x**pi
        v = B.power(B.cut(bv), ev_)
        return v, None if bd is None else ev_ * v / bv * bd
    logb = B.log(B.cut(bv))
    v = B.exp(ev_ * logb)
    d = ed * logb
    if bd is not None:
        d = d + ev_ * bd / bv
    return v, v * d


def _unary(value: Callable[[Any, Any], Any], deriv: Callable[[Any, Any, Any], Any]) -> Callable[[_Evaluator, Any], Pair]:
    """Handler for ``f(u)``: ``value(B, u)`` and ``f'(u)`` as ``deriv(B, u, f(u))``."""

    def handler(e: _Evaluator, node: Any) -> Pair:
        uv, ud = e.ev(node.args[0])
        v = value(e.B, uv)
        return v, None if ud is None else deriv(e.B, uv, v) * ud

    return handler


def _reciprocal_arg(inner: Callable[[_Evaluator, Any, Any], Pair]) -> Callable[[_Evaluator, Any], Pair]:
    """Handler for ``acot(u) = atan(1/u)`` and friends (SymPy's and mpmath's conventions)."""

    def handler(e: _Evaluator, node: Any) -> Pair:
        uv, ud = e.ev(node.args[0])
        w = 1 / uv
        return inner(e, w, None if ud is None else -ud * w * w)

    return handler


def _apply(value: Callable[[Any, Any], Any], deriv: Callable[[Any, Any, Any], Any]) -> Callable[[_Evaluator, Any, Any], Pair]:
    def inner(e: _Evaluator, uv: Any, ud: Any) -> Pair:
        v = value(e.B, uv)
        return v, None if ud is None else deriv(e.B, uv, v) * ud

    return inner


_ASIN = (lambda B, u: B.asin(B.cut(u)), lambda B, u, v: 1 / B.sqrt(B.cut(1 - u * u)))
_ACOS = (lambda B, u: B.acos(B.cut(u)), lambda B, u, v: -1 / B.sqrt(B.cut(1 - u * u)))
_ATAN = (lambda B, u: B.atan(B.cut(u)), lambda B, u, v: 1 / (1 + u * u))
_ASINH = (lambda B, u: B.asinh(B.cut(u)), lambda B, u, v: 1 / B.sqrt(B.cut(u * u + 1)))
_ACOSH = (lambda B, u: B.acosh(B.cut(u)), lambda B, u, v: 1 / (B.sqrt(B.cut(u - 1)) * B.sqrt(B.cut(u + 1))))
_ATANH = (lambda B, u: B.atanh(B.cut(u)), lambda B, u, v: 1 / (1 - u * u))


def _h_abs(e: _Evaluator, node: Any) -> Pair:
    B = e.B
    uv, ud = e.ev(node.args[0])
    a = B.abs(uv)
    if ud is None:
        return a, None
    # d|u|/dx along the real line, also right when u itself is complex.
    return a, B.real(B.conj(uv) * ud) / a


def _h_sign(e: _Evaluator, node: Any) -> Pair:
    uv, _ = e.ev(node.args[0])
    return uv / e.B.abs(uv), None


def _h_floor(e: _Evaluator, node: Any) -> Pair:
    uv, _ = e.ev(node.args[0])
    return e.B.floor(uv), None


def _h_ceiling(e: _Evaluator, node: Any) -> Pair:
    uv, _ = e.ev(node.args[0])
    return e.B.ceil(uv), None


def _minmax(take_larger: bool) -> Callable[[_Evaluator, Any], Pair]:
    def handler(e: _Evaluator, node: Any) -> Pair:
        B = e.B
        pairs = [e.ev(a) for a in node.args]
        v, d = pairs[0]
        v = B.nan_unless_real(v)
        for v2, d2 in pairs[1:]:
            v2 = B.nan_unless_real(v2)
            take = B.is_real_ge(v2, v) if take_larger else B.is_real_ge(v, v2)
            if d is not None or d2 is not None:
                d = B.select(take, 0 if d2 is None else d2, 0 if d is None else d)
            v = B.select(take, v2, v)
        return v, d

    return handler


_HANDLERS: dict[type, Callable[[_Evaluator, Any], Pair]] = {
    sympy.Symbol: _h_symbol,
    sympy.Add: _h_add,
    sympy.Mul: _h_mul,
    sympy.Pow: _h_pow,
    sympy.Float: _h_float,
    type(sympy.pi): _h_pi,
    type(sympy.E): _h_e,
    sympy.exp: _unary(lambda B, u: B.exp(u), lambda B, u, v: v),
    sympy.log: _unary(lambda B, u: B.log(B.cut(u)), lambda B, u, v: 1 / u),
    sympy.sin: _unary(lambda B, u: B.sin(u), lambda B, u, v: B.cos(u)),
    sympy.cos: _unary(lambda B, u: B.cos(u), lambda B, u, v: -B.sin(u)),
    sympy.tan: _unary(lambda B, u: B.tan(u), lambda B, u, v: 1 + v * v),
    sympy.cot: _unary(lambda B, u: 1 / B.tan(u), lambda B, u, v: -(1 + v * v)),
    sympy.sec: _unary(lambda B, u: 1 / B.cos(u), lambda B, u, v: v * B.tan(u)),
    sympy.csc: _unary(lambda B, u: 1 / B.sin(u), lambda B, u, v: -v / B.tan(u)),
    sympy.sinh: _unary(lambda B, u: B.sinh(u), lambda B, u, v: B.cosh(u)),
    sympy.cosh: _unary(lambda B, u: B.cosh(u), lambda B, u, v: B.sinh(u)),
    sympy.tanh: _unary(lambda B, u: B.tanh(u), lambda B, u, v: 1 - v * v),
    sympy.coth: _unary(lambda B, u: 1 / B.tanh(u), lambda B, u, v: 1 - v * v),
    sympy.sech: _unary(lambda B, u: 1 / B.cosh(u), lambda B, u, v: -v * B.tanh(u)),
    sympy.csch: _unary(lambda B, u: 1 / B.sinh(u), lambda B, u, v: -v / B.tanh(u)),
    sympy.asin: _unary(*_ASIN),
    sympy.acos: _unary(*_ACOS),
    sympy.atan: _unary(*_ATAN),
    sympy.asinh: _unary(*_ASINH),
    sympy.acosh: _unary(*_ACOSH),
    sympy.atanh: _unary(*_ATANH),
    # The continuous arccot of calculus tables (range (0, pi)), not SymPy's atan(1/u),
    # which jumps by pi at 0: int -1/(1 + x**2) dx = acot(x) must hold across 0.
    sympy.acot: _unary(lambda B, u: B.pi / 2 - B.atan(B.cut(u)), lambda B, u, v: -1 / (1 + u * u)),
    sympy.asec: _reciprocal_arg(_apply(*_ACOS)),
    sympy.acsc: _reciprocal_arg(_apply(*_ASIN)),
    sympy.acoth: _reciprocal_arg(_apply(*_ATANH)),
    sympy.asech: _reciprocal_arg(_apply(*_ACOSH)),
    sympy.acsch: _reciprocal_arg(_apply(*_ASINH)),
    sympy.Abs: _h_abs,
    sympy.sign: _h_sign,
    sympy.floor: _h_floor,
    sympy.ceiling: _h_ceiling,
    sympy.Max: _minmax(True),
    sympy.Min: _minmax(False),
}


# The light trees of the verifier's fast path (``parsing/light.py``) share the handlers:
# their nodes answer the same questions (``args``, ``is_Integer``, ``p``/``q``).
_HANDLERS.update({light.Add: _h_add, light.Mul: _h_mul, light.Pow: _h_pow, light.Number: _h_rational})
_HANDLERS.update({cls: _HANDLERS[sympy_cls] for sympy_cls, cls in light.FUNCTION_CLASSES.items()})


def _h_infinity(e: _Evaluator, node: Any) -> Pair:
    return _inf(e.B, 1 if node is sympy.oo else -1), None


def _inf(B: Any, sign: int) -> Any:
    return np.complex128(sign * math.inf) if B is NUMPY else sign * mpmath.inf


def _fallback_handler(node: Any) -> Callable[[_Evaluator, Any], Pair]:
    """Number subclasses (``One``, ``Half``...) map to the generic number handlers; anything
    else is outside the whitelist. Found handlers are remembered per class."""
    cls = type(node)
    if isinstance(node, sympy.Integer):
        handler = _h_integer
    elif isinstance(node, sympy.Rational):
        handler = _h_rational
    elif isinstance(node, sympy.Float):
        handler = _h_float
    elif node is sympy.oo or node is -sympy.oo:
        return _h_infinity
    else:
        raise UnsupportedExpression(f"unsupported node {cls.__name__}")
    _HANDLERS[cls] = handler
    return handler


def evaluate_tracked(expr: sympy.Basic, var: sympy.Symbol, x: Any, *, dx: Any = 1.0,
                     consts: dict | None = None, backend: Any = NUMPY) -> tuple:
    """``(value, derivative, cond)``, where ``cond`` bounds (per point, for numpy arrays)
    how much cancellation in sums amplified rounding errors (1 = none, inf = total)."""
    ev = _Evaluator(backend, var, x, dx, track=True, consts=consts)
    v, d = ev.ev(expr)
    if backend is MPMATH:
        return v, d, ev.cond
    return v, d, np.broadcast_to(ev.cond, np.shape(x))


def evaluate(expr: sympy.Basic, var: sympy.Symbol, x: Any, *, backend: Any = NUMPY, dx: Any = 1.0,
             consts: dict | None = None) -> Pair:
    """``(value, d value / d var)`` of ``expr`` at ``var = x``.

    ``x`` is a complex128 array for the numpy backend or an mpmath number for the
    mpmath backend (call inside ``mpmath.workdps``). ``dx=None`` skips the
    derivative; a derivative of ``None`` in the result means zero. ``consts`` gives
    values to other symbols (constants of integration). Raises
    :class:`UnsupportedExpression` for nodes outside the whitelist. The caller
    silences numpy floating-point warnings (``np.errstate``) and catches
    ``ZeroDivisionError`` from mpmath.
    """
    return _Evaluator(backend, var, x, dx, consts=consts).ev(expr)


def node_count(expr: sympy.Basic) -> int:
    """Number of nodes in the tree (a cost estimate)."""
    count = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(node.args)
    return count
