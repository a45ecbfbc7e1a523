"""Worker processes with a hard time limit per check, usable from any thread.

Why processes: a SymPy or mpmath call cannot be interrupted from Python, and
``signal.alarm`` only works in the main thread (the reward function of a trainer
often runs elsewhere). A check that overruns has its worker killed and replaced.

Why ``subprocess`` rather than ``multiprocessing``: a worker is a fresh
``python -m ladder_integration.verify.workers`` that never re-imports the user's
``__main__`` script (``spawn``/``forkserver`` do, which can reload a model or
start a second training run when the script lacks a main guard), never inherits
torch's threads (``fork`` would), and talks JSON over a socket, so neither side
unpickles anything. Starting one costs about a second of imports, so the pool
keeps ``spare_workers`` started and idle: a killed worker is replaced at once.

Protocol: the parent sends a batch of checks in one message; the worker reports
finished checks at the end of the batch, or as soon as the check after them has
run for 10 ms (from a reporter thread), so the parent knows to within 10 ms when
the running check started and gives each check its own deadline. (A check that
holds the GIL in one C call, such as a giant integer power, delays that report:
then the first check finished before it is reported as the time-out, and the slow
one times out again on a fresh worker.) Workers cap their address
space with ``RLIMIT_AS``, use one BLAS thread, ignore Ctrl-C (the parent owns
shutdown) and exit when the parent goes away.

This module imports no numpy or SymPy, so the parent stays light.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Sequence

from ladder_core.records import Verdict, VerdictStatus

from ladder_integration.verify.config import VerifierConfig

__all__ = ["WorkerPool", "worker_main"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_START_GRACE_S = 120.0  # a worker that is not ready after this long is replaced
_MAX_START_FAILURES = 3  # workers dying before "ready" in a row: give up with an error
# Finished checks are reported at the end of each batch, or once the check after them
# has run this long: the parent wakes per group, not per check, and a check's
# deadline (counted from the last report) is late by at most this much.
_FLUSH_S = 0.01


def _usable_cpus() -> int:
    """CPUs this process may run on (respects pinning and container limits where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at current usage + ``memory_mb`` (imports alone take a few hundred MB)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + memory_mb * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-Linux
        pass


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent is gone, even in the middle of a runaway check."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def _send(conn: Connection, obj: Any) -> None:
    conn.send_bytes(json.dumps(obj).encode())


def _recv(conn: Connection) -> Any:
    return json.loads(conn.recv_bytes())


class _Reporter:
    """Sends finished checks to the parent: at the end of each batch, and from a
    background thread as soon as a check has been running for ``_FLUSH_S``, so that
    when the parent kills a worker, every check it finished has been reported and the
    one left at the head of the parent's queue is the one that overran."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.done: list = []
        self.item_started = time.monotonic()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            time.sleep(_FLUSH_S / 2)
            with self.lock:
                if self.done and time.monotonic() - self.item_started >= _FLUSH_S:
                    self._flush()

    def _flush(self) -> None:
        try:
            _send(self.conn, ["done", self.done])
        except (BrokenPipeError, OSError):
            os._exit(0)
        self.done = []

    def start(self) -> None:
        with self.lock:
            self.item_started = time.monotonic()

    def finish(self, result: list, last: bool) -> None:
        with self.lock:
            self.done.append(result)
            if last:
                self._flush()


def worker_main(fd: int, config: VerifierConfig, parent_pid: int) -> None:
    """Serve batches of checks on socket ``fd`` until the parent closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    conn = Connection(fd)
    from ladder_integration.verify.checker import verify_in_process, warm_up

    warm_up()
    _limit_memory(config.memory_mb)
    _send(conn, ["ready", os.getpid()])
    reporter = _Reporter(conn)
    while True:
        try:
            batch = _recv(conn)
        except (EOFError, OSError, ValueError):
            return
        if batch is None:
            return
        for k, (job, problem, completion) in enumerate(batch):
            reporter.start()
            v = verify_in_process(problem, completion, config)
            reporter.finish([job, v.status.value, v.reason, v.seconds], last=k == len(batch) - 1)


def _main(argv: list[str]) -> None:
    fd, parent_pid, config_json = int(argv[0]), int(argv[1]), argv[2]
    data = json.loads(config_json)
    data["domain"] = tuple(data["domain"])
    worker_main(fd, VerifierConfig(**data), parent_pid)


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    started: float
    ready: bool = False
    queue: deque = field(default_factory=deque)  # [job, problem, completion] sent and not yet answered
    item_start: float = 0.0  # when the check at the head of ``queue`` started


class WorkerPool:
    """A lazily started set of worker processes plus idle spares (see module docstring)."""

    def __init__(self, config: VerifierConfig) -> None:
        self.config = config
        self.size = config.workers or _usable_cpus()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._start_failures = 0
        self.restarts = 0

    # ----------------------------------------------------------------- lifecycle

    def _start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env.update({name: "1" for name in _THREAD_ENV})
        cmd = [sys.executable, "-m", "ladder_integration.verify.workers", str(theirs.fileno()), str(os.getpid()),
               json.dumps(asdict(self.config))]
        try:
            proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        return _Worker(process=proc, conn=Connection(ours.detach()), started=time.monotonic())

    def _ensure_started(self, wanted: int) -> None:
        while len(self._workers) < wanted + self.config.spare_workers:
            self._workers.append(self._start_worker())

    def _kill(self, worker: _Worker) -> None:
        try:
            worker.process.kill()
        except OSError:
            pass
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
            pass
        try:
            worker.conn.close()
        except OSError:
            pass
        if worker in self._workers:
            self._workers.remove(worker)

    def _replace(self, worker: _Worker) -> None:
        self._kill(worker)
        self.restarts += 1
        self._workers.append(self._start_worker())

    def close(self) -> None:
        """Stop all workers (idempotent)."""
        with self._lock:
            self._closed = True
            for w in self._workers:
                try:
                    _send(w.conn, None)
                except (OSError, ValueError):
                    pass
            for w in list(self._workers):
                try:
                    w.process.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
                self._kill(w)
            self._workers.clear()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # ----------------------------------------------------------------- running

    def run(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Verdicts for ``(problem, completion)`` pairs, in order, each check limited to
        ``config.timeout_s`` seconds of wall time."""
        if not items:
            return []
        with self._lock:
            if self._closed:
                raise RuntimeError("the verifier has been closed")
            return self._run(items)

    def _chunk(self, pending: int) -> int:
        per_worker = -(-pending // self.size)
        return max(1, min(self.config.batch_size, per_worker))

    def _run(self, items: Sequence[tuple[str, str]]) -> list[Verdict]:
        timeout = self.config.timeout_s
        results: list[Verdict | None] = [None] * len(items)
        pending: deque = deque([i, p if isinstance(p, str) else str(p), c if isinstance(c, str) else str(c)]
                               for i, (p, c) in enumerate(items))
        self._remaining = len(items)
        self._ensure_started(min(self.size, len(items)))

        while self._remaining:
            if self._start_failures >= _MAX_START_FAILURES:
                self._fail_all(results, pending, "verifier workers fail to start")
                break
            now = time.monotonic()
            active = 0
            for w in list(self._workers):
                if w.queue:
                    active += 1
                elif w.ready and pending and active < self.size:
                    batch = [pending.popleft() for _ in range(min(self._chunk(len(pending)), len(pending)))]
                    try:
                        _send(w.conn, batch)
                    except (OSError, ValueError):
                        pending.extendleft(reversed(batch))
                        self._replace(w)
                        continue
                    w.queue.extend(batch)
                    w.item_start = now
                    active += 1
            watched = [w for w in self._workers if w.queue or not w.ready]
            if not watched:
                self._ensure_started(1)
                continue
            deadlines = [w.item_start + timeout if w.queue else w.started + _START_GRACE_S for w in watched]
            ready = wait([w.conn for w in watched], timeout=max(0.0, min(deadlines) - time.monotonic()))
            for w in watched:
                if w.conn in ready:
                    self._drain(w, results, pending)
            now = time.monotonic()
            for w in list(self._workers):
                if w.queue and now > w.item_start + timeout:
                    job = w.queue.popleft()
                    results[job[0]] = Verdict(VerdictStatus.TIMEOUT, f"check exceeded {timeout:g} s",
                                              seconds=now - w.item_start)
                    self._remaining -= 1
                    pending.extendleft(reversed(w.queue))
                    w.queue.clear()
                    self._replace(w)
                elif not w.ready and now > w.started + _START_GRACE_S:
                    self._start_failures += 1
                    self._replace(w)
        return results  # type: ignore[return-value]

    def _fail_all(self, results: list, pending: deque, reason: str) -> None:
        for w in self._workers:
            pending.extendleft(reversed(w.queue))
            w.queue.clear()
        for job in pending:
            results[job[0]] = Verdict(VerdictStatus.ERROR, reason)
        pending.clear()
        self._remaining = 0
        self._start_failures = 0

    def _drain(self, w: _Worker, results: list, pending: deque) -> None:
        """Read every message waiting on ``w``."""
        try:
            while w.conn.poll():
                msg = _recv(w.conn)
                if msg[0] == "ready":
                    w.ready = True
                    self._start_failures = 0
                    continue
                for job, status, reason, seconds in msg[1]:
                    head = w.queue.popleft()
                    if head[0] != job:  # pragma: no cover - protocol bug
                        raise OSError("worker answered out of order")
                    results[job] = Verdict(VerdictStatus(status), reason, seconds)
                    self._remaining -= 1
                w.item_start = time.monotonic()
        except (EOFError, OSError, ValueError):
            # The worker died (crash, memory kill): its current check gets an error,
            # the rest of its batch goes back to the queue.
            if not w.ready:
                self._start_failures += 1
            if w.queue:
                job = w.queue.popleft()
                results[job[0]] = Verdict(VerdictStatus.ERROR, "verifier worker died during the check",
                                          seconds=time.monotonic() - w.item_start)
                self._remaining -= 1
                pending.extendleft(reversed(w.queue))
                w.queue.clear()
            self._replace(w)


if __name__ == "__main__":
    _main(sys.argv[1:])
