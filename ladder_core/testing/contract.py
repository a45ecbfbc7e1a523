"""Checks every domain plugin should pass; call them from the plugin's own tests.

``check_domain_contract(domain)`` exercises the methods the core relies on,
with hostile completions, and asserts the rules of ``ladder_core.domain``:
verification never raises, returns a Verdict quickly, and the problem sets
load. It is what the ``ladder_domain_contract`` pytest fixture runs.
"""

from __future__ import annotations

import time

from ladder_core.domain import Domain
from ladder_core.records import ValidatedVariant, VariantProposal, VariantRejection, Verdict

HOSTILE_COMPLETIONS = (
    "",
    "<ANSWER></ANSWER>",
    "<ANSWER>__import__('os').system('echo pwned')</ANSWER>",
    "<ANSWER>" + "(" * 5000 + "</ANSWER>",
    "<ANSWER>9**9**9**9</ANSWER>",
    "<ANSWER>" + "1" * 200_000 + "</ANSWER>",
    "<answer>\x00\xff\ud7ff</answer>",
    "no tags at all",
)


def check_domain_contract(domain: Domain, *, max_seconds_per_check: float = 10.0) -> None:
    assert domain.name, "a domain must have a name"
    sets = domain.problem_sets()
    assert sets, "a domain must ship at least one problem set"
    problems = domain.load_problem_set(sets[0].name)
    assert problems, f"problem set {sets[0].name} is empty"
    problem = problems[0]
    for split in ("train", "test"):
        assert domain.load_problems(split), f"load_problems({split!r}) is empty"
    assert domain.extract_answer("no answer here") is None
    assert domain.extract_answer("<ANSWER>42</ANSWER>") == "42", "answers go in <ANSWER> tags"
    assert domain.has_answer_format("<ANSWER>42</ANSWER>") and not domain.has_answer_format("42")
    for style in ("instruct", "compact"):
        prompt = domain.solve_prompt(problem, style=style)
        assert isinstance(prompt, str) and prompt
    for completion in HOSTILE_COMPLETIONS:
        start = time.monotonic()
        verdict = domain.verify(problem, completion)
        elapsed = time.monotonic() - start
        assert isinstance(verdict, Verdict), f"verify returned {verdict!r}"
        assert not verdict.correct, f"hostile completion accepted: {completion[:60]!r}"
        assert elapsed < max_seconds_per_check, f"check took {elapsed:.1f}s"
    batch = domain.verify_batch([problem] * len(HOSTILE_COMPLETIONS), list(HOSTILE_COMPLETIONS))
    assert len(batch) == len(HOSTILE_COMPLETIONS) and all(isinstance(v, Verdict) for v in batch)
    menu = domain.transformation_menu()
    assert menu.easier, "the transformation menu needs easier rewrites"
    assert list(domain.personas()), "at least one persona"
    prompt = domain.variant_prompt(problem, list(menu.easier[:3]), list(domain.personas())[0], 5)
    assert isinstance(prompt, str) and problem.text in prompt
    for text in ("", "garbage ((", problem.text):
        result = domain.validate_variant(problem, VariantProposal(text))
        assert isinstance(result, (ValidatedVariant, VariantRejection))
    same = domain.validate_variant(problem, VariantProposal(problem.text))
    assert isinstance(same, VariantRejection), "a variant equal to its parent must be rejected"
    assert isinstance(domain.canonical_form(problem), str)
