"""Deadlines the core enforces on every plugin call made during a run, off the main thread.

A plugin's method runs in a daemon thread; the caller waits at most the
deadline and then goes on without it (the call is *abandoned*: Python cannot
stop a thread, so it finishes or sleeps in the background, holding nothing
the core needs). Work that must really be stopped -- a SymPy call that never
returns, a runaway allocation -- belongs in a :class:`ladder_core.sandbox.SandboxPool`
process, which is killed and replaced. Together they guarantee that no
plugin call can hang a run, and no exception from plugin code reaches TRL.

Every abandoned or raising call is counted in :data:`FAULTS` by kind
(``"observer.ladder_train_step_end.raised"``, ``"variants.propose.timeout"``...);
the runner writes the tally to ``plugin_faults.json`` in the run directory (the
:class:`~ladder_core.artifacts.PluginFaults` record).
Reward faults are counted per completion by :mod:`ladder_core.training.rewards`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ladder_core.schema import PluginDeadlinesConfig

T = TypeVar("T")


#: Seconds each kind of plugin call may take: the ``plugin_deadlines`` section of the run config
#: (``PluginDeadlines.of(run_cfg)``; defaults and ranges in :mod:`ladder_core.schema`).
PluginDeadlines = PluginDeadlinesConfig


@dataclass(frozen=True)
class CallOutcome(Generic[T]):
    """What happened to one guarded call: ``ok`` (``value`` set), ``raised`` or ``timeout``."""

    status: str
    value: T | None = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class FaultCounter:
    """A thread-safe tally of plugin faults by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self._counts[kind] += n

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


#: Faults of plugin calls outside the reward path, for the whole process (the runner saves them).
FAULTS = FaultCounter()


def call_with_deadline(fn: Callable[..., T], *args: Any, timeout_s: float, name: str = "plugin call",
                       **kwargs: Any) -> CallOutcome[T]:
    """Run ``fn(*args, **kwargs)`` in a daemon thread; give up waiting after ``timeout_s``.

    Never raises (``BaseException`` from the call included, except that a
    ``KeyboardInterrupt`` in the caller still interrupts the wait). Works from
    any thread, unlike ``signal.alarm``.
    """
    box: list[Any] = []
    start = time.monotonic()

    def target() -> None:
        try:
            box.append(("ok", fn(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - plugin code may raise anything, SystemExit included
            box.append(("raised", f"{type(exc).__name__}: {exc}"[:300]))

    thread = threading.Thread(target=target, name=f"ladder-deadline:{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    seconds = time.monotonic() - start
    if not box:
        return CallOutcome("timeout", error=f"{name} exceeded {timeout_s:g} s and was abandoned", seconds=seconds)
    status, payload = box[0]
    if status == "ok":
        return CallOutcome("ok", value=payload, seconds=seconds)
    return CallOutcome("raised", error=payload, seconds=seconds)
