"""Where the integrand is real and continuous between sample points, and its integral there.

The derivative check compares ``F'`` with ``f`` at points; it cannot see a jump of ``F``
between two points (``x**2/2 + sign(x)`` for ``x``), a jump of its imaginary part from a
branch cut, or a pole of ``F`` where ``f`` has none. Those show up in the increments:
on an interval where ``f`` is real and continuous, ``F(b) - F(a)`` must equal the
integral of ``f`` from ``a`` to ``b``. This module finds, once per problem, the pairs of
consecutive sample points joined by such an interval and the integral over each, so
that checking an answer costs one subtraction per pair (its values at the sample points
come out of the derivative pass anyway).

A pair counts only when the integrand is real and finite at every node of a 10- and a
20-point Gauss-Legendre rule and the two rules agree to ``_AGREE`` of the integral of
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
_N = 10  # Gauss-Legendre nodes of the coarse rule; the fine rule has twice as many
_TC, _WC = np.polynomial.legendre.leggauss(_N)
_TF, _WF = np.polynomial.legendre.leggauss(2 * _N)


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
    """The nodes at which :func:`continuous_pairs` needs the integrand (the coarse then
    the fine rule on each pair of neighbours of ``xs``, real and sorted ascending), so
    that the caller can evaluate them together with its other points in one pass."""
    if len(xs) < 2:
        return np.empty(0)
    a, b = xs[:-1, None], xs[1:, None]
    half, mid = (b - a) / 2, (b + a) / 2
    return np.concatenate([(mid + half * _TC).ravel(), (mid + half * _TF).ravel()])


def continuous_pairs(xs: np.ndarray, values: np.ndarray, real_tol: float) -> Pairs:
    """The pairs of neighbours of ``xs`` joined by an interval where the integrand is
    real and continuous, given its ``values`` at :func:`quadrature_nodes` of ``xs``."""
    if len(xs) < 2:
        return EMPTY
    half = (xs[1:] - xs[:-1]) / 2
    m = len(half)
    with np.errstate(all="ignore"):
        mag = np.abs(values)
        real = (np.abs(values.imag) <= real_tol * mag) & (mag < _HUGE)  # NaN compares False
        good = real[: _N * m].reshape(m, _N).all(axis=1) & real[_N * m :].reshape(m, 2 * _N).all(axis=1)
        re = values.real
        coarse = half * (re[: _N * m].reshape(m, _N) @ _WC)
        fine_v = re[_N * m :].reshape(m, 2 * _N)
        fine = half * (fine_v @ _WF)
        size = half * (np.abs(fine_v) @ _WF)
        good &= (np.abs(coarse - fine) <= _AGREE * size) & (half > 0)
    left = np.flatnonzero(good)
    return Pairs(left=left, integral=fine[left], size=size[left], width=2 * half[left])
