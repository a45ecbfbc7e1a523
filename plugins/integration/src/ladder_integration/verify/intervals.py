"""Where the integrand is real and continuous between sample points, and its integral there.

The derivative check compares ``F'`` with ``f`` at points; it cannot see a jump of ``F``
between two points (``x**2/2 + sign(x)`` for ``x``), a jump of its imaginary part from a
branch cut, or a pole of ``F`` where ``f`` has none. Those show up in the increments:
on an interval where ``f`` is real and continuous, ``F(b) - F(a)`` must equal the
integral of ``f`` from ``a`` to ``b``. This module finds, once per problem, the pairs of
consecutive sample points joined by such an interval and the integral over each, so
that checking an answer costs one subtraction per pair (its values at the sample points
come out of the derivative pass anyway).

A pair counts only when the integrand is real and finite at every node of a 16- and a
32-point Gauss-Legendre rule and the two rules agree to ``_AGREE`` of the integral of
``|f|``: a pole, a jump, a kink or a non-real stretch between the points breaks that
agreement (or the realness), and such a pair is not checked at all (the rule only
constrains ``F`` where ``f`` is continuous, and a different constant on each side of a
singularity is fine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
__all__ = ["Pairs", "EMPTY", "quadrature_nodes", "continuous_pairs"]

_AGREE = 1e-11
_HUGE = 1e150
_T16, _W16 = np.polynomial.legendre.leggauss(16)
_T32, _W32 = np.polynomial.legendre.leggauss(32)


@dataclass(frozen=True)
class Pairs:
    """Indices ``left`` (pair ``left[k], left[k] + 1`` of the sorted sample points) joined by
    an interval where the integrand is real and continuous, its integral ``integral`` and
    the integral of ``|f|`` (``size``, the scale of the tolerance)."""

    left: np.ndarray
    integral: np.ndarray
    size: np.ndarray
    width: np.ndarray  # b - a: times the typical |f|, a floor for the tolerance (underflowing f far out)

    def __len__(self) -> int:
        return len(self.left)


EMPTY = Pairs(left=np.empty(0, dtype=int), integral=np.empty(0), size=np.empty(0), width=np.empty(0))


def quadrature_nodes(xs: np.ndarray) -> np.ndarray:
    """The nodes at which :func:`continuous_pairs` needs the integrand (16 then 32 per
    pair of neighbours of ``xs``, real and sorted ascending), so that the caller can
    evaluate them together with its other points in one pass."""
    if len(xs) < 2:
        return np.empty(0)
    a, b = xs[:-1], xs[1:]
    half, mid = (b - a) / 2, (b + a) / 2
    return np.concatenate([(mid[:, None] + half[:, None] * _T16).ravel(), (mid[:, None] + half[:, None] * _T32).ravel()])


def continuous_pairs(xs: np.ndarray, values: np.ndarray, real_tol: float) -> Pairs:
    """The pairs of neighbours of ``xs`` joined by an interval where the integrand is
    real and continuous, given its ``values`` at :func:`quadrature_nodes` of ``xs``."""
    if len(xs) < 2:
        return EMPTY
    half = (xs[1:] - xs[:-1]) / 2
    m = len(half)
    with np.errstate(all="ignore"):
        v16, v32 = values[: 16 * m].reshape(m, 16), values[16 * m :].reshape(m, 32)
        good = np.ones(m, dtype=bool)
        for block in (v16, v32):
            real = np.isfinite(block) & (np.abs(block.imag) <= real_tol * np.abs(block)) & (np.abs(block) < _HUGE)
            good &= real.all(axis=1)
        i16 = half * (v16.real @ _W16)
        i32 = half * (v32.real @ _W32)
        size = half * (np.abs(v32.real) @ _W32)
        good &= np.isfinite(i16) & np.isfinite(i32) & (np.abs(i16 - i32) <= _AGREE * size) & (half > 0)
    left = np.flatnonzero(good)
    return Pairs(left=left, integral=i32[left], size=size[left], width=2 * half[left])
