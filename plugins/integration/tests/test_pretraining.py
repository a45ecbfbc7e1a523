"""Which evaluation problems the embedded tiny model was trained on (ladder_integration.tinymodel.pretraining)."""

from __future__ import annotations

import pytest

from ladder_integration.tinymodel import grammar
from ladder_integration.tinymodel.pretraining import integrand_key, recipe_term_sets, seen_in_pretraining


@pytest.fixture(scope="module")
def stages():
    return recipe_term_sets()


def test_the_recipe_keeps_the_train_roots_and_the_test_set_out(domain_sets):
    train, test = domain_sets
    assert seen_in_pretraining((p.id, p.text) for p in [*train, *test]) == {}


def test_a_training_integrand_is_found_whatever_its_term_order(stages):
    exposure = next(t for t in stages["exposure"] if len(t) == 3 and any(b.held_out for _, b in t))
    text = grammar.build_example(exposure, None).problem
    body = " + ".join(f"({c})*({t.expr()})" for c, t in reversed(exposure))
    reordered = f"integrate({body}, x)"
    other = "integrate(7*x**3*sin(5*x) + 11*x**5 + 13/(x + 9), x)"  # coefficients the grammar never draws
    seen = seen_in_pretraining([("a", text), ("b", reordered), ("c", other), ("d", "integrate(x**2, (x, 0, 1))")])
    assert seen == {"a": "exposure", "b": "exposure"}
    easy = next(t for t in stages["easy"] if len(t) == 2)
    assert seen_in_pretraining([("e", grammar.build_example(easy, None).problem)]) == {"e": "easy"}


@pytest.mark.parametrize("raw", ["", "integrate(", "__import__('os')", "integrate(x/3, x)", "integrate(x**2, (x, 0, 1))",
                                 "integrate(" + "(" * 400 + "x" + ")" * 400 + ", x)"])
def test_problems_that_cannot_be_grammar_integrands_have_no_key(raw):
    assert integrand_key(raw) is None


@pytest.fixture(scope="module")
def domain_sets():
    from ladder_core.domain import DomainContext
    from ladder_integration.domain import IntegrationDomain

    d = IntegrationDomain(None, DomainContext(model_scale="tiny"))
    try:
        yield d.load_problems("train"), d.load_problems("test")
    finally:
        d.close()


def test_the_domain_reports_overlap_for_its_embedded_model_only(tmp_path, stages):
    from ladder_core.domain import DomainContext
    from ladder_core.records import Problem
    from ladder_integration.domain import IntegrationDomain
    from ladder_integration.plugin import TINY_WEIGHTS

    hard = next(t for t in stages["exposure"] if any(b.held_out for _, b in t))  # only the exposure stage has these
    seen_text = grammar.build_example(hard, None).problem
    problems = [Problem("t/0", seen_text), Problem("t/1", "integrate(7*x**3*sin(5*x) + 11*x**5, x)")]
    d = IntegrationDomain(None, DomainContext(model_scale="tiny"))
    try:
        assert d.pretraining_overlap(problems, str(TINY_WEIGHTS)) == {"t/0": "exposure"}
        assert d.pretraining_overlap(problems, str(tmp_path)) is None  # another model: unknown, not "clean"
        assert d.pretraining_overlap(problems, "meta-llama/Llama-3.2-3B-Instruct") is None
    finally:
        d.close()
