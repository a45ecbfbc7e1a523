"""The integration verifier: fast, exact, and safe against hostile answers.

``IntegrationVerifier(config).check(problem, completion)`` reads the last
``<ANSWER>`` block of a completion, parses it with the safe parser (never
``eval``/``sympify``) and checks it in a worker process under a hard time limit:

* ``derivative`` mode (default): on every interval of the sample window where the
  integrand is real and continuous, the answer must be continuous with derivative
  equal to the integrand (the answer may be complex, with an imaginary part constant
  on each interval, as SymPy's ``log(sin(x) - 1)`` forms are). The derivative comes
  from forward-mode differentiation over numpy arrays and must match at every real
  sample point to a relative 1e-13 (doubtful points settled in mpmath); increments
  between neighbouring points must match the integral (no jumps, no poles between
  points); ``C`` may only be added. Any constant, ``log|x|`` vs ``log(x)``, rewritten
  trigonometric forms pass; ``acosh(x)`` for ``1/sqrt(x**2 - 1)`` (wrong for x < -1),
  ``x**2/2 + sign(x)``, ``C*x`` terms and 6-digit decimals fail.
* ``paper`` mode: the paper's interval-quadrature check (tolerance 1e-2).
* ``simplify`` mode: ``simplify(diff(F) - f) == 0``, a baseline for benchmarks.
* Definite integrals ``integrate(f, (x, a, b))``: a number, compared with a
  30-digit quadrature at relative 1e-8.

Verdicts come from :mod:`ladder_core.records`; nothing here raises on bad input.
This package imports numpy/SymPy only when a check runs in this process.
"""

from __future__ import annotations

from typing import Sequence

from ladder_core.records import Verdict, VerdictStatus

from ladder_integration.verify.config import VerifierConfig

__all__ = ["VerifierConfig", "IntegrationVerifier", "verify_in_process", "Verdict", "VerdictStatus"]


def verify_in_process(problem: str, completion: str, config: VerifierConfig | None = None) -> Verdict:
    """The pure check in this process, without a time limit (workers and benchmarks use it)."""
    from ladder_integration.verify.checker import verify_in_process as _verify

    return _verify(problem, completion, config or VerifierConfig())


class IntegrationVerifier:
    """Checks answers in worker processes, each check hard-limited to ``config.timeout_s``.

    Thread-safe: calls from several threads share the pool one batch at a time.
    Workers start on the first check and are reused; ``close()`` (or leaving the
    ``with`` block) stops them.
    """

    def __init__(self, config: VerifierConfig | None = None) -> None:
        from ladder_integration.verify.workers import WorkerPool

        self.config = config or VerifierConfig()
        self._pool = WorkerPool(self.config)

    def check(self, problem: str, completion: str) -> Verdict:
        return self._pool.run([(problem, completion)])[0]

    def check_batch(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Verdicts in the order of ``items``, checked in parallel across the workers."""
        return self._pool.run(list(items))

    @property
    def restarts(self) -> int:
        """Workers killed and replaced so far (time-outs and crashes)."""
        return self._pool.restarts

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> "IntegrationVerifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
