"""The default check: is the answer an antiderivative of the integrand on the sample window?

The rule: on every interval of the sampled window where the integrand ``f`` is real and
continuous, the answer ``F`` is continuous and ``F' = f`` there. ``F`` may be complex
(SymPy writes ``log(sin(x) - 1)`` for ``1/cos(x)``), as long as its imaginary part is
constant on each such interval; it may differ by a different constant on each side of a
singularity of ``f`` (``log(x) + 3*sign(x)`` for ``1/x``). The constant of integration
``C`` may only be added: ``F(x, C) - F(x, C')`` must not depend on ``x``.

Steps, cheapest first:

1. Per problem (cached): sample points over several scales and both signs, plus a few
   far out, where the integrand is real and finite; its values there and at slightly
   perturbed points; the pairs of neighbouring points joined by an interval where it is
   real and continuous, with the integral over each (:mod:`.intervals`).
2. Per answer: one vectorised forward-mode pass gives ``F`` and ``F'`` at all points.
   ``F'`` must equal ``f`` at *every* point to ``deriv_rtol`` (1e-13 relative: a 6-digit
   decimal of 1/3, ``+1e-9*x`` or ``exp(x + 10**-12)`` fail), so an answer right on only
   half of the real domain (``acosh(x/2)`` for ``1/sqrt(x**2 - 4)``) fails on the other.
   Points that disagree are sorted into certain failures (large, smooth, well-conditioned
   errors: rejected at once), rounding noise explained by measured cancellation, and
   doubtful points.
3. The constant of integration is given three values; the differences must be constant.
4. On each continuous pair, ``F(b) - F(a)`` must equal the integral of ``f``: a jump
   (``sign(x)``), a pole of ``F`` between points (``1/(x - 12345)``), a jump of the
   imaginary part across a branch cut all fail.
5. Doubtful points and pairs are settled in mpmath at ``mp_dps`` digits, and a
   disagreement must persist at twice that before it rejects, so float rounding never
   decides a verdict.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy

from ladder_integration.verify.config import VerifierConfig
from ladder_integration.verify.intervals import EMPTY, Pairs, continuous_pairs, quadrature_nodes
from ladder_integration.verify.numeric import MPMATH, evaluate, evaluate_tracked

__all__ = ["SampleSet", "sample_integrand", "check_antiderivative"]

_PERTURB = 2.0**-30  # ~1e-9: moves the rounding noise, barely moves a smooth function
_HUGE = 1e150  # values beyond this are "near overflow" and not used
_MAX_COND = 1e6  # sums that cancel more than this leave too few trustworthy digits
_MAX_EXPLAINED = 100.0  # rounding noise up to this many times deriv_rtol passes when cancellation explains it
_CERTAIN_REL = 1e-9  # a smooth, well-conditioned relative error above this is no rounding noise
_PAIR_RTOL = 2e-11  # increments F(b) - F(a) against the integral (the two rules agree to 1e-11)
_CONST_RTOL = 1e-9  # F(x, C) - F(x, C') constant in x
_FAR = (30.0, 1e5)  # range of the few far-out points added to every problem


@dataclass(frozen=True)
class SampleSet:
    """The integrand at the points where it is real and finite, sorted (or, when it is
    nowhere real, at points where it is finite: ``complex_mode``)."""

    x: np.ndarray  # complex128, imaginary part 0
    f: np.ndarray  # complex128 integrand values
    xp: np.ndarray  # perturbed points
    fp: np.ndarray  # integrand at xp
    fcond: np.ndarray  # cancellation factor of the integrand's sums at x (see evaluate_tracked)
    fabs: np.ndarray  # |f|
    scale: float  # median |f|, sets the absolute tolerance
    pairs: Pairs = EMPTY  # neighbours joined by an interval where f is real and continuous
    # The same over all neighbours (i, i + 1), for one vectorised check: the integral
    # (NaN off the pairs) and the answer-independent part of the tolerance (inf off them).
    gap_integral: np.ndarray = field(default_factory=lambda: np.empty(0))
    gap_tol: np.ndarray = field(default_factory=lambda: np.empty(0))
    constants: tuple = (1.0, 2.0, 3.0)  # values given to a constant of integration
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
    # A few points far out: a pole of the answer beyond the usual window (where the
    # integrand has none) shows up in the increments between them.
    n_far = max(2, n // 12)
    far = rng.choice([-1.0, 1.0], size=n_far) * np.exp(rng.uniform(*np.log(_FAR), n_far))
    kept: list[np.ndarray] = []
    finite_only: list[np.ndarray] = []
    have = 0
    with np.errstate(all="ignore"):
        for round_ in range(5):
            if round_ < 3:
                x = _candidate_points(rng, n, round_)
                if round_ == 0:
                    x = np.concatenate([x, far])
                x = x + 0j
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
            if round_ == 0:
                far_ok, ok = x[n:][ok[n:]], ok[:n]
                x, f = x[:n], f[:n]
            kept.append(x[ok])
            finite_only.append(x[np.isfinite(f) & (np.abs(f) < _HUGE)])
            have += int(ok.sum())
            if have >= n // 2:
                break
        xs = np.concatenate(kept)[:n]
        complex_mode = len(xs) == 0
        xs = np.concatenate(finite_only)[:n] if complex_mode else np.concatenate([xs, far_ok])
        xs = np.unique(xs.real) + 0j  # sorted, so neighbours are neighbours on the line
        f, _, fcond = evaluate_tracked(integrand, var, xs, dx=None)
        f = _full(f, xs.shape)
        # One pass for the perturbed points and the quadrature nodes.
        xp = xs * (1.0 + _PERTURB)
        nodes = np.empty(0) if complex_mode else quadrature_nodes(xs.real)
        m = len(xs)
        rest, _ = evaluate(integrand, var, np.concatenate([xp, nodes + 0j]), dx=None)
        rest = _full(rest, (m + len(nodes),))
        fp = rest[:m]
        pairs = EMPTY if complex_mode else continuous_pairs(xs.real, rest[m:], config.real_tol)
    if not complex_mode:
        f = f.real + 0j
    scale = _median(np.abs(f)) if len(f) else 1.0
    if not np.isfinite(scale) or scale == 0.0:
        scale = 1.0
    constants = (float(rng.uniform(0.5, 1.5)), float(rng.uniform(2.0, 4.0)), float(rng.uniform(5.0, 9.0)))
    gaps = max(len(xs) - 1, 0)
    gap_integral, gap_tol = np.full(gaps, np.nan), np.full(gaps, np.inf)
    gap_integral[pairs.left] = pairs.integral
    gap_tol[pairs.left] = _PAIR_RTOL * (pairs.size + pairs.width * scale)
    return SampleSet(x=xs, f=f, xp=xp, fp=fp, fcond=np.broadcast_to(fcond, xs.shape).copy(), fabs=np.abs(f),
                     scale=scale, pairs=pairs, gap_integral=gap_integral, gap_tol=gap_tol, constants=constants,
                     complex_mode=complex_mode)


def _median(values: np.ndarray) -> float:
    """``np.median`` of finite values, without its dispatch overhead (tens of microseconds)."""
    s = np.sort(values)
    m = len(s) // 2
    return float(s[m]) if len(s) % 2 else float((s[m - 1] + s[m]) / 2)


def _fmt(z: complex) -> str:
    z = complex(z)
    return f"{z.real:.12g}" if abs(z.imag) <= 1e-12 * abs(z) else f"{z:.12g}"


def _full(v: object, shape: tuple) -> np.ndarray:
    """``v`` as a complex array of ``shape`` (constants come back from the evaluator as scalars)."""
    if isinstance(v, np.ndarray) and v.shape == shape:
        return v
    return np.full(shape, 0j if v is None else v, dtype=complex)


@dataclass
class _Doubts:
    """What floats could not decide, for the mpmath recheck."""

    points: np.ndarray  # indices of sample points, worst first
    pairs: np.ndarray  # indices into samples.pairs


def check_antiderivative(
    samples: SampleSet, integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, config: VerifierConfig,
    constants: frozenset = frozenset(), settle: bool = True,
) -> tuple[bool | None, str]:
    """``(correct, reason)`` for an antiderivative ``answer`` of ``integrand``.

    ``constants``: the constants of integration that occur in ``answer`` (symbols).
    ``settle=False`` (the fast path's light trees): decide only what floats decide
    outright, a certain disagreement or a clean match at every point with every value
    finite; otherwise return ``(None, "")`` instead of going to mpmath.
    """
    n = len(samples)
    if n == 0:
        return False, "the integrand is not finite at any sample point"
    env = {c: samples.constants[0] for c in constants} or None
    with np.errstate(all="ignore"):
        if constants and not _only_added(answer, var, constants):
            # One pass for the three values of the constant: the points repeated thrice.
            k = len(samples.constants)
            values = np.repeat(np.asarray(samples.constants, dtype=complex), n)
            Fv, Fd = evaluate(answer, var, np.tile(samples.x, k), consts={c: values for c in constants})
            Fv, Fd = _full(Fv, (k * n,)).reshape(k, n), _full(Fd, (k * n,))[:n]
            Fv, others = Fv[0], Fv[1:]
        else:
            Fv, Fd = evaluate(answer, var, samples.x, consts=env)
            Fv, Fd = _full(Fv, samples.x.shape), _full(Fd, samples.x.shape)
            others = None
        verdict, doubtful = _compare_derivative(samples, answer, var, Fd, env, config, explain=settle)
        if verdict is not None:
            return False, verdict
        if env is not None and others is not None:
            verdict = _constants_additive(Fv, others, constants)
            if verdict is not None:
                return False, verdict
        bad_pairs = _failing_pairs(samples, Fv)
        if not settle and (len(doubtful) or len(bad_pairs) or not np.isfinite(Fv).all()
                           or (others is not None and not np.isfinite(others).all())):
            return None, ""
    if len(doubtful) == 0 and len(bad_pairs) == 0:
        return True, f"derivative matches the integrand at {n} points, no jumps on {len(samples.pairs)} intervals"
    return _settle_in_mpmath(samples, integrand, var, answer, _Doubts(doubtful, bad_pairs), env, config)


def _compare_derivative(samples: SampleSet, answer: sympy.Expr, var: sympy.Symbol, Fd: np.ndarray, env: dict | None,
                        config: VerifierConfig, explain: bool = True) -> tuple[str | None, np.ndarray]:
    """A reason when ``F'`` certainly differs from ``f`` somewhere, and the doubtful
    points (worst first) that floats cannot decide. ``explain=False`` keeps the points
    whose disagreement the measured cancellation explains among the doubtful ones too
    (the fast path's light trees cancel differently from SymPy's, which collects terms)."""
    f = samples.f
    err = np.abs(Fd - f)
    # The common case first, in few array operations: within the tolerance measured
    # against |f| alone (a lower bound of the full one) everywhere; NaN and inf fail it.
    if (err <= config.deriv_rtol * samples.fabs + config.deriv_atol * samples.scale).all():
        return None, np.empty(0, dtype=int)
    mag = np.maximum(samples.fabs, np.abs(Fd))
    tol = config.deriv_rtol * mag + config.deriv_atol * samples.scale
    fail = ~((err <= tol) & np.isfinite(Fd))  # NaN and inf fail too
    if not fail.any():
        return None, np.empty(0, dtype=int)
    idx = np.flatnonzero(fail)
    # Why do they disagree? Measure cancellation at x and recompute at a perturbed x.
    m = len(idx)
    _, Fd12, cond12 = evaluate_tracked(answer, var, np.concatenate([samples.x[idx], samples.xp[idx]]), consts=env)
    Fd12 = _full(Fd12, (2 * m,))
    cond12 = np.broadcast_to(cond12, (2 * m,))
    Fd1, Fd2, cond1, cond2 = Fd12[:m], Fd12[m:], cond12[:m], cond12[m:]
    amp = np.maximum(np.maximum(cond1, samples.fcond[idx]), 1.0)
    rel = err[idx] / np.maximum(mag[idx], 1e-300)
    e1, e2 = Fd1 - f[idx], Fd2 - samples.fp[idx]
    smooth = np.isfinite(e1) & np.isfinite(e2) & (np.abs(e2 - e1) <= 1e-2 * np.abs(e1))
    # Rounding noise jumps about between x and the perturbed x; an error that stays put
    # is the answer's, however much cancellation might have hidden it.
    explained = ~smooth & np.isfinite(Fd[idx]) & (err[idx] <= tol[idx] * np.minimum(amp, _MAX_EXPLAINED))
    mag2 = np.maximum(np.abs(samples.fp[idx]), np.abs(Fd2))
    rel2 = np.abs(e2) / np.maximum(mag2, 1e-300)
    # Rounding of arguments grows with |x| (sin(x/6) against sin(x/3) at x = 1e5), so
    # far out only a larger error is certain.
    noise_floor = np.maximum(_CERTAIN_REL, 1e4 * config.deriv_rtol * amp) * np.maximum(1.0, np.abs(samples.x[idx]))
    certain = (smooth & (np.maximum(amp, np.broadcast_to(cond2, idx.shape)) < _MAX_COND)
               & (rel > noise_floor) & (rel2 > noise_floor))
    hits = np.flatnonzero(certain)
    if len(hits) >= 2 or (len(hits) == 1 and rel[hits[0]] > 1e-3):
        i = int(idx[hits[np.argmax(rel[hits])]])
        return (f"derivative differs from the integrand at x={samples.x[i].real:.6g}: "
                f"{_fmt(Fd[i])} vs {_fmt(f[i])}"), idx[:0]
    keep = ~explained if explain else np.ones_like(explained)
    idx, rel = idx[keep], rel[keep]
    # Points where the answer is not finite first (an overflow, or a real singularity
    # where the integrand has none), then the largest disagreements.
    order = np.lexsort((-np.nan_to_num(rel, nan=np.inf), np.isfinite(rel)))
    return None, idx[order]


def _only_added(answer: sympy.Expr, var: sympy.Symbol, constants: frozenset) -> bool:
    """``G(x) + h(C)``: every term with a constant is free of ``x``, so the constant is
    added by construction (the usual ``+ C`` then costs nothing extra)."""
    terms = answer.args if answer.is_Add else (answer,)
    return all(var not in t.free_symbols for t in terms if t.free_symbols & constants)


def _constants_additive(Fv: np.ndarray, others: np.ndarray, constants: frozenset) -> str | None:
    """``C`` only as an additive constant: ``F(x, c) - F(x, c0)`` is the same at every x
    (``others``: the answer at the sample points for the other values of ``C``)."""
    for Fc in others:
        diff = Fc - Fv
        ok = np.isfinite(diff)
        if ok.sum() < 2:
            continue
        ref = int(np.flatnonzero(ok)[0])
        spread = np.abs(diff[ok] - diff[ref])
        tol = _CONST_RTOL * (np.abs(Fc[ok]) + np.abs(Fv[ok]) + abs(Fc[ref]) + abs(Fv[ref])) + 1e-300
        if np.any(spread > tol):
            names = ", ".join(sorted(s.name for s in constants))
            return f"the constant of integration ({names}) is not only added: the answer changes shape with it"
    return None


def _failing_pairs(samples: SampleSet, Fv: np.ndarray) -> np.ndarray:
    """Indices (into ``samples.pairs``) of continuous pairs whose increment ``F(b) - F(a)``
    misses the integral. Where F is not finite the derivative check has had its say."""
    if not len(samples.pairs):
        return np.empty(0, dtype=int)
    absF = np.abs(Fv)
    miss = np.abs((Fv[1:] - Fv[:-1]) - samples.gap_integral)
    bad = (miss > samples.gap_tol + _PAIR_RTOL * (absF[1:] + absF[:-1])) & np.isfinite(miss)  # NaN off the pairs
    if not bad.any():
        return np.empty(0, dtype=int)
    return np.flatnonzero(np.isin(samples.pairs.left, np.flatnonzero(bad)))


# ----------------------------------------------------------------------------- mpmath

_MP_MAX_DPS = 400  # beyond this a point is not worth settling (sinh(x)**2 - cosh(x)**2 at x = 1e5)
_MP_BUDGET = 0.25  # share of the check's time limit that settling may take
_UNDEFINED = "undefined"


def _mp_eval(expr: sympy.Expr, var: sympy.Symbol, x: float, dps: int, env: dict | None, derivative: bool):
    """``(value, derivative, digits lost to cancellation)`` in mpmath at ``dps`` digits."""
    with mpmath.workdps(dps):
        menv = None if env is None else {s: mpmath.mpf(c) for s, c in env.items()}
        v, d, cond = evaluate_tracked(expr, var, mpmath.mpf(x), dx=mpmath.mpf(1) if derivative else None,
                                      consts=menv, backend=MPMATH)
        lost = float(mpmath.log10(cond)) if mpmath.isfinite(cond) and cond >= 1 else (0.0 if cond < 1 else math.inf)
        return mpmath.mpmathify(v), mpmath.mpmathify(0 if d is None else d), lost


def _mp_precise(fn, dps: int, deadline: float):
    """Run ``fn(dps)`` (returning ``(..., lost)``) with enough digits for the cancellation
    it measures; ``None`` when more than ``_MP_MAX_DPS`` would be needed or the time is up."""
    while True:
        if dps > 2 * _MP_MAX_DPS or time.perf_counter() > deadline:
            return None, dps
        out = fn(dps)
        if out is None or out == _UNDEFINED:
            return out, dps
        lost = out[-1]
        if lost <= dps - 20:
            return out, dps
        if not math.isfinite(lost) or lost + 30 > _MP_MAX_DPS:
            return None, dps
        dps = int(lost) + 30


def _mp_derivative(integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, x: float, env: dict | None):
    """``(F', f, lost)`` at ``x``; ``_UNDEFINED`` where the answer raises (a pole or log(0)
    exactly there); ``None`` where nothing meaningful can be computed."""

    def at(dps: int):
        try:
            fv, _, lost_f = _mp_eval(integrand, var, x, dps, None, False)
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        try:
            _, Fd, lost_F = _mp_eval(answer, var, x, dps, env, True)
        except (ZeroDivisionError, ValueError):
            return _UNDEFINED
        except OverflowError:
            return None
        return Fd, fv, max(lost_f, lost_F)

    return at


def _derivative_agrees(vals, dps: int, scale: float, config: VerifierConfig) -> bool | None:
    """True/False for a comparable point, ``None`` when the point does not count."""
    if vals is None:
        return None
    if vals == _UNDEFINED:
        return False
    Fd, fv, _ = vals
    with mpmath.workdps(dps):
        if not mpmath.isfinite(fv):
            return None
        if not mpmath.isfinite(Fd):
            return False
        # The float tolerance, without the float noise: 64-bit precision is the standard.
        tol = config.deriv_rtol * max(abs(Fd), abs(fv)) + mpmath.mpf(10) ** (-dps + 5) * scale
        return bool(abs(Fd - fv) <= tol)


def _settle_point(samples: SampleSet, integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, i: int,
                  env: dict | None, config: VerifierConfig, deadline: float) -> tuple[bool | None, str]:
    x = float(samples.x[i].real)
    at = _mp_derivative(integrand, var, answer, x, env)
    vals, dps = _mp_precise(at, config.mp_dps, deadline)
    verdict = _derivative_agrees(vals, dps, samples.scale, config)
    if verdict is not False:
        return verdict, ""
    vals, dps = _mp_precise(at, 2 * dps, deadline)  # a rejection must persist at twice the precision
    verdict = _derivative_agrees(vals, dps, samples.scale, config)
    if verdict is not False:
        return verdict, ""
    if vals == _UNDEFINED:
        return False, f"the answer is undefined at x={x:.6g}, where the integrand is {_fmt(samples.f[i])}"
    with mpmath.workdps(12):
        return False, (f"derivative differs from the integrand at x={x:.6g} "
                       f"(high precision: {mpmath.nstr(vals[0], 8)} vs {mpmath.nstr(vals[1], 8)})")


def _settle_pair(samples: SampleSet, answer: sympy.Expr, var: sympy.Symbol, k: int, env: dict | None,
                 config: VerifierConfig, deadline: float) -> tuple[bool | None, str]:
    pairs = samples.pairs
    i = int(pairs.left[k])
    a, b = float(samples.x[i].real), float(samples.x[i + 1].real)

    def at(dps: int):
        try:
            Fa, _, lost_a = _mp_eval(answer, var, a, dps, env, False)
            Fb, _, lost_b = _mp_eval(answer, var, b, dps, env, False)
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        return Fa, Fb, max(lost_a, lost_b)

    verdict = None
    dps = config.mp_dps
    for attempt in range(2):  # a rejection must persist at twice the precision
        vals, dps = _mp_precise(at, dps * (1 + attempt), deadline)
        if vals is None:
            return None, ""
        Fa, Fb, _ = vals
        with mpmath.workdps(dps):
            if not (mpmath.isfinite(Fa) and mpmath.isfinite(Fb)):
                return None, ""
            tol = _PAIR_RTOL * (float(pairs.size[k]) + abs(Fa) + abs(Fb) + float(pairs.width[k]) * samples.scale)
            verdict = bool(abs((Fb - Fa) - float(pairs.integral[k])) <= tol)
        if verdict:
            return True, ""
    return False, f"the answer jumps between x={a:.6g} and x={b:.6g}, where the integrand is continuous"


def _settle_in_mpmath(samples: SampleSet, integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr,
                      doubts: _Doubts, env: dict | None, config: VerifierConfig) -> tuple[bool, str]:
    """Recheck the worst doubtful points and pairs at high precision (enough digits for
    the cancellation measured there); a disagreement must persist at twice the
    precision before it rejects the answer."""
    settled = unsettled = 0
    # Hostile answers can make every point doubtful and every digit expensive: past
    # this budget the remaining doubts stay unsettled (the pool's hard limit is the backstop).
    deadline = time.perf_counter() + _MP_BUDGET * config.timeout_s
    checks = [lambda i=i: _settle_point(samples, integrand, var, answer, int(i), env, config, deadline)
              for i in doubts.points[: config.mp_points]]
    checks += [lambda k=k: _settle_pair(samples, answer, var, int(k), env, config, deadline)
               for k in doubts.pairs[: config.mp_points]]
    for check in checks:
        if time.perf_counter() > deadline:
            unsettled += 1
            break
        verdict, reason = check()
        if verdict is False:
            return False, reason
        settled += verdict is True
        unsettled += verdict is None
    confirmed_in_floats = len(samples) - len(doubts.points)
    if unsettled and not settled and confirmed_in_floats < len(samples) // 2:
        # Most points doubtful and none of them decidable: nothing vouches for the answer.
        return False, "the answer could not be evaluated reliably where floats disagree with the integrand"
    return True, (f"derivative matches the integrand ({len(doubts.points)} doubtful points, {len(doubts.pairs)} "
                  f"doubtful intervals settled at {config.mp_dps}+ digits)")
