"""The eval-free expression parser: grammar, exact arithmetic, limits, and never raising anything else."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_countdown.parsing import (
    BinOp,
    EvaluationError,
    ExpressionLimits,
    Num,
    ParseError,
    evaluate,
    format_expression,
    normalise_answer,
    numbers_used,
    parse_answer,
    parse_expression,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("10 - (4 - 3)", 9),
        ("100 / 4 / 5", 5),
        ("7 / 3 * 3", 7),
        ("(25 - 7) * 10 + 1", 181),
        ("((((8))))", 8),
        ("  6*4 ", 24),
    ],
)
def test_precedence_associativity_and_exact_division(text: str, value: int) -> None:
    assert evaluate(parse_expression(text)) == value


def test_fractions_are_exact_not_floats() -> None:
    assert evaluate(parse_expression("1 / 3")) == Fraction(1, 3)
    assert evaluate(parse_expression("(1/3 + 1/3 + 1/3) * 9")) == 9


def test_division_by_zero_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="division by zero"):
        evaluate(parse_expression("5 / (3 - 3)"))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("25 \u00d7 7 + 6", "25 * 7 + 6"),
        ("50 \u00f7 2 \u2212 3", "50 / 2 - 3"),
        ("$25 \\times 7 + 6$", "25 * 7 + 6"),
        ("`(3+4)*5`", "(3+4)*5"),
        ("25*7+6 = 181", "25*7+6"),
        ("\\left(3 + 4\\right) \\cdot 5", "(3 + 4 ) * 5"),
    ],
)
def test_normalise_maps_common_spellings(answer: str, expected: str) -> None:
    assert normalise_answer(answer).replace(" ", "") == expected.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("2 ** 3", "unexpected"),
        ("-3 + 5", "unary"),
        ("3 + -5", "unary"),
        ("2.5 * 4", "whole numbers"),
        ("(1 + 2", "unbalanced"),
        ("1 + 2)", "unbalanced"),
        ("1 2", "after a complete expression"),
        ("3 +", "ends too early"),
        ("__import__('os')", "unexpected character"),
        ("sqrt(4)", "unexpected character"),
        ("x + 1", "unexpected character"),
        ("\u0663 + 1", "unexpected character"),  # an Arabic-Indic digit is not a number here
        ("()", "unexpected"),
    ],
)
def test_rejections_say_why(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_answer(text)


def test_limits_are_enforced_before_any_arithmetic() -> None:
    limits = ExpressionLimits(max_chars=40, max_tokens=9, max_depth=3, max_digits=4)
    with pytest.raises(ParseError, match="too long"):
        parse_answer("1+" * 30 + "1", limits)
    with pytest.raises(ParseError, match="tokens"):
        parse_answer("1+1+1+1+1+1", limits)
    with pytest.raises(ParseError, match="nested deeper"):
        parse_answer("((((1))))", limits)
    with pytest.raises(ParseError, match="digits"):
        parse_answer("12345 + 1", limits)
    assert evaluate(parse_answer("(((1)))+1", limits)) == 2


def test_worst_case_inputs_are_fast() -> None:
    """The bound the verifier relies on: the largest accepted inputs parse and evaluate in milliseconds."""
    limits = ExpressionLimits()
    deep = "(" * limits.max_depth + "9999999" + ")" * limits.max_depth
    chain = "*".join(["9999999"] * 31)  # 61 tokens, within max_chars
    start = time.perf_counter()
    for text in (deep, chain, "1+" * 63 + "1"):
        evaluate(parse_answer(text, limits))
    for hostile in ("(" * 100_000, "9" * 1_000_000, "1+" * 500_000, "\x00" * 10_000):
        with pytest.raises(ParseError):
            parse_answer(hostile, limits)
    assert time.perf_counter() - start < 0.5


def test_numbers_used_and_format_round_trip() -> None:
    tree = parse_expression("(25 - (7 - 3)) * 10 / (4 / 2)")
    assert numbers_used(tree) == [25, 7, 3, 10, 4, 2]
    text = format_expression(tree)
    assert text == "(25 - (7 - 3)) * 10 / (4 / 2)"
    assert evaluate(parse_expression(text)) == evaluate(tree)


# ------------------------------------------------------------------ properties
_ops = st.sampled_from("+-*/")


def _trees(depth: int = 4):
    leaf = st.integers(min_value=1, max_value=999).map(Num)
    return st.recursive(leaf, lambda kids: st.builds(BinOp, _ops, kids, kids), max_leaves=8)


def _reference(node) -> Fraction:
    if isinstance(node, Num):
        return Fraction(node.value)
    left, right = _reference(node.left), _reference(node.right)
    if node.op == "/" and right == 0:
        raise ZeroDivisionError
    return {"+": left + right, "-": left - right, "*": left * right,
            "/": left / right if right else None}[node.op]


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_format_then_parse_preserves_value(tree) -> None:
    try:
        expected = _reference(tree)
    except ZeroDivisionError:
        with pytest.raises(EvaluationError):
            evaluate(parse_expression(format_expression(tree)))
        return
    parsed = parse_expression(format_expression(tree))
    assert evaluate(parsed) == expected
    assert sorted(numbers_used(parsed)) == sorted(numbers_used(tree))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("0123456789+-*/()= "), max_size=300))
def test_arbitrary_text_parses_or_raises_parse_error_only(text: str) -> None:
    limits = ExpressionLimits(max_chars=120, max_tokens=40, max_depth=5, max_digits=5)
    try:
        tree = parse_answer(text, limits)
    except ParseError:
        return
    assert len(numbers_used(tree)) <= limits.max_tokens
    assert all(n < 10**limits.max_digits for n in numbers_used(tree))
    try:
        evaluate(tree)
    except EvaluationError:
        pass
