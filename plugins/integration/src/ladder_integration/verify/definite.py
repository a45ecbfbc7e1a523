"""Definite integrals: the answer is a number, compared with high-precision quadrature.

The reference is computed once per problem and cached by the caller; an answer is
then one scalar evaluation. Tanh-sinh quadrature in mpmath at ``definite_dps``
digits copes with endpoint singularities and infinite limits. Integrands with
kinks and jumps (``Abs``, ``floor``, ``Max``...) are split at their breakpoints,
found numerically; finite integrals that tanh-sinh cannot settle (many jumps,
thousands of oscillations) fall back to composite Gauss-Legendre over numpy,
refined until two levels agree to 1e-12. The whole computation has a soft time
budget, so that a problem without a usable reference fails fast (and is cached
as such) instead of making every check of it time out.
"""

from __future__ import annotations

import time
from typing import Any

import mpmath
import numpy as np
import sympy

from ladder_integration.verify.config import VerifierConfig
from ladder_integration.verify.numeric import MPMATH, UnsupportedExpression, evaluate

__all__ = ["ReferenceError_", "definite_reference", "check_definite", "breakpoints"]

_SWITCHES = (sympy.Abs, sympy.sign, sympy.floor, sympy.ceiling, sympy.Max, sympy.Min)
_GRID = 8192  # breakpoint search resolution
_MAX_BREAKS = 20000
_MPMATH_MAX_PIECES = 32  # more pieces than this go straight to Gauss-Legendre
_GAUSS_NODES = 16
_GAUSS_LEVELS = (16, 64, 256, 1024, 4096, 16384, 65536)


class ReferenceError_(ValueError):
    """The reference value could not be computed reliably (divergent, oscillatory, ...)."""


class _OverBudget(Exception):
    pass


def _constant(expr: sympy.Expr, var: sympy.Symbol) -> Any:
    v, _ = evaluate(expr, var, mpmath.mpf(0), backend=MPMATH, dx=None)
    return mpmath.mpmathify(v)


def _limit(expr: sympy.Expr, var: sympy.Symbol) -> Any:
    if expr is sympy.oo:
        return mpmath.inf
    if expr is -sympy.oo:
        return -mpmath.inf
    if var in expr.free_symbols:
        raise UnsupportedExpression("integration limit depends on the variable")
    v = _constant(expr, var)
    if abs(mpmath.im(v)) > 0:
        raise ReferenceError_("complex integration limit")
    return mpmath.re(v)


def _np(expr: sympy.Expr, var: sympy.Symbol, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        v, _ = evaluate(expr, var, x + 0j, dx=None)
    return np.broadcast_to(v, x.shape)


def _state(node: sympy.Expr, var: sympy.Symbol, x: np.ndarray) -> np.ndarray:
    """A piecewise-constant label that changes exactly where ``node`` has a kink or jump."""
    if isinstance(node, (sympy.Max, sympy.Min)):
        vals = np.stack([_np(arg, var, x).real for arg in node.args])
        return np.argmax(vals, axis=0) if isinstance(node, sympy.Max) else np.argmin(vals, axis=0)
    u = _np(node.args[0], var, x).real
    if isinstance(node, (sympy.floor, sympy.ceiling)):
        return np.floor(u) if isinstance(node, sympy.floor) else np.ceil(u)
    return np.sign(u)


def breakpoints(integrand: sympy.Expr, var: sympy.Symbol, a: float, b: float) -> np.ndarray:
    """Points in ``(a, b)`` where a switch node (``Abs``, ``floor``...) of the integrand changes
    branch, located by a grid scan and bisection to float precision."""
    nodes = [n for n in sympy.preorder_traversal(integrand) if isinstance(n, _SWITCHES) and n.has(var)]
    if not nodes:
        return np.empty(0)
    grid = np.linspace(a, b, _GRID + 1)
    found = []
    for node in nodes:
        st = _state(node, var, grid)
        change = np.flatnonzero(st[1:] != st[:-1])
        if len(change) == 0:
            continue
        lo, hi = grid[change], grid[change + 1]
        s_lo = st[change]
        for _ in range(60):
            mid = (lo + hi) / 2
            same = _state(node, var, mid) == s_lo
            lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
        found.append((lo + hi) / 2)
    if not found:
        return np.empty(0)
    pts = np.unique(np.concatenate(found))
    pts = pts[(pts > a) & (pts < b)]
    if len(pts) > _MAX_BREAKS:
        raise ReferenceError_("too many jumps or kinks to integrate reliably")
    return pts


def _gauss(integrand: sympy.Expr, var: sympy.Symbol, a: float, b: float, breaks: np.ndarray,
           deadline: float) -> complex:
    """Composite Gauss-Legendre on ``[a, b]`` split at ``breaks``, refined until two levels agree."""
    t, w = np.polynomial.legendre.leggauss(_GAUSS_NODES)
    previous = None
    for n in _GAUSS_LEVELS:
        if time.perf_counter() > deadline:
            raise _OverBudget
        edges = np.unique(np.concatenate([np.linspace(a, b, n + 1), breaks]))
        left, right = edges[:-1, None], edges[1:, None]
        half = (right - left) / 2
        x = (half * t + (left + right) / 2).ravel()
        fx = _np(integrand, var, x)
        if not np.all(np.isfinite(fx)):
            raise ReferenceError_("the integrand is not finite on the interval")
        terms = (half * w).ravel() * fx
        value = complex(np.sum(terms))
        scale = float(np.sum(np.abs(terms)))
        if previous is not None and abs(value - previous) <= 1e-12 * max(scale, 1e-300):
            return value
        previous = value
    raise ReferenceError_("composite quadrature did not converge")


def _half_line(f: Any, start: Any, sign: int) -> Any:
    """``integral(f, start, sign*inf)`` over pieces of doubling length, stopping once two
    pieces in a row add nothing at working precision: settles exponentially decaying
    integrands whose factors (``sin`` of a huge argument) tanh-sinh cannot evaluate."""
    total = mpmath.mpf(0)
    eps = mpmath.mpf(10) ** (-mpmath.mp.dps + 3)
    quiet = 0
    left, width = start, mpmath.mpf(1)
    for _ in range(80):
        right = left + sign * width
        piece, err = mpmath.quad(f, [left, right] if sign > 0 else [right, left], error=True)
        piece = sign * mpmath.mpmathify(piece)
        if not mpmath.isfinite(piece) or err > mpmath.mpf(10) ** (-12) * max(abs(total + piece), 1):
            raise ReferenceError_("the integral does not converge numerically")
        total += piece
        quiet = quiet + 1 if abs(piece) <= eps * max(abs(total), eps) else 0
        if quiet >= 2:
            return total
        left, width = right, width * 2
    raise ReferenceError_("the integral does not converge numerically (slow decay)")


def _by_doubling(f: Any, a: Any, b: Any) -> Any:
    if mpmath.isfinite(a):
        return _half_line(f, a, 1)
    if mpmath.isfinite(b):
        return -_half_line(f, b, -1)
    return _half_line(f, mpmath.mpf(0), 1) - _half_line(f, mpmath.mpf(0), -1)


def definite_reference(integrand: sympy.Expr, var: sympy.Symbol, lower: sympy.Expr, upper: sympy.Expr,
                       config: VerifierConfig) -> Any:
    """``integral(integrand, var, lower, upper)`` as an mpmath number (maybe complex)."""
    dps = config.definite_dps
    deadline = time.perf_counter() + config.definite_budget_s
    with mpmath.workdps(dps):
        a, b = _limit(lower, var), _limit(upper, var)
        if a == b:
            return mpmath.mpf(0)
        finite = mpmath.isfinite(a) and mpmath.isfinite(b)
        breaks = breakpoints(integrand, var, float(a), float(b)) if finite else np.empty(0)

        def f(t: Any) -> Any:
            if time.perf_counter() > deadline:
                raise _OverBudget
            try:
                v, _ = evaluate(integrand, var, t, backend=MPMATH, dx=None)
            except ZeroDivisionError:
                return mpmath.mpf(0)  # a removable point hit exactly; measure zero
            except OverflowError:
                return mpmath.nan  # no meaningful value: the reference is refused
            return v

        try:
            if len(breaks) <= _MPMATH_MAX_PIECES:
                points = [a, *[mpmath.mpf(float(p)) for p in breaks], b]
                value, err = mpmath.mpf(0), mpmath.inf
                for degree in (6, 8):
                    value, err = mpmath.quad(f, points, error=True, maxdegree=degree)
                    value = mpmath.mpmathify(value)
                    if not mpmath.isfinite(value):
                        break
                    if err <= mpmath.mpf(10) ** (-15) * max(abs(value), 1):
                        return value
                # Tanh-sinh's error estimate is pessimistic near integrable endpoint
                # singularities; 10 digits still leave a wide margin over definite_rtol.
                if mpmath.isfinite(value) and err <= mpmath.mpf(10) ** (-10) * max(abs(value), 1):
                    return value
                if not finite:
                    return _by_doubling(f, a, b)
            return mpmath.mpmathify(_gauss(integrand, var, float(a), float(b), breaks, deadline))
        except _OverBudget:
            raise ReferenceError_(f"reference not found within {config.definite_budget_s:g} s") from None


def check_definite(reference: Any, answer: sympy.Expr, var: sympy.Symbol, config: VerifierConfig) -> tuple[bool, str]:
    """``(correct, reason)`` for the numeric ``answer`` of a definite integral."""
    if var in answer.free_symbols:
        return False, f"the value of a definite integral must not depend on {var}"
    with mpmath.workdps(config.definite_dps):
        try:
            value = _constant(answer, var)
        except ZeroDivisionError:
            return False, "the answer is undefined (division by zero)"
        if not mpmath.isfinite(value):
            return False, "the answer is not a finite number"
        diff = abs(value - reference)
        ok = diff <= config.definite_rtol * abs(reference) + config.definite_atol
        shown = mpmath.nstr(value, 12), mpmath.nstr(reference, 12)
    if ok:
        return True, f"value matches the integral ({shown[1]})"
    return False, f"value {shown[0]} differs from the integral {shown[1]}"
