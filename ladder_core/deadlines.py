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
the runner writes the tally to ``plugin_faults.json`` in the run directory.
Reward faults are counted per completion by :mod:`ladder_core.training.rewards`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PluginDeadlines:
    """Seconds each kind of plugin call may take (config node ``plugin_deadlines``).

    The defaults suit the integration domain: its own verifier bounds each
    check at ``verifier.timeout_s`` (2 s) in killable workers, so a whole
    reward batch of a few hundred checks finishes far below ``verify_batch_s``;
    the core's deadline only fires when a plugin breaks its contract.
    """

    verify_batch_s: float = 120.0  # one domain.verify_batch call (a whole reward batch)
    verify_s: float = 10.0  # one domain.verify call (the per-item fallback after a failed batch)
    reward_s: float = 60.0  # one call of an extra reward function (a whole batch)
    propose_s: float = 900.0  # one variant generator propose call (an LLM may generate for minutes)
    validate_s: float = 10.0  # one domain.validate_variant call
    observer_s: float = 30.0  # one observer hook implementation call

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"plugin_deadlines.{f.name} must be a positive number of seconds, got {value!r}")

    @classmethod
    def from_config(cls, cfg: Any) -> PluginDeadlines:
        """From the run config's ``plugin_deadlines`` node (missing node or keys: defaults)."""
        node = cfg.get("plugin_deadlines") if hasattr(cfg, "get") else None
        if not node:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(node) - known)
        if unknown:
            raise ValueError(f"unknown key(s) plugin_deadlines.{', plugin_deadlines.'.join(unknown)}; "
                             f"valid: {', '.join(sorted(known))}")
        return cls(**{k: float(node[k]) for k in node})


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
