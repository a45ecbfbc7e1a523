"""The core's killable worker pool: every way a call can end, and the pool always recovers."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest

from ladder_core.sandbox import SandboxPool, SandboxSpec

HANDLERS = textwrap.dedent(
    """
    import os, time

    def make(arg):
        if arg == "broken":
            raise ImportError("cannot set up")
        def handle(payload):
            kind = payload[0]
            if kind == "hang":
                time.sleep(60)
            if kind == "die":
                os._exit(3)
            if kind == "raise":
                raise ValueError("plugin bug")
            if kind == "object":
                return object()
            if kind == "alloc":
                return len(bytearray(2 * 1024 ** 3))
            if kind == "sleep":
                time.sleep(payload[1])
            return [kind, arg]
        return handle
    """
)


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "sandbox_test_handlers.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))  # workers import what the parent can
    return "sandbox_test_handlers:make"


@pytest.fixture
def pool(factory: str):
    pool = SandboxPool(SandboxSpec(factory=factory, arg="A", workers=1, spare_workers=1, timeout_s=0.5,
                                   memory_mb=256), label="test")
    yield pool
    pool.close()


def test_every_outcome_in_one_batch_and_order_is_kept(pool: SandboxPool) -> None:
    start = time.monotonic()
    results = pool.map([["a"], ["hang"], ["b"], ["raise"], ["die"], ["object"], ["alloc"], ["c"]])
    assert time.monotonic() - start < 15
    assert [r.status for r in results] == ["ok", "timeout", "ok", "error", "died", "error", "error", "ok"]
    assert results[0].value == ["a", "A"] and results[7].value == ["c", "A"]
    assert "killed" in results[1].reason and 0.5 <= results[1].seconds < 2
    assert "ValueError: plugin bug" in results[3].reason
    assert "test worker died" in results[4].reason
    assert "not JSON" in results[5].reason
    assert "memory" in results[6].reason  # the address-space cap turned a 2 GB allocation into an error
    assert pool.restarts == 2  # the hung worker and the dead one; the die is pinned on the right call
    assert pool.map([["again"]])[0].value == ["again", "A"]


def test_a_per_call_timeout_overrides_the_spec(pool: SandboxPool) -> None:
    assert pool.map([["sleep", 1.0]], timeout_s=3.0)[0].ok
    assert pool.map([["sleep", 1.0]], timeout_s=0.2)[0].status == "timeout"


def test_the_deadline_works_off_the_main_thread(pool: SandboxPool) -> None:
    out: list = []
    thread = threading.Thread(target=lambda: out.extend(pool.map([["hang"], ["x"]])))
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert [r.status for r in out] == ["timeout", "ok"]


def test_workers_that_cannot_start_give_errors_not_a_hang(factory: str) -> None:
    pool = SandboxPool(SandboxSpec(factory=factory, arg="broken", workers=1, spare_workers=0), label="test")
    try:
        results = pool.map([["a"], ["b"]])
        assert [(r.status, r.reason) for r in results] == [("error", "test workers fail to start")] * 2
    finally:
        pool.close()


def test_close_kills_workers_and_is_idempotent(pool: SandboxPool) -> None:
    assert pool.map([]) == []
    assert pool._workers == []  # lazy
    pool.map([["a"]])
    procs = [w.process for w in pool._workers]
    assert len(procs) == 2  # one worker, one idle spare
    pool.close()
    pool.close()
    assert all(p.poll() is not None for p in procs)
    with pytest.raises(RuntimeError, match="closed"):
        pool.map([["a"]])


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="module:function"):
        SandboxSpec(factory="no_colon")
    with pytest.raises(ValueError):
        SandboxSpec(factory="m:f", timeout_s=0)
    with pytest.raises(ValueError):
        SandboxSpec(factory="m:f", batch_size=0)
