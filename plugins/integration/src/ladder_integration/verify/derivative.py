"""The default check: the answer's derivative against the integrand at many points.

An answer ``F`` is correct when ``F'(x) == f(x)`` wherever ``F`` and ``f`` are real.
That accepts any constant (also a different one on each side of a singularity),
``log(x)`` next to ``log(abs(x))`` or ``log(3*x)``, rewritten trigonometric and
inverse-hyperbolic forms, and branch choices such as ``acosh(x)`` (not real for
``x < -1``, so not compared there), while rejecting answers 0.01% off.

Steps, cheapest first:

1. Per problem (cached): sample points over several scales and both signs, keep
   those where the integrand is real and finite, store its values there and at
   slightly perturbed points.
2. Per answer: one vectorised forward-mode pass gives ``F`` and ``F'`` at all
   points. Coverage rules stop an answer that is real on only a sliver of the
   integrand's real domain. Points agreeing to ``deriv_rtol`` pass.
3. Disagreeing points are re-evaluated at the perturbed points: a disagreement
   that is numerically stable (the values barely move) is real, and the answer is
   wrong. Unstable ones (cancellation, near a singularity) are settled in mpmath
   at high precision, so rounding never decides a verdict.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from ladder_integration.verify.config import VerifierConfig
from ladder_integration.verify.numeric import MPMATH, evaluate, evaluate_tracked

__all__ = ["SampleSet", "sample_integrand", "check_antiderivative"]

_PERTURB = 2.0**-30  # ~1e-9: moves the rounding noise, barely moves a smooth function
_HUGE = 1e150  # values beyond this are "near overflow" and not used
_MAX_COND = 1e6  # sums that cancel more than this leave too few trustworthy digits


@dataclass(frozen=True)
class SampleSet:
    """The integrand at the points where it is real and finite (or, when it is
    nowhere real, at points where it is finite: ``complex_mode``)."""

    x: np.ndarray  # complex128, imaginary part 0
    f: np.ndarray  # complex128 integrand values
    xp: np.ndarray  # perturbed points
    fp: np.ndarray  # integrand at xp
    fcond: np.ndarray  # cancellation factor of the integrand's sums at x (see evaluate_tracked)
    fabs: np.ndarray  # |f|
    scale: float  # median |f|, sets the absolute tolerance
    complex_mode: bool = False

    def __len__(self) -> int:
        return len(self.x)


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8", "replace"))])


def _candidate_points(rng: np.random.Generator, n: int, round_: int) -> np.ndarray:
    """Round 0 mixes the unit interval, moderate and logarithmic scales; later rounds
    look further out and closer in, for integrands real only on a small region
    (after which ``sample_integrand`` zooms in on where it found real values)."""
    k = n // 4
    sign = rng.choice([-1.0, 1.0], size=n)
    if round_ == 0:
        parts = [
            rng.uniform(-1.0, 1.0, k),
            rng.uniform(-4.0, 4.0, k),
            sign[:k] * np.exp(rng.uniform(np.log(0.02), np.log(30.0), k)),
            rng.uniform(-10.0, 10.0, n - 3 * k),
        ]
    elif round_ == 1:
        parts = [sign[: n - k] * np.exp(rng.uniform(np.log(1e-4), np.log(1e4), n - k)), rng.uniform(0.0, 2.0, k)]
    else:
        parts = [sign * np.exp(rng.uniform(np.log(1e-8), np.log(1e8), n))]
    return np.concatenate(parts)


def _is_real(z: np.ndarray, tol: float) -> np.ndarray:
    return np.isfinite(z) & (np.abs(z.imag) <= tol * np.abs(z))


def sample_integrand(integrand: sympy.Expr, var: sympy.Symbol, config: VerifierConfig, key: str) -> SampleSet:
    """Sample points for one problem (deterministic in ``config.seed`` and ``key``).

    Raises :class:`~ladder_integration.verify.numeric.UnsupportedExpression` for an
    integrand outside the evaluator's whitelist.
    """
    rng = _rng(config.seed, key)
    n = config.points
    kept: list[np.ndarray] = []
    finite_only: list[np.ndarray] = []
    have = 0
    with np.errstate(all="ignore"):
        for round_ in range(5):
            if round_ < 3:
                x = _candidate_points(rng, n, round_) + 0j
            elif have:  # real only on a narrow region: zoom in on what was found
                found = np.concatenate(kept).real
                lo, hi = float(found.min()), float(found.max())
                width = max(hi - lo, 1e-6 * max(1.0, abs(lo), abs(hi)))
                x = rng.uniform(lo - width, hi + width, n) + 0j
            else:
                break
            f, _ = evaluate(integrand, var, x, dx=None)
            f = _full(f, x.shape)
            ok = _is_real(f, config.real_tol) & (np.abs(f) < _HUGE)
            kept.append(x[ok])
            finite_only.append(x[np.isfinite(f) & (np.abs(f) < _HUGE)])
            have += int(ok.sum())
            if have >= n // 2:
                break
        xs = np.concatenate(kept)[:n]
        complex_mode = len(xs) == 0
        if complex_mode:
            xs = np.concatenate(finite_only)[:n]
        f, _, fcond = evaluate_tracked(integrand, var, xs, dx=None)
        f = _full(f, xs.shape)
        xp = xs * (1.0 + _PERTURB)
        fp, _ = evaluate(integrand, var, xp, dx=None)
        fp = _full(fp, xs.shape)
    if not complex_mode:
        f = f.real + 0j
    scale = float(np.median(np.abs(f))) if len(f) else 1.0
    if not np.isfinite(scale) or scale == 0.0:
        scale = 1.0
    return SampleSet(x=xs, f=f, xp=xp, fp=fp, fcond=np.array(fcond), fabs=np.abs(f), scale=scale,
                     complex_mode=complex_mode)


def _fmt(z: complex) -> str:
    z = complex(z)
    return f"{z.real:.6g}" if abs(z.imag) <= 1e-12 * abs(z) else f"{z:.6g}"


def _full(v: object, shape: tuple) -> np.ndarray:
    """``v`` as a complex array of ``shape`` (constants come back from the evaluator as scalars)."""
    if isinstance(v, np.ndarray) and v.shape == shape:
        return v
    return np.full(shape, 0j if v is None else v, dtype=complex)


def _dual(answer: sympy.Expr, var: sympy.Symbol, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v, d = evaluate(answer, var, x)
    return _full(v, x.shape), _full(d, x.shape)


def check_antiderivative(
    samples: SampleSet, integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, config: VerifierConfig
) -> tuple[bool, str]:
    """``(correct, reason)`` for an antiderivative ``answer`` of ``integrand``."""
    n = len(samples)
    if n == 0:
        return False, "the integrand is not finite at any sample point"
    with np.errstate(all="ignore"):
        Fv, Fd = _dual(answer, var, samples.x)
        f = samples.f
        if samples.complex_mode:
            cmp = np.isfinite(Fd)
        else:
            d_real = _is_real(Fd, config.real_tol)
            if d_real.sum() < config.min_coverage * n:
                return False, (f"the answer's derivative is real at only {int(d_real.sum())} of {n} points "
                               "where the integrand is real")
            cmp = d_real & _is_real(Fv, config.real_tol)
            n_cmp = int(cmp.sum())
            if n_cmp < max(config.min_points, config.min_real_fraction * n):
                return False, f"the answer is real at only {n_cmp} of {n} points where the integrand is real"
        err = np.abs(Fd - f)
        mag = np.maximum(samples.fabs, np.abs(Fd))
        tol = config.deriv_rtol * mag + config.deriv_atol * samples.scale
        fail = cmp & ~(err <= tol)
        if not fail.any():
            return True, f"derivative matches the integrand at {int(cmp.sum())} points"
        idx = np.flatnonzero(fail)
        if samples.complex_mode:
            i = idx[0]
            return False, f"derivative differs from the integrand at x={samples.x[i].real:.6g}"
        rel = err[idx] / np.maximum(mag[idx], 1e-300)
        robust = _robust_failures(samples, answer, var, idx, Fd[idx], rel, config)
        if robust is not None:
            i = robust
            return False, (f"derivative differs from the integrand at x={samples.x[i].real:.6g}: "
                           f"{_fmt(Fd[i])} vs {_fmt(f[i])}")
    order = idx[np.argsort(-rel)]
    return _settle_in_mpmath(samples, integrand, var, answer, order, config)


def _robust_failures(
    samples: SampleSet, answer: sympy.Expr, var: sympy.Symbol, idx: np.ndarray, Fd: np.ndarray,
    rel: np.ndarray, config: VerifierConfig,
) -> int | None:
    """Index of a point whose disagreement is trustworthy in floats, or ``None``.

    Trustworthy means: it persists at a slightly perturbed x, the values there barely
    move (so rounding noise and nearby singularities are excluded), and no sum in the
    answer or the integrand cancels badly at that point (so no term was absorbed).
    """
    stable_tol = config.deriv_rtol / 10
    Fv2, Fd2, cond2 = evaluate_tracked(answer, var, samples.xp[idx])
    Fv2, Fd2 = _full(Fv2, idx.shape), _full(Fd2, idx.shape)
    f1, f2 = samples.f[idx], samples.fp[idx]
    rel2 = np.abs(Fd2 - f2) / np.maximum(np.maximum(np.abs(f2), np.abs(Fd2)), 1e-300)
    stable = (np.abs(Fd2 - Fd) <= stable_tol * np.abs(Fd)) & (np.abs(f2 - f1) <= stable_tol * np.abs(f1))
    well_conditioned = (cond2 < _MAX_COND) & (samples.fcond[idx] < _MAX_COND)
    strictly_real = _is_real(Fv2, 1e-14) & _is_real(Fd2, config.real_tol)
    robust = (stable & well_conditioned & strictly_real
              & (rel > 10 * config.deriv_rtol) & (rel2 > 10 * config.deriv_rtol))
    hits = np.flatnonzero(robust)
    if len(hits) >= 2 or (len(hits) == 1 and rel[hits[0]] > 1e-3):
        return int(idx[hits[np.argmax(rel[hits])]])
    return None


def _mp_point(integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, x: float, dps: int):
    """``(F, F', f)`` at ``x`` in mpmath, or ``None`` where something is undefined."""
    with mpmath.workdps(dps):
        t = mpmath.mpf(x)
        try:
            Fv, Fd = evaluate(answer, var, t, backend=MPMATH, dx=mpmath.mpf(1))
            fv, _ = evaluate(integrand, var, t, backend=MPMATH, dx=None)
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        Fd = mpmath.mpf(0) if Fd is None else Fd
        return mpmath.mpmathify(Fv), mpmath.mpmathify(Fd), mpmath.mpmathify(fv)


def _mp_agrees(vals, dps: int, scale: float, config: VerifierConfig) -> bool | None:
    """True/False on a real comparable point, ``None`` when the point does not count."""
    Fv, Fd, fv = vals
    with mpmath.workdps(dps):
        if not all(mpmath.isfinite(v) for v in (Fv, Fd, fv)):
            return None
        eps = mpmath.mpf(10) ** (-(dps * 2) // 3)
        if abs(mpmath.im(Fv)) > eps * abs(Fv) or abs(mpmath.im(fv)) > eps * abs(fv):
            return None
        # Same tolerance as in floats: high precision settles rounding, not the standard.
        tol = config.deriv_rtol * max(abs(Fd), abs(fv)) + mpmath.mpf(10) ** (-dps + 5) * scale
        return bool(abs(Fd - fv) <= tol)


def _settle_in_mpmath(
    samples: SampleSet, integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, order: np.ndarray,
    config: VerifierConfig,
) -> tuple[bool, str]:
    """Recheck the worst doubtful points at high precision; a disagreement must also
    persist at twice the precision before it rejects the answer."""
    dps = config.mp_dps
    for i in order[: config.mp_points]:
        x = float(samples.x[i].real)
        vals = _mp_point(integrand, var, answer, x, dps)
        verdict = None if vals is None else _mp_agrees(vals, dps, samples.scale, config)
        if verdict is False:
            vals2 = _mp_point(integrand, var, answer, x, 2 * dps)
            verdict = None if vals2 is None else _mp_agrees(vals2, 2 * dps, samples.scale, config)
            if verdict is False:
                with mpmath.workdps(12):
                    return False, (f"derivative differs from the integrand at x={x:.6g} "
                                   f"(high precision: {mpmath.nstr(vals2[1], 8)} vs {mpmath.nstr(vals2[2], 8)})")
    return True, f"derivative matches the integrand ({len(order)} doubtful points settled at {dps} digits)"
