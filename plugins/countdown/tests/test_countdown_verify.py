"""The verifier: structured verdicts for right, wrong and hostile answers; never raises; bounded."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_core.records import Verdict, VerdictStatus
from ladder_countdown.parsing import ExpressionLimits
from ladder_countdown.verify import check_answer, extract_answer, has_answer_format, verify_completion

PROBLEM = "numbers: 3 7 25 50 7; target: 178"


def _v(answer: str, problem: str = PROBLEM) -> Verdict:
    return verify_completion(problem, f"Some reasoning...\n<ANSWER>{answer}</ANSWER>")


@pytest.mark.parametrize(
    "answer",
    ["25 * 7 + 3", "(50 - 25) * 7 + 3", "7 * 25 + 3 = 178", "25 \u00d7 7 + 3", "3 + 7 * 25"],
)
def test_correct_answers(answer: str) -> None:
    verdict = _v(answer)
    assert verdict.status is VerdictStatus.CORRECT, verdict.reason
    assert verdict.correct


def test_intermediate_fractions_are_allowed() -> None:
    assert _v("6 / (3 / 4)", "numbers: 3 4 6; target: 8").correct


def test_a_duplicated_number_may_be_used_as_often_as_given() -> None:
    assert _v("7 * 7 * 2", "numbers: 7 2 7; target: 98").correct
    assert _v("7 * 7 * 7 * 2", "numbers: 7 2 7; target: 686").reason == "uses 7 3 times but it is given twice"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("25 * 7 + 3 + 0", "uses 0, which is not one of the numbers"),
        ("178", "uses 178, which is not one of the numbers"),
        ("25 * 7 * 7 / 7 + 3", "uses 7 3 times but it is given twice"),
        ("(50 - 25) * 7 + 3 + 3 - 3", "uses 3 3 times but it is given once"),
        ("25 * 7 + 3 + 1", "uses 1, which is not one of the numbers"),
        ("25 * 7 + 7 - 3", "evaluates to 179, not the target 178"),
        ("25 * 7 + 3 / 7", "evaluates to 1228/7, not the target 178"),
        ("50 / (7 - 7) + 3", "division by zero"),
    ],
)
def test_wrong_answers_are_incorrect_with_a_reason(answer: str, reason: str) -> None:
    verdict = _v(answer)
    assert verdict.status is VerdictStatus.INCORRECT
    assert verdict.reason == reason


@pytest.mark.parametrize(
    "completion",
    [
        "",
        "25 * 7 + 3",  # no tags
        "<ANSWER>25 * 7 + 3",  # unterminated
        "<ANSWER></ANSWER>",
        "<ANSWER>__import__('os').system('echo pwned')</ANSWER>",
        "<ANSWER>9**9**9**9</ANSWER>",
        "<ANSWER>" + "(" * 5000 + "</ANSWER>",
        "<ANSWER>" + "1" * 200_000 + "</ANSWER>",
        "<ANSWER>-3 + 181</ANSWER>",
        "<answer>\x00\xff\ud7ff</answer>",
    ],
)
def test_malformed_answers_are_unparseable(completion: str) -> None:
    verdict = verify_completion(PROBLEM, completion)
    assert verdict.status is VerdictStatus.UNPARSEABLE, verdict
    assert verdict.reason


def test_a_malformed_problem_is_an_error_not_a_crash() -> None:
    verdict = verify_completion("integrate(x, x)", "<ANSWER>1+1</ANSWER>")
    assert verdict.status is VerdictStatus.ERROR
    assert "not a Countdown problem" in verdict.reason


def test_the_last_answer_block_is_graded_case_insensitively() -> None:
    completion = "<ANSWER>1+2</ANSWER> wait, better: < answer >25 * 7 + 3</ANSWER >"
    assert extract_answer(completion) == "25 * 7 + 3"
    assert verify_completion(PROBLEM, completion).correct
    second_thoughts = "<ANSWER>25*7+3</ANSWER> no: <ANSWER>1+1</ANSWER>"
    assert verify_completion(PROBLEM, second_thoughts).status is VerdictStatus.INCORRECT


def test_format_reward_needs_a_non_empty_block() -> None:
    assert has_answer_format("<ANSWER>1 + 1</ANSWER>")
    assert not has_answer_format("<ANSWER>  </ANSWER>")
    assert not has_answer_format("the answer is 25 * 7 + 3")


def test_tag_scanning_is_linear_on_adversarial_completions() -> None:
    start = time.perf_counter()
    adversarial = ("<answer>" * 100_000, "</answer>" * 100_000, "<" + " " * 500_000, "<answer>" * 50_000 + "</answer>")
    for completion in adversarial:
        verify_completion(PROBLEM, completion)
    assert time.perf_counter() - start < 2.0


def test_check_answer_is_the_pure_core() -> None:
    assert check_answer((3, 7, 25), 178, "25 * 7 + 3") == (VerdictStatus.CORRECT, "uses 3 of 3 numbers")
    status, _ = check_answer((3, 7, 25), 178, "25 * 7 + 3", ExpressionLimits(max_chars=5))
    assert status is VerdictStatus.UNPARSEABLE


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["", "<ANSWER>", "<answer>", "</ANSWER>"]))
def test_verify_never_raises_and_never_accepts_noise(text: str, prefix: str) -> None:
    verdict = verify_completion(PROBLEM, prefix + text + "</ANSWER>")
    assert isinstance(verdict, Verdict)
    if verdict.correct:  # only possible if the noise happens to be a right expression
        answer = extract_answer(prefix + text + "</ANSWER>") or ""
        assert check_answer((3, 7, 25, 50, 7), 178, answer)[0] is VerdictStatus.CORRECT


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+-*/() ", max_size=300))
def test_arithmetic_looking_noise_is_judged_within_limits(text: str) -> None:
    start = time.perf_counter()
    verdict = verify_completion(PROBLEM, f"<ANSWER>{text}</ANSWER>")
    assert verdict.status in {VerdictStatus.CORRECT, VerdictStatus.INCORRECT, VerdictStatus.UNPARSEABLE}
    assert time.perf_counter() - start < 0.5
