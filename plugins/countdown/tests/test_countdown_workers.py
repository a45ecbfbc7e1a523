"""The worker pool's hard time limit: hung workers are killed, dead ones replaced, order kept."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from ladder_core.records import VerdictStatus
from ladder_countdown.workers import CheckPool

FAKE = textwrap.dedent(
    """
    import os, time

    def make(arg):
        if arg.get("broken"):
            raise ImportError("this worker cannot start")
        def check(task):
            answer = task[2]
            if answer == "hang":
                time.sleep(60)
            if answer == "die":
                os._exit(3)
            return ["correct", answer]
        return check
    """
)


@pytest.fixture
def fake_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "fake_countdown_worker.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))  # workers see the parent's sys.path
    return "fake_countdown_worker:make"


@pytest.fixture
def fake_pool(fake_factory: str):
    pool = CheckPool(size=1, timeout_s=0.5, factory=fake_factory)
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


def test_close_kills_workers_and_the_domain_restarts_its_pool_lazily() -> None:
    from ladder_core.records import Problem
    from ladder_countdown.domain import CountdownDomain

    pool = CheckPool(size=1, timeout_s=2.0)
    assert pool.run([((2, 3), 6, "2*3")])[0][0] is VerdictStatus.CORRECT
    procs = [w.process for w in pool._workers]
    pool.close()
    assert all(p.poll() is not None for p in procs)
    pool.close()  # twice is fine
    domain = CountdownDomain()
    problem = Problem("p", "numbers: 2 3; target: 5")
    assert domain.verify(problem, "<ANSWER>2 + 3</ANSWER>").status is VerdictStatus.CORRECT
    domain.close()
    assert domain.verify(problem, "<ANSWER>2 + 3</ANSWER>").status is VerdictStatus.CORRECT
    domain.close()


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        CheckPool(size=0)
    with pytest.raises(ValueError):
        CheckPool(timeout_s=0)


def test_a_worker_that_cannot_start_is_an_error_not_a_hang(fake_factory: str) -> None:
    from ladder_core.records import Problem
    from ladder_countdown.domain import CountdownDomain

    pool = CheckPool(size=1, timeout_s=0.5, factory=fake_factory, limits={"broken": 1})
    start = time.monotonic()
    assert pool.run([((1,), 1, "1")]) == [(VerdictStatus.ERROR, "verifier workers fail to start")]
    assert time.monotonic() - start < 30.0
    pool.close()
    domain = CountdownDomain()
    domain._pool = CheckPool(size=1, timeout_s=0.5, factory=fake_factory, limits={"broken": 1})
    verdict = domain.verify(Problem("p", "numbers: 1 2; target: 3"), "<ANSWER>1 + 2</ANSWER>")
    assert verdict.status is VerdictStatus.ERROR and "fail to start" in verdict.reason
    domain.close()
