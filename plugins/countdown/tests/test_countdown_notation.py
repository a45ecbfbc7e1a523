"""The problem notation: canonical text, lenient reading of model-written variants, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_core.records import Problem, ValidatedVariant, VariantProposal, VariantRejection
from ladder_countdown.domain import CountdownDomain
from ladder_countdown.notation import Puzzle, PuzzleError, PuzzleLimits, format_puzzle, parse_puzzle


@pytest.mark.parametrize(
    "text",
    [
        "numbers: 3 7 25 50; target: 178",
        "Numbers: [3, 7, 25, 50], Target: 178",
        "  NUMBERS = 3,7,25,50 ; target=178. ",
        "numbers: (3 7 25 50) | target: 178",
    ],
)
def test_spellings_read_to_the_same_canonical_puzzle(text: str) -> None:
    puzzle = parse_puzzle(text)
    assert puzzle == Puzzle((3, 7, 25, 50), 178)
    assert puzzle.text == "numbers: 3 7 25 50; target: 178"


def test_key_sorts_numbers_and_keeps_duplicates() -> None:
    assert parse_puzzle("numbers: 50 7 3 7; target: 9").key == "numbers: 3 7 7 50; target: 9"
    assert format_puzzle([1, 2], 3) == "numbers: 1 2; target: 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("integrate(x, x)", "expected"),
        ("numbers: ; target: 5", "expected"),
        ("numbers: 1 2 3; target: -5", "expected"),
        ("numbers: 1.5 2; target: 5", "expected"),
        ("numbers: 0 2; target: 5", "positive"),
        ("numbers: 1 2; target: 0", "target must be"),
        ("numbers: 1 2 3 4 5 6 7 8 9; target: 5", "9 numbers"),
        ("numbers: 1 20000; target: 5", "larger than"),
        ("numbers: 1 2; target: 5000000", "target must be"),
        ("numbers: 1 2; target: 5" + " " * 400, "too long"),
    ],
)
def test_rejections_say_why(text: str, message: str) -> None:
    with pytest.raises(PuzzleError, match=message):
        parse_puzzle(text)


def test_limits_are_configurable() -> None:
    with pytest.raises(PuzzleError):
        parse_puzzle("numbers: 1 2 3; target: 6", PuzzleLimits(max_numbers=2))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"numbers: [0-9 ,]{0,40}; target: [0-9]{0,12}", fullmatch=True))
def test_parse_puzzle_raises_only_puzzle_error(text: str) -> None:
    try:
        puzzle = parse_puzzle(text)
    except PuzzleError:
        return
    assert parse_puzzle(puzzle.text) == puzzle
    assert 1 <= len(puzzle.numbers) <= 8 and 1 <= puzzle.target <= 1_000_000


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"numbers: [0-9]{1,3}( [0-9]{1,3}){0,5}; target: [0-9]{1,4}", fullmatch=True)
       | st.text(max_size=80))
def test_validate_variant_never_raises(text: str) -> None:
    domain = CountdownDomain({"verifier": {"mode": "inline"}, "variant_max_nodes": 2_000})
    result = domain.validate_variant(Problem("p", "numbers: 3 7 25 50; target: 178"), VariantProposal(text))
    assert isinstance(result, (ValidatedVariant, VariantRejection))
    if isinstance(result, ValidatedVariant):
        assert parse_puzzle(result.text).key == result.canonical
