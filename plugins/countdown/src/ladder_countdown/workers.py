"""A hard time limit for checks: the core's killable worker pool running ``check_answer``.

The arithmetic is bounded by construction (see ``ladder_countdown.verify``),
but ladder's rule is that every check has a limit that works off the main
thread and does not trust the code it guards. So a :class:`CheckPool` runs
checks in :class:`ladder_core.sandbox.SandboxPool` worker processes: each
check gets ``timeout_s`` of wall time; a worker that overruns is killed and
replaced and its check is a ``timeout``; a worker that dies (its memory cap)
is replaced and its check is an ``error``. The pool, protocol and limits are
the core's; this module says what a worker runs.
"""

from __future__ import annotations

from typing import Any, Callable

from ladder_core.records import VerdictStatus
from ladder_core.sandbox import SandboxPool, SandboxResult, SandboxSpec

Task = tuple[tuple[int, ...], int, str]


def make_checker(limits: dict[str, int]) -> Callable[[Any], list[str]]:
    """In a worker: the handler checks one ``[numbers, target, answer]`` task."""
    from ladder_countdown.parsing import ExpressionLimits
    from ladder_countdown.verify import check_answer

    expression_limits = ExpressionLimits(**limits)

    def check(task: Any) -> list[str]:
        numbers, target, answer = task
        status, reason = check_answer(tuple(int(n) for n in numbers), int(target), str(answer), expression_limits)
        return [status.value, reason]

    return check


def _outcome(result: SandboxResult, timeout_s: float) -> tuple[VerdictStatus, str]:
    if result.ok:
        status, reason = result.value
        return VerdictStatus(status), str(reason)
    if result.status == "timeout":
        return VerdictStatus.TIMEOUT, f"check exceeded {timeout_s:g} s; worker killed"
    if result.status == "died":
        return VerdictStatus.ERROR, "verifier worker died"
    return VerdictStatus.ERROR, result.reason or "verifier error"


class CheckPool(SandboxPool):
    """Runs :func:`~ladder_countdown.verify.check_answer` in ``size`` killable worker processes."""

    def __init__(self, size: int = 1, timeout_s: float = 1.0, memory_mb: int = 256,
                 limits: dict[str, int] | None = None, factory: str = "ladder_countdown.workers:make_checker") -> None:
        if size < 1:
            raise ValueError(f"a check pool needs at least one worker, got {size}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        #: ``factory`` replaces what workers run (tests use one that hangs or dies on purpose).
        super().__init__(SandboxSpec(factory=factory, arg=dict(limits or {}), workers=size, spare_workers=0,
                                     timeout_s=self.timeout_s, memory_mb=int(memory_mb), batch_size=16,
                                     start_timeout_s=60.0), label="verifier")

    def run(self, tasks: list[Task]) -> list[tuple[VerdictStatus, str]]:
        """``(status, reason)`` for every ``(numbers, target, answer)`` task, in order."""
        return [_outcome(r, self.timeout_s) for r in self.map([[list(n), t, a] for n, t, a in tasks])]
