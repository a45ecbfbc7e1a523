"""A hard time limit for checks: persistent worker processes that are killed when a check overruns.

The arithmetic is bounded by construction (see ``ladder_countdown.verify``),
but ladder's rule is that every check has a limit that works off the main
thread and does not trust the code it guards. So a :class:`CheckPool` keeps a
few ``python -m ladder_countdown.workers`` child processes and talks to them
over pipes, one JSON object a line. Each check gets ``timeout_s`` of wall time
from the moment the worker could start on it; a worker that overruns is
killed (SIGKILL) and replaced, its check is reported as ``timeout`` and its
other queued checks go back to the queue. A worker that dies is replaced the
same way and its check is an ``error``. Nothing here uses signals in the
calling process, so it works from any thread.

Subprocesses rather than ``multiprocessing``: a child that only imports this
package starts in a few tens of milliseconds, never re-imports the caller's
``__main__`` (the ``ladder`` CLI, pytest) and never forks a process that holds
torch's threads. Messages are small because answers over the length limit are
rejected before they are sent, and the bytes in flight per worker stay below
the pipe buffer, so a write to a hung worker cannot block the caller.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ladder_core.records import VerdictStatus

#: Bytes allowed in flight to one worker: well under Linux's 64 KiB pipe buffer.
MAX_INFLIGHT_BYTES = 32 * 1024
#: How long a new worker may take to import and say it is ready (not counted against any check).
STARTUP_TIMEOUT_S = 60.0
READY = b'{"ready": true}'

Task = tuple[tuple[int, ...], int, str]


def _python_path() -> str:
    """``PYTHONPATH`` for children: where this package and ladder_core were imported from, then the caller's."""
    import ladder_core

    roots = [str(Path(__file__).resolve().parent.parent), str(Path(ladder_core.__file__).resolve().parent.parent)]
    existing = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(dict.fromkeys([*roots, *filter(None, existing.split(os.pathsep))]))


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    inflight: deque[tuple[int, int]] = field(default_factory=deque)  # (task index, message bytes)
    inflight_bytes: int = 0
    head_since: float = 0.0
    buffer: bytes = b""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass


def _shutdown(workers: list[_Worker]) -> None:
    for worker in workers:
        _kill(worker.proc)
    workers.clear()


class CheckPool:
    """Runs :func:`~ladder_countdown.verify.check_answer` in killable worker processes.

    ``size`` workers are started on first use; :meth:`close` (or garbage
    collection, or interpreter exit) kills them. Thread-safe: one batch at a time.
    """

    def __init__(self, size: int = 1, timeout_s: float = 1.0, memory_mb: int = 256,
                 limits: dict[str, int] | None = None, command: list[str] | None = None) -> None:
        if size < 1:
            raise ValueError(f"a check pool needs at least one worker, got {size}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.size = size
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.limits = dict(limits or {})
        #: Replaces the worker command line (tests use a worker that hangs or dies on purpose).
        self.command = list(command) if command else None
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _shutdown, self._workers)
        self.restarts = 0

    # ---------------------------------------------------------------- workers
    def _spawn(self) -> _Worker:
        """Start a worker and wait for its ready line, so that start-up never counts against a check.

        Raises ``RuntimeError`` when the worker cannot start (the domain turns
        that into ``error`` verdicts).
        """
        env = dict(os.environ, PYTHONPATH=_python_path(), PYTHONDONTWRITEBYTECODE="1")
        cmd = self.command or [sys.executable, "-m", "ladder_countdown.workers", "--memory-mb",
                               str(self.memory_mb), "--limits", json.dumps(self.limits)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env, close_fds=True)
        worker = _Worker(proc)
        assert proc.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in worker.buffer:
                left = deadline - time.monotonic()
                chunk = os.read(proc.stdout.fileno(), 4096) if left > 0 and selector.select(left) else b""
                if not chunk:
                    _kill(proc)
                    raise RuntimeError(f"verifier worker did not start: {' '.join(cmd[:3])}")
                worker.buffer += chunk
        line, worker.buffer = worker.buffer.split(b"\n", 1)
        if line.strip() != READY:
            _kill(proc)
            raise RuntimeError(f"verifier worker said {line[:80]!r} instead of being ready")
        return worker

    def _ensure_started(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(self._spawn())

    def _replace(self, worker: _Worker) -> None:
        _kill(worker.proc)
        index = self._workers.index(worker)
        self._workers[index] = self._spawn()
        self.restarts += 1

    def close(self) -> None:
        """Kill every worker. Safe to call twice; the pool restarts on the next :meth:`run`."""
        with self._lock:
            _shutdown(self._workers)

    # ------------------------------------------------------------------ runs
    def run(self, tasks: list[Task]) -> list[tuple[VerdictStatus, str]]:
        """``(status, reason)`` for every ``(numbers, target, answer)`` task, in order."""
        if not tasks:
            return []
        with self._lock:
            self._ensure_started()
            return self._run(tasks)

    def _run(self, tasks: list[Task]) -> list[tuple[VerdictStatus, str]]:
        results: list[tuple[VerdictStatus, str] | None] = [None] * len(tasks)
        queue = deque(range(len(tasks)))
        messages = [
            (json.dumps({"id": i, "numbers": list(n), "target": t, "answer": a}) + "\n").encode("ascii")
            for i, (n, t, a) in enumerate(tasks)
        ]
        selector = selectors.DefaultSelector()
        try:
            while queue or any(w.inflight for w in self._workers):
                self._feed(queue, messages, results)
                busy = [w for w in self._workers if w.inflight]
                if not busy:
                    continue  # every write failed; those tasks are answered, feed the rest
                now = time.monotonic()
                wait = max(0.0, min(w.head_since + self.timeout_s for w in busy) - now)
                for w in busy:
                    selector.register(w.proc.stdout, selectors.EVENT_READ, w)
                try:
                    ready = selector.select(timeout=wait)
                finally:
                    for w in busy:
                        selector.unregister(w.proc.stdout)
                for key, _ in ready:
                    self._read(key.data, results, queue)
                now = time.monotonic()
                for w in [w for w in self._workers if w.inflight]:
                    if now > w.head_since + self.timeout_s:
                        index, _ = w.inflight.popleft()
                        results[index] = (VerdictStatus.TIMEOUT, f"check exceeded {self.timeout_s:g} s; worker killed")
                        self._requeue(w, queue)
                        self._replace(w)
        finally:
            selector.close()
        return [r if r is not None else (VerdictStatus.ERROR, "no result") for r in results]

    def _feed(self, queue: deque[int], messages: list[bytes], results: list) -> None:
        """Hand out queued tasks one at a time, round robin, while workers have pipe room."""
        progress = True
        idle_deaths = 0
        while queue and progress:
            progress = False
            for position in range(len(self._workers)):
                w = self._workers[position]
                if not queue:
                    break
                index = queue[0]
                size = len(messages[index])
                if w.inflight and w.inflight_bytes + size > MAX_INFLIGHT_BYTES:
                    continue
                queue.popleft()
                progress = True
                try:
                    assert w.proc.stdin is not None
                    w.proc.stdin.write(messages[index])
                    w.proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    # The worker is gone: its head check (if any) is what killed it; this one goes back.
                    queue.appendleft(index)
                    had_checks = bool(w.inflight)
                    self._worker_died(w, results, queue)
                    if not had_checks:
                        idle_deaths += 1
                        if idle_deaths > 3:  # workers die before any check: give up on this one
                            results[queue.popleft()] = (VerdictStatus.ERROR, "verifier workers keep dying")
                    continue
                if not w.inflight:
                    w.head_since = time.monotonic()
                w.inflight.append((index, size))
                w.inflight_bytes += size

    def _read(self, w: _Worker, results: list, queue: deque[int]) -> None:
        assert w.proc.stdout is not None
        try:
            chunk = os.read(w.proc.stdout.fileno(), 65536)
        except OSError:
            chunk = b""
        if not chunk:
            self._worker_died(w, results, queue)
            return
        w.buffer += chunk
        *lines, w.buffer = w.buffer.split(b"\n")
        for line in lines:
            if not w.inflight:
                break
            index, size = w.inflight.popleft()
            w.inflight_bytes -= size
            w.head_since = time.monotonic()
            try:
                reply = json.loads(line)
                if reply.get("id") != index:
                    raise ValueError("out of order")
                results[index] = (VerdictStatus(reply["status"]), str(reply.get("reason", "")))
            except (ValueError, KeyError, TypeError):
                results[index] = (VerdictStatus.ERROR, "malformed reply from verifier worker")

    def _worker_died(self, w: _Worker, results: list, queue: deque[int]) -> None:
        """The head check of a dead worker is an ``error``; its other checks go back to the queue."""
        if w.inflight:
            index, _ = w.inflight.popleft()
            results[index] = (VerdictStatus.ERROR, "verifier worker died")
        self._requeue(w, queue)
        self._replace(w)

    @staticmethod
    def _requeue(w: _Worker, queue: deque[int]) -> None:
        for index, _ in reversed(w.inflight):
            queue.appendleft(index)
        w.inflight.clear()
        w.inflight_bytes = 0


# ------------------------------------------------------------------ worker side
def _limit_memory(memory_mb: int) -> None:
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Worker loop: read one task a line from stdin, write one verdict a line to stdout."""
    import argparse

    from ladder_countdown.parsing import ExpressionLimits
    from ladder_countdown.verify import check_answer

    parser = argparse.ArgumentParser(prog="python -m ladder_countdown.workers")
    parser.add_argument("--memory-mb", type=int, default=256)
    parser.add_argument("--limits", default="{}")
    args = parser.parse_args(argv)
    limits = ExpressionLimits(**json.loads(args.limits))
    if args.memory_mb > 0:
        _limit_memory(args.memory_mb)
    out = sys.stdout.buffer
    out.write(READY + b"\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            task = json.loads(line)
            status, reason = check_answer(tuple(task["numbers"]), int(task["target"]), str(task["answer"]), limits)
            reply = {"id": task.get("id"), "status": status.value, "reason": reason}
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            reply = {"id": None, "status": VerdictStatus.ERROR.value, "reason": f"bad task: {type(exc).__name__}"}
        out.write((json.dumps(reply) + "\n").encode("ascii"))
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
