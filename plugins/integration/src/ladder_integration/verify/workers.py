"""The verifier's worker pool: the core's killable :class:`~ladder_core.sandbox.SandboxPool`
running :func:`~ladder_integration.verify.checker.verify_in_process`.

Each check gets ``timeout_s`` of wall time in a worker process that is killed
and replaced when it overruns (a SymPy or mpmath call cannot be interrupted
from Python) or dies at its memory cap. The pool, its protocol and its
limits live in :mod:`ladder_core.sandbox`; this module only says what a worker
runs and turns sandbox results into verdicts.

This module imports no numpy or SymPy, so the parent stays light.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable, Sequence

from ladder_core.records import Verdict, VerdictStatus
from ladder_core.sandbox import SandboxPool, SandboxResult, SandboxSpec

from ladder_integration.verify.config import VerifierConfig

__all__ = ["WorkerPool", "make_checker"]


def make_checker(config_dict: dict[str, Any]) -> Callable[[Any], list[Any]]:
    """In a worker: import and warm up the checker once; the handler checks one ``[problem, completion]``."""
    from ladder_integration.verify.checker import verify_in_process, warm_up

    data = dict(config_dict)
    data["domain"] = tuple(data["domain"])
    config = VerifierConfig(**data)
    warm_up()

    def check(payload: Any) -> list[Any]:
        problem, completion = payload
        v = verify_in_process(problem, completion, config)
        return [v.status.value, v.reason, v.seconds]

    return check


def _verdict(result: SandboxResult, timeout: float) -> Verdict:
    if result.ok:
        status, reason, seconds = result.value
        return Verdict(VerdictStatus(status), reason, seconds)
    if result.status == "timeout":
        return Verdict(VerdictStatus.TIMEOUT, f"check exceeded {timeout:g} s", seconds=result.seconds)
    if result.status == "died":
        return Verdict(VerdictStatus.ERROR, "verifier worker died during the check", seconds=result.seconds)
    return Verdict(VerdictStatus.ERROR, result.reason or "verifier error", seconds=result.seconds)


class WorkerPool(SandboxPool):
    """Checks ``(problem, completion)`` pairs in killable workers, ``config.timeout_s`` each."""

    def __init__(self, config: VerifierConfig) -> None:
        self.config = config
        super().__init__(SandboxSpec(
            factory="ladder_integration.verify.workers:make_checker", arg=asdict(config), workers=config.workers,
            spare_workers=config.spare_workers, timeout_s=config.timeout_s, memory_mb=config.memory_mb,
            batch_size=config.batch_size,
        ), label="verifier")

    def run(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Verdicts for ``(problem, completion)`` pairs, in order."""
        payloads = [[p if isinstance(p, str) else str(p), c if isinstance(c, str) else str(c)] for p, c in items]
        return [_verdict(r, self.config.timeout_s) for r in self.map(payloads)]
