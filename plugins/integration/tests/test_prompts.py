"""Prompts, the transformation menu, personas and the variant-reply parser."""

from __future__ import annotations

import pytest

from ladder_core.records import Problem, TransformationMenu
from ladder_integration import prompts
from ladder_integration.prompts import (
    PERSONAS,
    TRANSFORMATION_MENU,
    is_definite_text,
    parse_variant_reply,
    solve_prompt,
    variant_prompt,
)

INDEFINITE = Problem(id="p1", text="integrate(x*sin(x), x)", source="t", meta={"kind": "indefinite"})
DEFINITE = Problem(id="p2", text="integrate(x**2, (x, 0, 1))", source="t", meta={"kind": "definite"})


def texts(reply: str) -> list[str]:
    return [p.text for p in parse_variant_reply(reply)]


# ------------------------------------------------------------ solve prompt


def test_compact_prompt_is_exactly_problem_text_and_newline() -> None:
    assert solve_prompt(INDEFINITE, "compact") == "integrate(x*sin(x), x)\n"
    assert solve_prompt(DEFINITE, "compact") == "integrate(x**2, (x, 0, 1))\n"


def test_instruct_prompt_asks_for_tagged_sympy_antiderivative() -> None:
    text = solve_prompt(INDEFINITE, "instruct")
    assert "integrate(x*sin(x), x)" in text
    assert "<ANSWER>" in text and "</ANSWER>" in text
    assert "step by step" in text
    assert "constant of integration" in text
    assert "integrate(...)" in text  # forbids the integral itself in the answer
    assert "SymPy" in text


def test_instruct_prompt_for_definite_integral_asks_for_a_value() -> None:
    text = solve_prompt(DEFINITE, "instruct")
    assert "definite integral" in text and "value" in text
    assert "constant of integration" not in text
    # Without meta the shape of the text decides.
    bare = Problem(id="p3", text="integrate(exp(-x), (x, 0, oo))")
    assert "definite integral" in solve_prompt(bare)
    assert "antiderivative" in solve_prompt(Problem(id="p4", text="integrate(exp(-x), x)"))


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(ValueError, match="compact"):
        solve_prompt(INDEFINITE, "chatty")


def test_is_definite_text() -> None:
    assert is_definite_text("integrate(x, (x, 0, 1))")
    assert is_definite_text("integrate(f(x, y), (x, -1, pi/2))")
    assert not is_definite_text("integrate(max(x, 1), x)")
    assert not is_definite_text("integrate((x+1)*(x-1), x)")
    assert not is_definite_text("not an integral")


# ------------------------------------------------------ menu and personas


def test_menu_has_at_least_fifteen_entries_per_group_without_duplicates() -> None:
    assert isinstance(TRANSFORMATION_MENU, TransformationMenu)
    for group in (TRANSFORMATION_MENU.easier, TRANSFORMATION_MENU.equivalent, TRANSFORMATION_MENU.harder):
        assert len(group) >= 15
        assert len(set(group)) == len(group)
    everything = TRANSFORMATION_MENU.easier + TRANSFORMATION_MENU.equivalent + TRANSFORMATION_MENU.harder
    assert len(set(everything)) == len(everything)


def test_menu_contains_the_papers_examples() -> None:
    easier = " | ".join(TRANSFORMATION_MENU.easier)
    for phrase in ("reduce an exponent", "drop a term", "replace a nested function by its argument",
                   "simplify a coefficient to 1"):
        assert phrase in easier
    assert "change a coefficient" in TRANSFORMATION_MENU.equivalent
    assert any("introduce a nested function" in t for t in TRANSFORMATION_MENU.harder)


def test_personas() -> None:
    assert len(PERSONAS) >= 8
    assert len(set(PERSONAS)) == len(PERSONAS)
    assert any("Euler" in p and "series" in p for p in PERSONAS)


# ---------------------------------------------------------- variant prompt


def test_variant_prompt_lists_everything_the_generator_needs() -> None:
    text = variant_prompt(INDEFINITE, ["reduce an exponent", "drop a term"], PERSONAS[0], 7)
    assert text.startswith(PERSONAS[0])
    assert "integrate(x*sin(x), x)" in text
    assert "- reduce an exponent" in text and "- drop a term" in text
    assert "Write 7 new integrals" in text
    assert "<VARIANT>integrate(<integrand>, x)</VARIANT>" in text
    assert "#" in text


def test_variant_prompt_rejects_nonpositive_n() -> None:
    with pytest.raises(ValueError):
        variant_prompt(INDEFINITE, ["drop a term"], PERSONAS[0], 0)


def test_example_in_the_prompt_parses_as_one_variant() -> None:
    # A model that copies the example line verbatim still yields a well-formed candidate.
    proposals = parse_variant_reply(variant_prompt(INDEFINITE, ["drop a term"], PERSONAS[1], 3))
    assert [p.text for p in proposals][-1] == "integrate(x**2*exp(x), x)"


# -------------------------------------------------------- reply parsing


def test_parse_reply_in_the_requested_format() -> None:
    reply = (
        "<VARIANT>integrate(x**2*exp(x), x)</VARIANT> # reduced the exponent\n"
        "<VARIANT>integrate(sin(x), x)</VARIANT> # dropped the factor x\n"
    )
    proposals = parse_variant_reply(reply)
    assert [p.text for p in proposals] == ["integrate(x**2*exp(x), x)", "integrate(sin(x), x)"]
    assert [p.note for p in proposals] == ["reduced the exponent", "dropped the factor x"]
    assert all(p.transformations == () for p in proposals)


def test_parse_messy_reply() -> None:
    reply = """Sure! Here are some variants, thinking like Euler:

```python
1. <variant> integrate( x*cos(x) ,  x ) </Variant> -- swapped sin for cos
2. <VARIANT>
   integrate(sin(x), x)
</VARIANT>
```
3. **integrate(x*sin(2*x), x)**  # changed the coefficient
4. Integral(sin(x)/x, x) (introduced a quotient)
5. $\\int x^{2}\\sin(x)\\, dx$ : raised the exponent
6. <VARIANT>integrate(x*cos(x), x)</VARIANT> # a duplicate of 1
Hope this helps; the original was integrate(x*sin(x), x)."""
    got = texts(reply)
    assert got == [
        "integrate(x*cos(x), x)",
        "integrate(sin(x), x)",
        "integrate(x*sin(2*x), x)",
        "integrate(sin(x)/x, x)",
        "integrate(x**2*sin(x), x)",
        "integrate(x*sin(x), x)",  # an echo of the parent: validation rejects it as same_as_parent
    ]
    notes = {p.text: p.note for p in parse_variant_reply(reply)}
    assert notes["integrate(x*cos(x), x)"] == "swapped sin for cos"
    assert notes["integrate(x*sin(2*x), x)"] == "changed the coefficient"


def test_parse_keeps_nested_parentheses_and_definite_shapes() -> None:
    got = texts("<VARIANT>integrate(exp(-(x+1)**2)*(x**2+1), x)</VARIANT>\n"
                "<VARIANT>integrate(x, (x, 0, 1))</VARIANT>")
    assert got == ["integrate(exp(-(x+1)**2)*(x**2+1), x)", "integrate(x, (x, 0, 1))"]


def test_parse_tolerates_truncated_and_broken_output() -> None:
    assert texts("<VARIANT>integrate(x**2, x)</VARIANT>\n<VARIANT>integrate(log(x") == ["integrate(x**2, x)"]
    assert texts("<VARIANT>integrate(x**2, x)</VARIANT>\n<VARIANT>integrate(log(x), x)") == [
        "integrate(x**2, x)", "integrate(log(x), x)"]
    assert texts("") == []
    assert texts("I cannot do that.") == []
    assert texts("integrate(((((") == []
    assert parse_variant_reply(None) == []  # type: ignore[arg-type]


def test_parse_keeps_text_it_cannot_judge_for_the_validator() -> None:
    # The parser does not evaluate: nonsense inside a well-formed call is passed on unchanged.
    got = texts("<VARIANT>integrate(__import__('os').system('x'), x)</VARIANT>")
    assert got == ["integrate(__import__('os').system('x'), x)"]


def test_latex_fallback_shapes() -> None:
    assert texts("$$\\int \\frac{1}{x^2+1}\\,dx$$") == ["integrate(((1)/(x**2+1)), x)"]
    assert texts("\\int 2x\\cos x \\, dx") == ["integrate(2*x*cos(x), x)"]
    assert texts("\\int \\sin^2(x)\\, dx") == ["integrate((sin(x))**2, x)"]
    assert texts("\\int e^{-x} \\sqrt{x+1} \\mathrm{d}x") == ["integrate(exp(-x)*sqrt(x+1), x)"]
    assert texts("\\int_0^1 x\\,dx") == []  # definite LaTeX integrals are not variants
    assert texts("\\int \\Gamma(x)\\, dx") == []  # unknown command: dropped, not guessed


def test_parse_is_bounded_on_huge_replies() -> None:
    reply = "".join(f"<VARIANT>integrate(x**{i}, x)</VARIANT>\n" for i in range(2, 2000))
    proposals = parse_variant_reply(reply)
    assert len(proposals) == prompts.MAX_PROPOSALS
    assert texts("integrate(" + "(" * 50_000 + "x" + ")" * 50_000 + ", x)") == []


@pytest.mark.parametrize(
    "reply",
    [
        "<VARIANT>" * 20_000,
        "integrate(" * 20_000,
        "\\int " * 40_000,
        ("\\int " * 400 + "\n") * 100,
        "integrate(x" + "(" * 190_000,
        "integrate(x, x) # note " * 8_000,
        "<VARIANT>integrate(x, x)</VARIANT>" + "</VARIANT>" * 20_000,
    ],
    ids=["open-tags", "open-calls", "latex-ints", "latex-lines", "open-parens", "many-calls", "close-tags"],
)
def test_parse_is_linear_on_adversarial_replies(reply: str) -> None:
    import time

    start = time.perf_counter()
    proposals = parse_variant_reply(reply)
    assert time.perf_counter() - start < 2.0
    assert len(proposals) <= 1
