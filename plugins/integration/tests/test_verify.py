"""The integration verifier: labelled set, exactness, definite integrals, limits, pool."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from importlib import resources

import numpy as np
import pytest
import sympy
from ladder_core.records import VerdictStatus

from ladder_integration.verify import IntegrationVerifier, VerifierConfig, verify_in_process
from ladder_integration.verify.numeric import MPMATH, UnsupportedExpression, evaluate

CORRECT, INCORRECT = VerdictStatus.CORRECT, VerdictStatus.INCORRECT
UNPARSEABLE, TIMEOUT, ERROR = VerdictStatus.UNPARSEABLE, VerdictStatus.TIMEOUT, VerdictStatus.ERROR


def _labelled() -> list[dict]:
    text = resources.files("ladder_integration").joinpath("data/verifier_public.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _ans(text: str) -> str:
    return f"Some reasoning first.\n<ANSWER>{text}</ANSWER>"


def _check(problem: str, answer: str, **cfg) -> VerdictStatus:
    return verify_in_process(problem, _ans(answer), VerifierConfig(**cfg)).status


# ------------------------------------------------------------------ the labelled set


def test_labelled_set_has_210_checks():
    rows = _labelled()
    assert len(rows) == 210
    # 95 correct: three answers once labelled correct are wrong under the rule of #15
    # (acosh(x) on x < -1, -atan(1/x) jumping at 0); they are kept, labelled wrong.
    assert sum(r["label"] for r in rows) == 95
    assert {r["kind"] for r in rows if not r["label"]} >= {"half_domain", "jump"}


def test_labelled_set_every_item_right_in_process():
    cfg = VerifierConfig()
    wrong = []
    for r in _labelled():
        v = verify_in_process(r["problem"], r["completion"], cfg)
        if v.correct != r["label"]:
            wrong.append((r["problem"], r["completion"], r["label"], v.status.value, v.reason))
    assert wrong == []


def test_labelled_set_every_item_right_through_the_pool():
    rows = _labelled()
    with IntegrationVerifier(VerifierConfig(workers=2)) as verifier:
        verdicts = verifier.check_batch([(r["problem"], r["completion"]) for r in rows])
    assert [v.correct for v in verdicts] == [r["label"] for r in rows]
    assert all(v.status in (CORRECT, INCORRECT, UNPARSEABLE) for v in verdicts)


# ------------------------------------------------------------------ what counts as correct


@pytest.mark.parametrize(
    "problem, answer",
    [
        ("integrate(1/x, x)", "log(x)"),
        ("integrate(1/x, x)", "log(abs(x)) + 5"),
        ("integrate(1/x, x)", "log(3*x)"),
        ("integrate(1/x, x)", "log(x) + 3*sign(x)"),  # a different constant on each side of 0
        ("integrate(1/x**2, x)", "-1/x + Abs(x)/x"),
        ("integrate(sec(x)**2, x)", "tan(x)"),
        ("integrate(sin(x)*cos(x), x)", "-cos(2*x)/4"),
        ("integrate(1/sqrt(x**2 - 1), x)", "log(x + sqrt(x**2 - 1))"),
        ("integrate(1/sqrt(x**2 - 1), x)", "sign(x)*acosh(Abs(x))"),
        ("integrate(1/sqrt(x**2 + 1), x)", "arsinh(x)"),
        ("integrate(1/(1 - x**2), x)", "atanh(x)"),
        ("integrate(1/(1 - x**2), x)", "acoth(x)"),
        ("integrate(1/(1 - x**2), x)", "log(abs((1 + x)/(1 - x)))/2"),
        ("integrate(-1/(1 + x**2), x)", "acot(x)"),
        ("integrate(1/(Abs(x)*sqrt(x**2 - 1)), x)", "asec(x)"),
        ("integrate(1/(x*sqrt(x**2 - 1)), x)", "atan(sqrt(x**2 - 1))"),
        ("integrate(sinh(x)**2, x)", "sinh(2*x)/4 - x/2"),
        ("integrate(tanh(x), x)", "log(cosh(x))"),
        ("integrate(x**x*(log(x) + 1), x)", "x**x"),
        ("integrate(2**x, x)", "2**x/log(2)"),
        ("integrate(exp(x)*cos(x), x)", "\\frac{e^x(\\sin x + \\cos x)}{2}"),
        ("integrate(x**3*exp(-x**2), x)", "-(x**2 + 1)*exp(-x**2)/2"),
        ("integrate(cos(x)**4, x)", "3*x/8 + sin(2*x)/4 + sin(4*x)/32"),
        ("integrate(1/(x**3 - 1), x)", "log(x - 1)/3 - log(x**2 + x + 1)/6 - sqrt(3)*atan((2*x + 1)/sqrt(3))/3"),
        ("integrate(0, x)", "7"),
    ],
)
def test_accepts_every_correct_form(problem, answer):
    assert _check(problem, answer) is CORRECT


@pytest.mark.parametrize(
    "problem, answer",
    [
        ("integrate(x**2, x)", "1.001*x**3/3"),  # 0.1% off
        ("integrate(x**2, x)", "1.0001*x**3/3"),  # 0.01% off
        ("integrate(cos(x), x)", "1.005*sin(x)"),  # 0.5% off: the paper's tolerance accepts it
        ("integrate(1/x, x)", "log(x**2)"),
        ("integrate(1/(1 + x**2), x)", "atan(x) + x/1000"),
        ("integrate(exp(x), x)", "exp(x) + x**2/10**6"),
        ("integrate(sqrt(1 - x**2), x)", "asin(x)/2"),
        ("integrate(x, x)", "x**2/2 + sqrt(x - 100)"),  # real on a sliver only
        ("integrate(1/sqrt(x**2 - 1), x)", "-acosh(x)"),
        ("integrate(1/sqrt(x**2 - 1), x)", "acosh(x)"),  # right for x > 1 only
        ("integrate(x**2, x)", "x**3"),
        ("integrate(sin(x), x)", "cos(x)"),
    ],
)
def test_rejects_wrong_answers(problem, answer):
    assert _check(problem, answer) is INCORRECT


def test_float_rounding_never_decides_a_verdict():
    # Catastrophic cancellation in floats (sinh^2 - cosh^2 = -1 loses everything at
    # |x| > 20); the mpmath recheck must settle it as correct.
    assert _check("integrate(1, x)", "x + sinh(x)**2 - cosh(x)**2") is CORRECT
    assert _check("integrate(1, x)", "1.00001*x + sinh(x)**2 - cosh(x)**2") is INCORRECT


def test_verdicts_are_reproducible():
    cfg = VerifierConfig()
    a = verify_in_process("integrate(tan(x), x)", _ans("-log(cos(x))"), cfg)
    b = verify_in_process("integrate(tan(x), x)", _ans("-log(cos(x))"), cfg)
    assert (a.status, a.reason) == (b.status, b.reason) == (CORRECT, a.reason)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "completion, status, reason_part",
    [
        ("x**3/3", UNPARSEABLE, "no <ANSWER> block"),
        ("<ANSWER>x**3/3", UNPARSEABLE, "no <ANSWER> block"),
        ("<ANSWER>Integral(x**2, x)</ANSWER>", UNPARSEABLE, ""),
        ("<ANSWER>integrate(x**2, x)</ANSWER>", UNPARSEABLE, ""),
        ("<ANSWER>__import__('os').system('true')</ANSWER>", UNPARSEABLE, ""),
        ("<ANSWER>x**3/3 + y</ANSWER>", UNPARSEABLE, ""),
        ("<ANSWER></ANSWER>", UNPARSEABLE, ""),
        ("<answer>x**3/3</answer>", CORRECT, ""),
        ("<ANSWER>wrong</ANSWER> then <ANSWER>x^3/3 + C</ANSWER>", CORRECT, ""),
    ],
)
def test_bad_and_odd_completions(completion, status, reason_part):
    v = verify_in_process("integrate(x**2, x)", completion, VerifierConfig())
    assert v.status is status, v.reason
    assert reason_part in v.reason
    if status is UNPARSEABLE:
        assert v.reason


def test_non_string_input_gives_a_verdict():
    v = verify_in_process(None, 5, VerifierConfig())  # type: ignore[arg-type]
    assert v.status is ERROR and "string" in v.reason


def test_unparseable_problem_is_an_error_not_a_crash():
    v = verify_in_process("sum(1/n**2, (n, 1, oo))", _ans("pi**2/6"), VerifierConfig())
    assert v.status is ERROR and "problem" in v.reason


# ------------------------------------------------------------------ definite integrals


@pytest.mark.parametrize(
    "problem, answer, status",
    [
        ("integrate(x**2, (x, 0, 1))", "1/3", CORRECT),
        ("integrate(x**2, (x, 0, 1))", "0.3333333", INCORRECT),
        ("integrate(x**2, (x, 0, 1))", "x/3", INCORRECT),
        ("integrate(exp(-x**2), (x, -oo, oo))", "sqrt(pi)", CORRECT),
        ("integrate(1/(1 + x**2), (x, 0, oo))", "pi/2", CORRECT),
        ("integrate(1/(1 + x**2), (x, 0, oo))", "1.5707963", INCORRECT),
        ("integrate(log(x), (x, 0, 1))", "-1", CORRECT),  # endpoint singularity
        ("integrate(1/sqrt(x), (x, 0, 4))", "4", CORRECT),
        ("integrate(sin(x), x, 0, pi)", "2", CORRECT),
        ("integrate(x*exp(-x), (x, 0, oo))", "1", CORRECT),
        ("integrate(Abs(x**3 - x), (x, -4, 4))", "113", CORRECT),  # kinks: split at breakpoints
        ("integrate(floor(x)/2, x, 0, 20)", "95", CORRECT),  # 20 jumps
        ("integrate(floor(x)/2, x, 0, 20)", "95.001", INCORRECT),
        ("integrate(floor(x)*x*ceiling(x), (x, 0, 100))", "24997500", CORRECT),  # 100 jumps: Gauss-Legendre
        ("integrate((cos(3*x) + sin(2*x))*(-sin(2019*x) + cos(3*x)), (x, -2*pi, 2*pi))", "2*pi", CORRECT),
        ("integrate(x**5*exp(-x)*sin(x), (x, 0, oo))", "-15", CORRECT),  # sin of huge x: pieces
        ("integrate(1/((x + 1)*(log(x) + 1)), (x, 1, oo))", "1", ERROR),  # divergent: no reference
        ("integrate(x*exp(-x), (x, 0, oo))", "1 + C", UNPARSEABLE),
    ],
)
def test_definite_integrals(problem, answer, status):
    v = verify_in_process(problem, _ans(answer), VerifierConfig())
    assert v.status is status, v.reason


# ------------------------------------------------------------------ the other modes


def test_paper_mode_reproduces_the_papers_tolerance():
    assert _check("integrate(cos(x), x)", "sin(x)", mode="paper") is CORRECT
    assert _check("integrate(cos(x), x)", "1.005*sin(x)", mode="paper") is CORRECT  # its known weakness
    assert _check("integrate(cos(x), x)", "-sin(x)", mode="paper") is INCORRECT
    assert VerifierConfig(mode="quadrature").mode == "paper"


def test_paper_mode_unverifiable_is_a_timeout():
    # Quadrature never converges on a staircase: every interval is resampled until
    # the attempts run out, and the answer is "unverifiable".
    v = verify_in_process("integrate(exp(x), x)", _ans("exp(exp(exp(x + 20)))"), VerifierConfig(mode="paper", retries=1))
    assert v.status is TIMEOUT and "unverifiable" in v.reason


def test_simplify_mode_baseline():
    assert _check("integrate(2*x, x)", "x**2 + 1", mode="simplify") is CORRECT
    assert _check("integrate(2*x, x)", "x**2 + x", mode="simplify") is INCORRECT


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown verifier mode"):
        VerifierConfig(mode="vibes")


# ------------------------------------------------------------------ the evaluator


def test_evaluator_matches_sympy_derivatives_on_real_points():
    x = sympy.Symbol("x")
    exprs = [sympy.asec(x) * sympy.exp(x), sympy.acsch(x) + sympy.sech(x) ** 3, sympy.Abs(sympy.sin(x)) ** sympy.Rational(3, 2),
             x ** x, sympy.atan(1 / x) * sympy.coth(x), sympy.log(sympy.Abs(x - 2)) / (x + 3), sympy.csc(x) * sympy.cot(x)]
    pts = np.array([-2.7, -0.6, 0.45, 1.3, 3.9])
    for e in exprs:
        with np.errstate(all="ignore"):
            v, d = evaluate(e, x, pts + 0j)
        xr = sympy.Symbol("xr", real=True)
        de = sympy.diff(e.subs(x, xr), xr).subs(xr, x)
        for i, p in enumerate(pts):
            want_v = complex(e.evalf(30, subs={x: p}))
            if abs(want_v.imag) > 1e-12:
                continue  # branch conventions of non-real values may differ
            want_d = complex(de.evalf(30, subs={x: p}))
            assert abs(v[i] - want_v) <= 1e-10 * max(1, abs(want_v)), (e, p)
            assert abs(d[i] - want_d) <= 1e-9 * max(1, abs(want_d)), (e, p)


def test_evaluator_mpmath_backend_agrees_with_numpy():
    import mpmath

    x = sympy.Symbol("x")
    e = sympy.sqrt(x**2 + 1) * sympy.atanh(x / 3) - sympy.log(x) ** 2
    with np.errstate(all="ignore"):
        v, d = evaluate(e, x, np.array([0.7 + 0j]))
    with mpmath.workdps(30):
        mv, md = evaluate(e, x, mpmath.mpf(0.7), backend=MPMATH, dx=mpmath.mpf(1))
    assert abs(complex(mv) - v[0]) < 1e-13 and abs(complex(md) - d[0]) < 1e-13


def test_evaluator_refuses_nodes_outside_the_whitelist():
    x = sympy.Symbol("x")
    for e in (sympy.erf(x), sympy.Integral(x, x), sympy.Symbol("y") + x, sympy.gamma(x)):
        with pytest.raises(UnsupportedExpression):
            evaluate(e, x, np.array([0.5 + 0j]))


# ------------------------------------------------------------------ hard limits and the pool


def _slow_item() -> tuple[str, str]:
    # A 20,000-digit quadrature reference: far beyond any test timeout, no test hook needed.
    return "integrate(exp(-x**2)*cos(x), (x, 0, 1))", _ans("1")


def test_timeout_is_enforced_and_the_pool_recovers():
    cfg = VerifierConfig(workers=1, timeout_s=0.5, definite_dps=20000)
    with IntegrationVerifier(cfg) as verifier:
        verifier.check("integrate(x, x)", _ans("x**2/2"))  # workers started and warm
        start = time.monotonic()
        verdicts = verifier.check_batch([("integrate(x, x)", _ans("x**2/2")), _slow_item(),
                                         ("integrate(x, x)", _ans("x**2"))])
        elapsed = time.monotonic() - start
        assert [v.status for v in verdicts] == [CORRECT, TIMEOUT, INCORRECT]
        assert 0.5 <= verdicts[1].seconds < 1.5
        assert elapsed < 3.0
        assert verifier.restarts == 1
        assert verifier.check("integrate(cos(x), x)", _ans("sin(x)")).status is CORRECT


def test_works_from_a_non_main_thread():
    cfg = VerifierConfig(workers=1, timeout_s=0.5, definite_dps=20000)
    out: dict = {}
    with IntegrationVerifier(cfg) as verifier:

        def target() -> None:
            out["verdicts"] = verifier.check_batch([_slow_item(), ("integrate(2*x, x)", _ans("x^2"))])

        thread = threading.Thread(target=target)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert [v.status for v in out["verdicts"]] == [TIMEOUT, CORRECT]


def test_concurrent_callers_share_the_pool():
    rows = _labelled()[:40]
    results: list = [None] * 4
    with IntegrationVerifier(VerifierConfig(workers=2)) as verifier:

        def target(k: int) -> None:
            results[k] = verifier.check_batch([(r["problem"], r["completion"]) for r in rows])

        threads = [threading.Thread(target=target, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    for verdicts in results:
        assert [v.correct for v in verdicts] == [r["label"] for r in rows]


def test_a_worker_that_dies_costs_one_check():
    cfg = VerifierConfig(workers=1, timeout_s=10, definite_dps=20000)
    with IntegrationVerifier(cfg) as verifier:
        verifier.check("integrate(x, x)", _ans("x**2/2"))
        busy = [w for w in verifier._pool._workers if w.ready]

        def kill_soon() -> None:
            time.sleep(0.5)
            for w in verifier._pool._workers:
                if w.queue:
                    os.kill(w.process.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        verdicts = verifier.check_batch([_slow_item(), ("integrate(x, x)", _ans("x**2/2"))])
        killer.join()
        assert busy
        assert verdicts[0].status is ERROR and "died" in verdicts[0].reason
        assert verdicts[1].status is CORRECT


def test_workers_are_lazy_and_close_is_idempotent():
    verifier = IntegrationVerifier(VerifierConfig(workers=1))
    assert verifier._pool._workers == []
    assert verifier.check_batch([]) == []
    assert verifier._pool._workers == []
    assert verifier.check("integrate(x, x)", _ans("x**2/2")).correct
    pids = [w.process.pid for w in verifier._pool._workers]
    assert len(pids) == 2  # one worker and one idle spare
    verifier.close()
    verifier.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(RuntimeError):
        verifier.check("integrate(x, x)", _ans("x**2/2"))


def test_worker_memory_is_capped():
    with IntegrationVerifier(VerifierConfig(workers=1, memory_mb=256)) as verifier:
        assert verifier.check("integrate(x, x)", _ans("x**2/2")).correct
        ready = [w for w in verifier._pool._workers if w.ready]  # an idle spare may still be importing
        assert ready
        for w in ready:
            limits = open(f"/proc/{w.process.pid}/limits").read()
            line = next(row for row in limits.splitlines() if row.startswith("Max address space"))
            soft = line.split()[3]
            assert soft != "unlimited"
            with open(f"/proc/{w.process.pid}/statm") as fh:
                vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            assert vm < int(soft) <= vm + 300 * 2**20


def test_repeated_answers_are_remembered_per_problem_and_config():
    from ladder_integration.verify.checker import _VERDICTS, clear_caches

    clear_caches()
    cfg = VerifierConfig()
    first = verify_in_process("integrate(x**2, x)", _ans("x**3/3"), cfg)
    assert len(_VERDICTS) == 1
    again = verify_in_process("integrate(x**2, x)", "other text <ANSWER>x**3/3</ANSWER>", cfg)
    assert (again.status, again.reason) == (first.status, first.reason) and len(_VERDICTS) == 1
    assert verify_in_process("integrate(x**3, x)", _ans("x**3/3"), cfg).status is INCORRECT
    assert verify_in_process("integrate(cos(x), x)", _ans("1.005*sin(x)"), cfg).status is INCORRECT
    assert verify_in_process("integrate(cos(x), x)", _ans("1.005*sin(x)"), VerifierConfig(mode="paper")).status is CORRECT
    verify_in_process("integrate(x, x)", _ans("x" * 5000), cfg)  # long junk is not kept
    assert len(_VERDICTS) == 4
