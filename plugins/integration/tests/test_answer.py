"""The <ANSWER> convention: extraction and the format-reward check."""

from ladder_integration.answer import extract_answer, has_answer_format


def test_extracts_and_strips():
    assert extract_answer("work...\n<ANSWER>  x**2/2 + C \n</ANSWER>") == "x**2/2 + C"


def test_case_insensitive_tags():
    assert extract_answer("<answer>x</Answer>") == "x"
    assert extract_answer("<AnSwEr>sin(x)</aNsWeR>") == "sin(x)"


def test_last_block_wins():
    text = "<ANSWER>draft</ANSWER> more thought <ANSWER>final</ANSWER> trailing"
    assert extract_answer(text) == "final"


def test_stray_open_tag_does_not_swallow_final_answer():
    assert extract_answer("<ANSWER>oops <ANSWER>x**3</ANSWER>") == "x**3"


def test_absent_or_unclosed():
    assert extract_answer("no tags at all") is None
    assert extract_answer("<ANSWER>x**2") is None
    assert extract_answer("x**2</ANSWER>") is None
    assert extract_answer("</ANSWER><ANSWER>") is None
    assert extract_answer(None) is None  # type: ignore[arg-type]


def test_trailing_unclosed_tag_does_not_hide_closed_block():
    assert extract_answer("<ANSWER>final</ANSWER> then <ANSWER>unfinished") == "final"
    assert extract_answer("<ANSWER>x</ANSWER></ANSWER>") == "x"


def test_multiline_content_kept():
    assert extract_answer("<ANSWER>\nx +\n1\n</ANSWER>") == "x +\n1"


def test_empty_block():
    assert extract_answer("<ANSWER>   </ANSWER>") == ""
    assert not has_answer_format("<ANSWER>   </ANSWER>")


def test_has_answer_format():
    assert has_answer_format("thinking <ANSWER>x</ANSWER>")
    assert not has_answer_format("thinking <ANSWER>x")
    assert not has_answer_format("x")
    assert not has_answer_format("")


def test_long_hostile_completion_is_fast():
    import time

    text = "<ANSWER>" * 100_000 + "x" + "</answer>" * 3
    start = time.perf_counter()
    assert extract_answer(text) == "x"
    assert time.perf_counter() - start < 0.05
