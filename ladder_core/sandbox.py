"""A killable worker pool for plugin code that must be stopped, not just abandoned.

A SymPy call that never returns, a giant integer power, a runaway allocation:
none of these can be interrupted from Python, and ``signal.alarm`` only works
on the main thread (a trainer's reward function often runs elsewhere). So
such work runs in worker processes that the parent kills and replaces when a
call overruns its deadline or the worker dies. Any plugin gets this for free::

    # in the plugin: a factory, imported and called once in each worker
    def make_checker(arg):            # arg: the JSON value given in SandboxSpec.arg
        import sympy                  # heavy imports happen before "ready", not inside a deadline
        return lambda payload: check(*payload)   # payload in, JSON value out

    pool = SandboxPool(SandboxSpec(factory="my_plugin.workers:make_checker", arg={...}, timeout_s=2.0))
    results = pool.map([["problem", "answer"], ...])    # one SandboxResult per payload, in order
    pool.close()

Each :class:`SandboxResult` has ``status`` ``ok`` (``value`` = what the
handler returned), ``error`` (the handler raised, or no worker could start),
``timeout`` (the call ran past ``timeout_s``; its worker was killed and
replaced) or ``died`` (the worker died during the call, e.g. at its memory cap).

Why ``subprocess`` rather than ``multiprocessing``: a worker is a fresh
``python -m ladder_core.sandbox`` that never re-imports the user's ``__main__``
(``spawn``/``forkserver`` do, which can reload a model or start a second
training run when a script lacks a main guard), never inherits torch's
threads (``fork`` would), and talks JSON over a socket, so neither side
unpickles anything. Workers see the parent's ``sys.path``; they start lazily,
with ``spare_workers`` started and idle so that a killed worker is replaced at
once, cap their address space with ``RLIMIT_AS`` (``memory_mb`` on top of
their size after the factory ran), use one BLAS thread, ignore Ctrl-C (the
parent owns shutdown) and exit when the parent goes away.

Protocol: the parent sends a batch of ``[job, payload]`` in one message; the
worker reports finished calls at the end of the batch, or as soon as the call
after them has run for 10 ms (from a reporter thread), so the parent knows to
within 10 ms when the running call started and gives each call its own
deadline. (A call that holds the GIL in one C call delays that report: then
the call finished before it is reported as the time-out, and the slow one
times out again on a fresh worker.) Before each call the worker writes the
call's number into an 8-byte file it shares with the parent, so when it dies
the parent knows exactly which call killed it: that one is ``died``, the
calls it finished but had not reported yet and those after it run again.

This module imports only the standard library.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import struct
import tempfile
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Sequence

__all__ = ["SandboxPool", "SandboxResult", "SandboxSpec", "usable_cpus"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_MAX_START_FAILURES = 3  # workers dying before "ready" in a row: give up on the batch with errors
_FLUSH_S = 0.01  # finished calls are reported once the next call has run this long


@dataclass(frozen=True)
class SandboxSpec:
    """What the workers run and under which limits.

    ``factory``: ``"package.module:function"``; called once per worker with
    ``arg`` (any JSON value), it returns the handler, ``handler(payload) ->
    result``; payloads and results are JSON values.
    """

    factory: str
    arg: Any = None
    workers: int = 0  # 0 = one per usable CPU
    spare_workers: int = 1
    timeout_s: float = 2.0
    memory_mb: int = 1024  # 0 = no cap
    batch_size: int = 16
    start_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if ":" not in self.factory:
            raise ValueError(f"SandboxSpec.factory must be 'module:function', got {self.factory!r}")
        if self.workers < 0 or self.spare_workers < 0 or self.batch_size < 1 or self.memory_mb < 0:
            raise ValueError(f"bad sandbox sizes: workers={self.workers}, spare_workers={self.spare_workers}, "
                             f"batch_size={self.batch_size}, memory_mb={self.memory_mb}")
        if not self.timeout_s > 0 or not self.start_timeout_s > 0:
            raise ValueError(f"sandbox timeouts must be positive, got timeout_s={self.timeout_s}")


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one call: ``ok`` (``value``), ``error``, ``timeout`` or ``died``."""

    status: str
    value: Any = None
    reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def usable_cpus() -> int:
    """CPUs this process may run on (respects pinning and container limits where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


# ------------------------------------------------------------------ worker side
def limit_memory(memory_mb: int) -> None:
    """Cap the address space at current usage + ``memory_mb`` (imports alone take a few hundred MB)."""
    if memory_mb <= 0:
        return
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
    """Exit when the parent is gone, even in the middle of a runaway call."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def _send(conn: Connection, obj: Any) -> None:
    conn.send_bytes(json.dumps(obj).encode())


def _recv(conn: Connection) -> Any:
    return json.loads(conn.recv_bytes())


class _Reporter:
    """Sends finished calls to the parent: at the end of each batch, and from a background
    thread as soon as a call has been running for ``_FLUSH_S``, so that when the parent
    kills a worker, every call it finished has been reported and the one left at the head
    of the parent's queue is the one that overran."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.done: list[list[Any]] = []  # [job, status, value, reason, seconds]
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
            try:
                message = json.dumps(["done", self.done])
            except (TypeError, ValueError, RecursionError):  # a handler returned something that is not JSON
                message = '["done",[' + ",".join(_encode_one(r) for r in self.done) + "]]"
            self.conn.send_bytes(message.encode())
        except (BrokenPipeError, OSError):
            os._exit(0)
        self.done = []

    def start(self) -> None:
        with self.lock:
            self.item_started = time.monotonic()

    def finish(self, result: list[Any], last: bool) -> None:
        with self.lock:
            self.done.append(result)
            if last:
                self._flush()


def _resolve(factory: str) -> Callable[[Any], Callable[[Any], Any]]:
    module_name, _, attr = factory.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _call(job: int, start: float, handler: Callable[[Any], Any], payload: Any) -> list[Any]:
    try:
        return [job, "ok", handler(payload), "", time.monotonic() - start]
    except MemoryError:
        return [job, "error", None, "out of memory (worker memory cap)", time.monotonic() - start]
    except Exception as exc:  # noqa: BLE001 - plugin code: report, keep serving
        return [job, "error", None, f"{type(exc).__name__}: {exc}"[:300], time.monotonic() - start]


def _encode_one(result: list[Any]) -> str:
    try:
        return json.dumps(result)
    except (TypeError, ValueError, RecursionError) as exc:
        return json.dumps([result[0], "error", None, f"result is not JSON: {type(exc).__name__}", result[4]])


def worker_main(fd: int, spec: SandboxSpec, parent_pid: int, current_fd: int = -1) -> None:
    """Serve batches of calls on socket ``fd`` until the parent closes it.

    ``current_fd``: a file shared with the parent where the number of the running call is kept.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    conn = Connection(fd)
    handler = _resolve(spec.factory)(spec.arg)
    limit_memory(spec.memory_mb)
    _send(conn, ["ready", os.getpid()])
    reporter = _Reporter(conn)
    while True:
        try:
            batch = _recv(conn)
        except (EOFError, OSError, ValueError):
            return
        if batch is None:
            return
        for k, (job, payload) in enumerate(batch):
            if current_fd >= 0:
                os.pwrite(current_fd, struct.pack("<q", job), 0)
            reporter.start()
            reporter.finish(_call(job, time.monotonic(), handler, payload), last=k == len(batch) - 1)


def _main(argv: list[str]) -> None:
    fd, parent_pid, spec_json, current_fd = int(argv[0]), int(argv[1]), argv[2], int(argv[3])
    worker_main(fd, SandboxSpec(**json.loads(spec_json)), parent_pid, current_fd)


# ------------------------------------------------------------------ parent side
@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection
    started: float
    ready: bool = False
    queue: deque = field(default_factory=deque)  # [job, payload] sent and not yet answered
    item_start: float = 0.0  # when the call at the head of ``queue`` started
    current: Any = None  # the shared file holding the number of the call the worker is running

    def running_job(self) -> int | None:
        try:
            data = os.pread(self.current.fileno(), 8, 0)
            return struct.unpack("<q", data)[0] if len(data) == 8 else None
        except (OSError, ValueError, AttributeError):
            return None


def _child_python_path() -> str:
    """The parent's ``sys.path`` (what it can import, the plugin included), then ``PYTHONPATH``."""
    entries = [p if p else os.getcwd() for p in sys.path]
    entries += os.environ.get("PYTHONPATH", "").split(os.pathsep)
    return os.pathsep.join(dict.fromkeys(p for p in entries if p and os.path.isdir(p)))


class SandboxPool:
    """A lazily started set of worker processes plus idle spares (see module docstring).

    Thread-safe: concurrent callers share the pool one batch at a time.
    ``label`` names the pool in error reasons ("verifier worker died...").
    """

    def __init__(self, spec: SandboxSpec, label: str = "sandbox") -> None:
        self.spec = spec
        self.label = label
        self.size = spec.workers or usable_cpus()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._start_failures = 0
        self._remaining = 0
        self._suspects: set[int] = set()  # jobs re-run alone after a worker died with several in flight
        self.restarts = 0

    # ----------------------------------------------------------------- lifecycle
    def _start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        current = tempfile.TemporaryFile()
        current.write(struct.pack("<q", -1))
        current.flush()
        env = dict(os.environ, PYTHONPATH=_child_python_path())
        env.update({name: "1" for name in _THREAD_ENV})
        cmd = [sys.executable, "-m", "ladder_core.sandbox", str(theirs.fileno()), str(os.getpid()),
               json.dumps(asdict(self.spec)), str(current.fileno())]
        try:
            proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(), current.fileno()), env=env,
                                    stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        return _Worker(process=proc, conn=Connection(ours.detach()), started=time.monotonic(), current=current)

    def _ensure_started(self, wanted: int) -> None:
        while len(self._workers) < wanted + self.spec.spare_workers:
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
        for handle in (worker.conn, worker.current):
            try:
                if handle is not None:
                    handle.close()
            except OSError:
                pass
        if worker in self._workers:
            self._workers.remove(worker)

    def _replace(self, worker: _Worker) -> None:
        self._kill(worker)
        self.restarts += 1
        self._workers.append(self._start_worker())

    def close(self) -> None:
        """Stop all workers (idempotent); the pool refuses work afterwards."""
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
    def map(self, payloads: Sequence[Any], timeout_s: float | None = None) -> list[SandboxResult]:
        """One result per payload, in order; each call limited to ``timeout_s`` (default: the spec's)."""
        if not payloads:
            return []
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.label} pool has been closed")
            return self._run(payloads, float(timeout_s) if timeout_s is not None else self.spec.timeout_s)

    def _chunk(self, pending: int) -> int:
        per_worker = -(-pending // self.size)
        return max(1, min(self.spec.batch_size, per_worker))

    def _run(self, payloads: Sequence[Any], timeout: float) -> list[SandboxResult]:
        results: list[SandboxResult | None] = [None] * len(payloads)
        pending: deque = deque([i, p] for i, p in enumerate(payloads))
        self._remaining = len(payloads)
        self._suspects = set()
        self._ensure_started(min(self.size, len(payloads)))
        start_grace = self.spec.start_timeout_s

        while self._remaining:
            if self._start_failures >= _MAX_START_FAILURES:
                self._fail_all(results, pending, f"{self.label} workers fail to start")
                break
            now = time.monotonic()
            active = 0
            for w in list(self._workers):
                if w.queue:
                    active += 1
                elif w.ready and pending and active < self.size:
                    count = min(self._chunk(len(pending)), len(pending))
                    batch = [pending.popleft()]
                    while len(batch) < count and batch[0][0] not in self._suspects and \
                            pending[0][0] not in self._suspects:
                        batch.append(pending.popleft())
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
            deadlines = [w.item_start + timeout if w.queue else w.started + start_grace for w in watched]
            ready = wait([w.conn for w in watched], timeout=max(0.0, min(deadlines) - time.monotonic()))
            for w in watched:
                if w.conn in ready:
                    self._drain(w, results, pending)
            now = time.monotonic()
            for w in list(self._workers):
                if w.queue and now > w.item_start + timeout:
                    job = w.queue.popleft()
                    results[job[0]] = SandboxResult("timeout", reason=f"call exceeded {timeout:g} s; worker killed",
                                                    seconds=now - w.item_start)
                    self._remaining -= 1
                    pending.extendleft(reversed(w.queue))
                    w.queue.clear()
                    self._replace(w)
                elif not w.ready and now > w.started + start_grace:
                    self._start_failures += 1
                    self._replace(w)
        return results  # type: ignore[return-value]

    def _fail_all(self, results: list, pending: deque, reason: str) -> None:
        for w in self._workers:
            pending.extendleft(reversed(w.queue))
            w.queue.clear()
        for job in pending:
            results[job[0]] = SandboxResult("error", reason=reason)
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
                for job, status, value, reason, seconds in msg[1]:
                    head = w.queue.popleft()
                    if head[0] != job:  # pragma: no cover - protocol bug
                        raise OSError("worker answered out of order")
                    results[job] = SandboxResult(status, value, reason, seconds)
                    self._remaining -= 1
                w.item_start = time.monotonic()
        except (EOFError, OSError, ValueError):
            # The worker died (crash, memory cap, a plugin calling os._exit): its current call
            # is "died", the rest of its batch goes back to the queue.
            if not w.ready:
                self._start_failures += 1
            running = w.running_job()
            jobs = [job[0] for job in w.queue]
            culprit = running if running in jobs else (jobs[0] if len(jobs) == 1 or (
                jobs and jobs[0] in self._suspects) else None)
            if culprit is not None:
                index = jobs.index(culprit)
                results[culprit] = SandboxResult("died", reason=f"{self.label} worker died during the call",
                                                 seconds=time.monotonic() - w.item_start)
                self._remaining -= 1
                del w.queue[index]
            else:  # unknown (the shared file unreadable): re-run them one by one to find it
                self._suspects.update(jobs)
            pending.extendleft(reversed(w.queue))
            w.queue.clear()
            self._replace(w)


if __name__ == "__main__":
    _main(sys.argv[1:])
