"""The paper's check, kept so that its published numbers can be reproduced.

LADDER (arXiv 2503.00735) picks 5 random points in [-10, 10], takes an interval of
length 0.1 around each, and compares ``F(b) - F(a)`` with adaptive quadrature of
the integrand over ``[a, b]`` at relative tolerance 1e-2; points near
singularities are resampled; an attempt gets 2 s, with up to 3 retries, after
which the answer is "unverifiable". Taking differences cancels the constant of
integration. The 1e-2 tolerance accepts answers 0.5% off, which is why it is not
the default.
"""

from __future__ import annotations

import time
from typing import Any

import mpmath
import numpy as np
import sympy

from ladder_integration.verify.config import VerifierConfig
from ladder_integration.verify.numeric import MPMATH, evaluate

__all__ = ["check_paper"]

_MAX_RESAMPLES = 20  # per interval and attempt


def _interval_ok(integrand: sympy.Expr, answer: sympy.Expr, var: sympy.Symbol, a: float, b: float,
                 config: VerifierConfig) -> bool | None:
    """True/False for one interval, ``None`` when it touches a singularity (resample)."""
    try:
        with np.errstate(all="ignore"):
            Fv, _ = evaluate(answer, var, np.array([a, b], dtype=complex), dx=None)
        Fv = np.broadcast_to(Fv, (2,))
        if not np.all(np.isfinite(Fv)):
            return None
        delta = complex(Fv[1] - Fv[0])

        def f(t: Any) -> Any:
            v, _ = evaluate(integrand, var, t, backend=MPMATH, dx=None)
            return v

        with mpmath.workdps(15):
            q, err = mpmath.quad(f, [a, b], error=True)
            q = complex(q)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    if not (np.isfinite(q.real) and np.isfinite(q.imag)) or err > 1e-6 * max(abs(q), 1e-12):
        return None
    return abs(delta - q) <= config.rtol * abs(q)


def check_paper(integrand: sympy.Expr, var: sympy.Symbol, answer: sympy.Expr, config: VerifierConfig,
                rng: np.random.Generator) -> tuple[bool | None, str]:
    """``(correct, reason)``; ``correct`` is ``None`` when unverifiable."""
    lo, hi = config.domain
    half = config.interval_len / 2
    for attempt in range(1 + config.retries):
        start = time.perf_counter()
        passed = 0
        timed_out = False
        for _ in range(config.n_intervals):
            verdict = None
            for _ in range(_MAX_RESAMPLES):
                if time.perf_counter() - start > config.attempt_timeout_s:
                    timed_out = True
                    break
                c = float(rng.uniform(lo, hi))
                verdict = _interval_ok(integrand, answer, var, c - half, c + half, config)
                if verdict is not None:
                    break
            if timed_out or verdict is None:
                break
            if verdict is False:
                return False, f"F(b)-F(a) differs from the integral over [{c - half:.4g}, {c + half:.4g}]"
            passed += 1
        if passed == config.n_intervals:
            return True, f"{passed} intervals agree within rtol={config.rtol:g}"
    return None, f"unverifiable after {1 + config.retries} attempts (singularities or time limit)"
