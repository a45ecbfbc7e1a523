"""The worker pool's hard time limit: hung workers are killed, dead ones replaced, order kept."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from ladder_core.records import VerdictStatus
from ladder_countdown.workers import CheckPool

FAKE_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        task = json.loads(line)
        if task["answer"] == "hang":
            time.sleep(60)
        if task["answer"] == "die":
            os._exit(3)
        print(json.dumps({"id": task["id"], "status": "correct", "reason": task["answer"]}), flush=True)
    """
)


@pytest.fixture
def fake_pool(tmp_path: Path):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    pool = CheckPool(size=1, timeout_s=0.5, command=[sys.executable, str(script)])
    yield pool
    pool.close()


def test_real_workers_check_in_order() -> None:
    pool = CheckPool(size=2, timeout_s=2.0)
    try:
        tasks = [((3, 7, 25), 178, "25 * 7 + 3"), ((3, 7, 25), 178, "25 * 7"), ((3, 7), 10, "3 +")] * 40
        results = pool.run(tasks)
        expected = [VerdictStatus.CORRECT, VerdictStatus.INCORRECT, VerdictStatus.UNPARSEABLE]
        assert [s for s, _ in results[:3]] == expected
        assert results == results[:3] * 40
        assert results[1][1] == "evaluates to 175, not the target 178"
        assert pool.restarts == 0
    finally:
        pool.close()


def test_a_hung_check_times_out_and_the_rest_still_run(fake_pool: CheckPool) -> None:
    start = time.monotonic()
    results = fake_pool.run([((1,), 1, "a"), ((1,), 1, "hang"), ((1,), 1, "b"), ((1,), 1, "c")])
    elapsed = time.monotonic() - start
    assert results[0] == (VerdictStatus.CORRECT, "a")
    assert results[1][0] is VerdictStatus.TIMEOUT and "killed" in results[1][1]
    assert results[2:] == [(VerdictStatus.CORRECT, "b"), (VerdictStatus.CORRECT, "c")]
    assert fake_pool.restarts == 1
    assert elapsed < 5.0


def test_a_dying_worker_is_an_error_and_is_replaced(fake_pool: CheckPool) -> None:
    results = fake_pool.run([((1,), 1, "die"), ((1,), 1, "after")])
    assert results[0] == (VerdictStatus.ERROR, "verifier worker died")
    assert results[1] == (VerdictStatus.CORRECT, "after")
    assert fake_pool.run([((1,), 1, "again")]) == [(VerdictStatus.CORRECT, "again")]


def test_the_time_limit_works_off_the_main_thread(fake_pool: CheckPool) -> None:
    import threading

    out: list = []
    thread = threading.Thread(target=lambda: out.extend(fake_pool.run([((1,), 1, "hang"), ((1,), 1, "x")])))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [s for s, _ in out] == [VerdictStatus.TIMEOUT, VerdictStatus.CORRECT]


def test_close_kills_workers_and_the_pool_restarts_lazily() -> None:
    pool = CheckPool(size=1, timeout_s=2.0)
    assert pool.run([((2, 3), 6, "2*3")])[0][0] is VerdictStatus.CORRECT
    procs = [w.proc for w in pool._workers]
    pool.close()
    assert all(p.poll() is not None for p in procs)
    pool.close()  # twice is fine
    assert pool.run([((2, 3), 5, "2+3")])[0][0] is VerdictStatus.CORRECT
    pool.close()


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        CheckPool(size=0)
    with pytest.raises(ValueError):
        CheckPool(timeout_s=0)


def test_slow_start_up_does_not_count_against_a_check(tmp_path: Path) -> None:
    script = tmp_path / "slow_worker.py"
    script.write_text("import time\ntime.sleep(1.0)\n" + FAKE_WORKER)
    pool = CheckPool(size=1, timeout_s=0.3, command=[sys.executable, str(script)])
    try:
        results = pool.run([((1,), 1, "a"), ((1,), 1, "b")])
        assert results == [(VerdictStatus.CORRECT, "a"), (VerdictStatus.CORRECT, "b")]
    finally:
        pool.close()


def test_a_worker_that_cannot_start_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    from ladder_core.records import Problem
    from ladder_countdown import workers
    from ladder_countdown.domain import CountdownDomain

    monkeypatch.setattr(workers, "STARTUP_TIMEOUT_S", 0.5)
    for command in ([sys.executable, "-c", "import time; time.sleep(30)"], [sys.executable, "-c", "print('hello')"]):
        pool = CheckPool(size=1, timeout_s=0.5, command=command)
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="verifier worker"):
            pool.run([((1,), 1, "1")])
        assert time.monotonic() - start < 5.0
        pool.close()
    domain = CountdownDomain()
    domain._pool = CheckPool(size=1, timeout_s=0.5, command=[sys.executable, "-c", "pass"])
    verdict = domain.verify(Problem("p", "numbers: 1 2; target: 3"), "<ANSWER>1 + 2</ANSWER>")
    assert verdict.status is VerdictStatus.ERROR and "verifier pool failed" in verdict.reason
    domain.close()
