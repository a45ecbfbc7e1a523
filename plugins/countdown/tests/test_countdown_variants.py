"""Variants: rule-based proposals are solvable and easier; LLM prompt pieces and reply parsing."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ladder_core.records import Problem, ValidatedVariant, VariantProposal, VariantRejection
from ladder_countdown.domain import CountdownDomain
from ladder_countdown.notation import parse_puzzle
from ladder_countdown.variants import (
    EASIER,
    PERSONAS,
    TRANSFORMATION_MENU,
    RulesVariantGenerator,
    intermediate_values,
    parse_variant_reply,
    random_expression,
    variant_prompt,
)
from ladder_countdown.verify import check_answer

PARENT = Problem(id="p", text="numbers: 8 3 9 1 6 4; target: 683", meta={"solution": "(9 * 8 + 4) * (6 + 3) - 1"})


def test_rules_propose_validated_solvable_variants(domain: CountdownDomain) -> None:
    generator = RulesVariantGenerator(easier_fraction=0.7)
    (proposals,) = generator.propose([PARENT], 12, random.Random(0))
    assert 8 <= len(proposals) <= 12
    assert len({p.text for p in proposals}) == len(proposals)
    parent = parse_puzzle(PARENT.text)
    kinds = set()
    for proposal in proposals:
        assert proposal.generator == "countdown-rules" and proposal.transformations
        kinds.add(proposal.transformations[0])
        assert isinstance(domain.validate_variant(PARENT, proposal), ValidatedVariant), proposal
        puzzle = parse_puzzle(proposal.text)
        # the note is a witness expression that really solves the variant
        assert check_answer(puzzle.numbers, puzzle.target, proposal.note)[0].value == "correct", proposal
        if proposal.transformations[0] in EASIER:
            assert len(puzzle.numbers) < len(parent.numbers) or puzzle.target != parent.target
    assert len(kinds) >= 3


def test_easier_fraction_one_gives_only_easier_rules() -> None:
    (proposals,) = RulesVariantGenerator(easier_fraction=1.0).propose([PARENT], 10, random.Random(1))
    assert proposals and all(p.transformations[0] in EASIER for p in proposals)


def test_rules_skip_unparseable_problems() -> None:
    assert RulesVariantGenerator().propose([Problem("x", "integrate(x, x)")], 5, random.Random(0)) == [[]]


def test_intermediate_values_and_random_expressions() -> None:
    assert sorted(v for v, _ in intermediate_values("(9 * 8 + 4) * (6 + 3) - 1")) == [9, 72, 76, 684]
    assert intermediate_values("oops(") == []
    rng = random.Random(0)
    for _ in range(20):
        value, expr = random_expression([3, 7, 25], rng)
        assert check_answer((3, 7, 25), value, expr)[0].value == "correct"


def test_variant_prompt_has_everything_a_generator_needs() -> None:
    prompt = variant_prompt(PARENT, EASIER[:3], PERSONAS[1], 7)
    assert PARENT.text in prompt and PERSONAS[1] in prompt and "Write 7 new puzzles" in prompt
    assert all(t in prompt for t in EASIER[:3]) and "<VARIANT>numbers:" in prompt
    assert TRANSFORMATION_MENU.easier and TRANSFORMATION_MENU.equivalent and TRANSFORMATION_MENU.harder


def test_reply_parsing_tags_bare_lines_notes_and_duplicates() -> None:
    reply = (
        "Sure! Here they are:\n"
        "1. <VARIANT>numbers: 4 7 25; target: 107</VARIANT> # 4 * 25 + 7, dropped numbers\n"
        "2. <variant>Numbers: [8, 9], Target: 72</variant> - 8 * 9\n"
        "3. <VARIANT>numbers: 4 7 25; target: 107</VARIANT> # duplicate\n"
        "4. <VARIANT>integrate(x, x)</VARIANT>\n"
    )
    proposals = parse_variant_reply(reply)
    assert [p.text for p in proposals] == [
        "numbers: 4 7 25; target: 107", "numbers: 8 9; target: 72", "integrate(x, x)"]
    assert proposals[0].note == "4 * 25 + 7, dropped numbers" and proposals[1].note == "8 * 9"
    bare = parse_variant_reply("- numbers: 2 3 4, target: 24 (2*3*4)\n- nothing here\n")
    assert [p.text for p in bare] == ["numbers: 2 3 4; target: 24"]
    assert parse_variant_reply("") == [] and parse_variant_reply(None) == []  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=500))
def test_reply_parsing_never_raises(reply: str) -> None:
    for proposal in parse_variant_reply(reply + "<VARIANT>" + reply[:50] + "</VARIANT>"):
        assert isinstance(proposal, VariantProposal) and len(proposal.text) <= 300


def test_validation_reasons(domain: CountdownDomain) -> None:
    def reason(text: str) -> str:
        result = domain.validate_variant(PARENT, VariantProposal(text))
        return result.reason if isinstance(result, VariantRejection) else "accepted"

    assert reason("numbers: 4 7 25; target: 107") == "accepted"
    assert reason("numbers: 4 3 1 9 6 8; target: 683") == "same_as_parent"  # order does not matter
    assert reason("nonsense") == "unparseable"
    assert reason("numbers: 5; target: 7") == "trivial"
    assert reason("numbers: 5 6; target: 6") == "trivial"
    assert reason("numbers: 1 2; target: 100") == "unsolvable"
    assert reason("numbers: 1 2 3 4 5 6 7 8 9; target: 5") == "unparseable"  # over max_numbers
    tight = CountdownDomain({"variant_max_nodes": 50})
    assert tight.validate_variant(PARENT, VariantProposal("numbers: 75 3 2 8 9 7; target: 99991")).reason == "timeout"
