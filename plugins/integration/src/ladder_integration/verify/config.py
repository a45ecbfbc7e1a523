"""Settings of the integration verifier (standard library only: the parent process and
``ladder --help`` import this without numpy or SymPy)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MODES = ("derivative", "paper", "simplify")
MODE_ALIASES = {"quadrature": "paper", "numeric": "derivative"}


@dataclass(frozen=True)
class VerifierConfig:
    """How answers are checked and how hard the limits are.

    mode: ``derivative`` (default: the answer is an antiderivative of the integrand
        on every interval of the sample window where the integrand is real and
        continuous: derivative exact to ``deriv_rtol`` at many points, no jumps), ``paper`` (the paper's check:
        ``F(b)-F(a)`` against quadrature on short intervals, tolerance ``rtol``) or
        ``simplify`` (``simplify(diff(F) - f) == 0``; a baseline for benchmarks).
        ``quadrature`` is accepted as an alias of ``paper``.
    timeout_s: hard wall-time limit per check, enforced by killing the worker.
    workers: worker processes; 0 means one per usable CPU (``os.sched_getaffinity``,
        else ``os.cpu_count()``), started only as a batch needs them.
    memory_mb: address-space cap (RLIMIT_AS) of each worker, on top of what the
        worker uses after importing numpy/SymPy.
    spare_workers: workers kept started and idle, so that one killed after a
        time-out is replaced at once instead of after a second of imports.
    batch_size: checks sent to a worker per message (results still come back one
        by one, so each check keeps its own deadline).

    Derivative mode: ``points`` sample points per problem (several scales, both
    signs, a few far out), kept where the integrand is real (imaginary part within
    ``real_tol``) and finite. At every one of them the answer's derivative must equal
    the integrand to a relative ``deriv_rtol`` plus ``deriv_atol`` times the median size
    of the integrand (the answer itself may be complex); between neighbours joined by
    an interval where the integrand is real and continuous, the answer must not jump.
    Doubtful points are settled in mpmath at ``mp_dps`` digits (at most ``mp_points``
    points and as many intervals), the tolerance staying ``deriv_rtol``: 1e-13 is what
    a 64-bit evaluation can certify, and it rejects a 6-digit decimal of 1/3.

    Paper mode: ``n_intervals`` intervals of length ``interval_len`` centred at
    uniform points of ``domain``; relative tolerance ``rtol``; an attempt that
    takes longer than ``attempt_timeout_s`` or keeps meeting singularities is
    retried up to ``retries`` times, then the answer is "unverifiable" (TIMEOUT).
    The hard limit ``timeout_s`` still bounds the whole check: raise it to
    ``(1 + retries) * attempt_timeout_s`` to give the paper's retries full room.

    Definite integrals: the answer is compared with a ``definite_dps``-digit
    quadrature of the integrand at relative tolerance ``definite_rtol``; finding
    that reference may take ``definite_budget_s`` (once per problem), after which
    the problem is reported as having no reference (an ERROR verdict, cached).

    ``seed`` fixes the sample points of each problem (derived from the seed and
    the problem text), so verdicts are reproducible and integrand values can be
    cached per problem.
    """

    mode: str = "derivative"
    timeout_s: float = 2.0
    workers: int = 0
    memory_mb: int = 1024
    spare_workers: int = 1
    batch_size: int = 16
    seed: int = 0
    # derivative mode
    points: int = 48
    deriv_rtol: float = 1e-13
    deriv_atol: float = 1e-15
    real_tol: float = 1e-10
    mp_dps: int = 30
    mp_points: int = 8
    # paper mode
    n_intervals: int = 5
    interval_len: float = 0.1
    domain: tuple[float, float] = (-10.0, 10.0)
    rtol: float = 1e-2
    retries: int = 3
    attempt_timeout_s: float = 2.0
    # definite integrals
    definite_rtol: float = 1e-8
    definite_atol: float = 1e-12
    definite_dps: int = 30
    definite_budget_s: float = 1.0
    # caches
    max_cached_problems: int = 4096
    max_cached_verdicts: int = 16384

    def __post_init__(self) -> None:
        mode = MODE_ALIASES.get(self.mode, self.mode)
        if mode not in MODES:
            raise ValueError(f"unknown verifier mode {self.mode!r}; expected one of {', '.join(MODES)}")
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "domain", tuple(float(v) for v in self.domain))
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.workers < 0:
            raise ValueError("workers must be >= 0 (0 = one per CPU)")
        if self.spare_workers < 0:
            raise ValueError("spare_workers must be >= 0")
        if self.points < 8:
            raise ValueError("points must be >= 8")
        if not 0 < self.deriv_rtol < 1:
            raise ValueError("deriv_rtol must be in (0, 1)")

    @classmethod
    def from_mapping(cls, data: Any) -> "VerifierConfig":
        """Build from a dict or config node, ignoring keys this class does not have
        (e.g. a Hydra node with extra fields); ``None`` gives the defaults."""
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            data = {f.name: getattr(data, f.name) for f in fields(cls) if hasattr(data, f.name)}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_(self, **changes: Any) -> "VerifierConfig":
        return replace(self, **changes)
