"""``IntegrationDomain``: config resolution, verification, variant validation and the reference solver."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from omegaconf import OmegaConf

from ladder_core.domain import Domain, DomainContext
from ladder_core.records import (
    Problem,
    TransformationMenu,
    ValidatedVariant,
    VariantProposal,
    VariantRejection,
    VerdictStatus,
)
from ladder_integration.config import IntegrationConfig, VerifierNode, coerce_config
from ladder_integration.domain import IntegrationDomain
from ladder_integration.problem_sets import load_problem_set
from ladder_integration.variants import ProgrammaticVariantGenerator
from ladder_integration.verify import VerifierConfig

PARENT = Problem(id="p", text="integrate(x**2*sin(x), x)", source="t", meta={"kind": "indefinite"})


def small_config(**changes) -> IntegrationConfig:
    """One verifier worker: the test machine has two shared cores."""
    cfg = IntegrationConfig(verifier=VerifierNode(workers=1, timeout_s=5.0))
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture(scope="module")
def domain() -> Iterator[IntegrationDomain]:
    with IntegrationDomain(small_config()) as d:
        yield d


def propose(text: str) -> VariantProposal:
    return VariantProposal(text=text, transformations=("test",))


# ---------------------------------------------------------------- config


def test_construction_is_cheap_and_starts_nothing() -> None:
    start = time.perf_counter()
    d = IntegrationDomain()
    assert time.perf_counter() - start < 0.5
    assert isinstance(d, Domain) and d.name == "integration"
    assert d._verifier is None and d._reference is None
    d.close()
    d.close()  # safe twice


def test_auto_resolves_sets_and_prompt_style_by_model_scale() -> None:
    tiny = IntegrationDomain(None, DomainContext(model_scale="tiny"))
    full = IntegrationDomain(None, DomainContext(model_scale="full"))
    assert tiny.problem_set_name("train") == "tiny_hard_train"
    assert tiny.problem_set_name("test") == "tiny_hard_test"
    assert tiny.prompt_style == "compact"
    assert full.problem_set_name("train") == "ladder_llama_train"
    assert full.problem_set_name("test") == "ladder_llama_test"
    assert full.prompt_style == "instruct"
    assert len(full.load_problems("train")) == 10
    assert len(full.load_problems("test")) == 100
    assert tiny.load_problems("train") == load_problem_set("tiny_hard_train")
    assert full.load_problems("validation") == []  # the paper's split has no validation set
    assert [p.source for p in tiny.load_problems("validation")][:1] == ["tiny_hard_validation"]
    with pytest.raises(ValueError, match="split"):
        full.load_problems("dev")


def test_explicit_sets_style_and_eval_sets() -> None:
    d = IntegrationDomain(small_config(train_set="simple_base", test_set="mit_bee_2025_qualifier",
                                       eval_sets=["mit_bee_finals"], prompt_style="compact"),
                          DomainContext(model_scale="full"))
    assert len(d.load_problems("train")) == 174
    assert len(d.load_problems("test")) == 19
    assert list(d.eval_problem_sets()) == ["mit_bee_finals"]
    assert d.solve_prompt(PARENT, "auto") == "integrate(x**2*sin(x), x)\n"
    assert "<ANSWER>" in d.solve_prompt(PARENT, "instruct")
    bad = IntegrationDomain(small_config(train_set="no_such_set"))
    with pytest.raises(ValueError, match="ladder_llama_train"):
        bad.load_problems("train")
    with pytest.raises(ValueError, match="prompt_style"):
        IntegrationDomain(small_config(prompt_style="fancy"))


def test_config_from_omegaconf_and_mappings() -> None:
    node = OmegaConf.structured(IntegrationConfig)
    node.verifier.mode = "quadrature"
    node.eval_sets = ["simple_base"]
    cfg = coerce_config(node)
    assert isinstance(cfg, IntegrationConfig)
    assert cfg.verifier.mode == "quadrature" and cfg.eval_sets == ["simple_base"]
    assert IntegrationDomain(node).verifier_config().mode == "paper"
    assert coerce_config({"test_set": "simple_base", "verifier": {"timeout_s": 3.0}}).verifier.timeout_s == 3.0
    with pytest.raises(ValueError, match="tarin_set"):
        coerce_config({"tarin_set": "x"})
    with pytest.raises(ValueError, match="timout_s"):
        coerce_config({"verifier": {"timout_s": 1.0}})


def test_verifier_node_mirrors_verifier_config_defaults() -> None:
    defaults = VerifierConfig()
    for key, value in VerifierNode().to_dict().items():
        expected = getattr(defaults, key)
        assert (list(expected) if isinstance(expected, tuple) else expected) == value, key
    built = IntegrationDomain(small_config()).verifier_config()
    assert isinstance(built, VerifierConfig) and built.workers == 1 and built.timeout_s == 5.0


# ----------------------------------------------------- solving and checks


def test_menu_personas_and_prompts(domain: IntegrationDomain) -> None:
    assert isinstance(domain.transformation_menu(), TransformationMenu)
    assert len(domain.personas()) >= 8
    prompt = domain.variant_prompt(PARENT, ["drop a term"], domain.personas()[0], 5)
    assert "integrate(x**2*sin(x), x)" in prompt
    assert [p.text for p in domain.parse_variant_reply("<VARIANT>integrate(x*sin(x), x)</VARIANT> # lower")] == [
        "integrate(x*sin(x), x)"]


def test_answer_format(domain: IntegrationDomain) -> None:
    assert domain.extract_answer("work... <ANSWER>x**3/3</ANSWER>") == "x**3/3"
    assert domain.extract_answer("no tags") is None
    assert domain.has_answer_format("<answer>sin(x)</answer>")
    assert not domain.has_answer_format("sin(x)")


def test_verify_right_and_wrong_answers(domain: IntegrationDomain) -> None:
    right = domain.verify(PARENT, "By parts twice. <ANSWER>-x**2*cos(x) + 2*x*sin(x) + 2*cos(x)</ANSWER>")
    assert right.status is VerdictStatus.CORRECT, right
    wrong = domain.verify(PARENT, "<ANSWER>-x**2*cos(x)</ANSWER>")
    assert wrong.status is VerdictStatus.INCORRECT, wrong
    missing = domain.verify(PARENT, "I think it is -x**2*cos(x)")
    assert not missing.correct
    hostile = domain.verify(PARENT, "<ANSWER>__import__('os').system('echo hi')</ANSWER>")
    assert hostile.status is VerdictStatus.UNPARSEABLE


def test_verify_batch(domain: IntegrationDomain) -> None:
    problems = [PARENT, Problem("q", "integrate(cos(x), x)"), Problem("r", "integrate(2*x, (x, 0, 3))")]
    completions = ["<ANSWER>x</ANSWER>", "<ANSWER>sin(x) + C</ANSWER>", "<ANSWER>9</ANSWER>"]
    verdicts = domain.verify_batch(problems, completions)
    assert [v.correct for v in verdicts] == [False, True, True]
    assert domain.verify_batch([], []) == []
    with pytest.raises(ValueError):
        domain.verify_batch(problems, completions[:1])


def test_verify_never_raises_when_the_verifier_breaks() -> None:
    d = IntegrationDomain(small_config())

    class Broken:
        def check(self, *a):
            raise RuntimeError("boom")

        def check_batch(self, *a):
            raise RuntimeError("boom")

        def close(self):
            pass

    d._verifier = Broken()
    verdict = d.verify(PARENT, "<ANSWER>x</ANSWER>")
    assert verdict.status is VerdictStatus.ERROR and "boom" in verdict.reason
    assert [v.status for v in d.verify_batch([PARENT], ["x"])] == [VerdictStatus.ERROR]
    d.close()


# -------------------------------------------------------------- variants


def test_validate_accepts_with_canonical_text(domain: IntegrationDomain) -> None:
    result = domain.validate_variant(PARENT, propose("integrate( sin(x)*x , x)"))
    assert result == ValidatedVariant(text="integrate(x*sin(x), x)", canonical="integrate(x*sin(x), x)")
    renamed = domain.validate_variant(PARENT, propose("integrate(t*sin(t), t)"))
    assert isinstance(renamed, ValidatedVariant) and renamed.canonical == result.canonical
    definite = domain.validate_variant(PARENT, propose("integrate(x*sin(x), (x, 0, pi))"))
    assert isinstance(definite, ValidatedVariant) and definite.text == "integrate(x*sin(x), (x, 0, pi))"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("integrate(x**2*sin(x, x)", "unparseable"),
        ("x**2*sin(x)", "unparseable"),
        ("integrate(__import__('os').system('ls'), x)", "unparseable"),
        ("integrate(Integral(x, x), x)", "unparseable"),
        ("integrate(5, x)", "trivial"),
        ("integrate(0, x)", "trivial"),
        ("integrate(x - x, x)", "trivial"),
        ("integrate(sin(2)*pi, x)", "trivial"),
        ("integrate(sin(x)*x**2, x)", "same_as_parent"),
        ("integrate(x*x*sin(x), x)", "same_as_parent"),
        ("integrate(" + " + ".join(f"x**{k}" for k in range(1, 90)) + ", x)", "too_long"),
    ],
)
def test_validate_rejection_reasons(domain: IntegrationDomain, text: str, reason: str) -> None:
    result = domain.validate_variant(PARENT, propose(text))
    assert isinstance(result, VariantRejection), result
    assert result.reason == reason, result
    if reason == "unparseable":
        assert result.detail  # the parser's reason is passed on


def test_too_long_after_canonicalisation() -> None:
    d = IntegrationDomain(small_config(max_problem_chars=30))
    result = d.validate_variant(PARENT, propose("integrate((x+1)*(x+2)*(x+3)*(x+4), x)"))  # 37 chars
    assert isinstance(result, VariantRejection) and result.reason == "too_long"
    assert isinstance(d.validate_variant(PARENT, propose("integrate(x*(x+1), x)")), ValidatedVariant)


def test_validate_never_raises_on_odd_candidates(domain: IntegrationDomain) -> None:
    for text in ["", "integrate(", ")" * 5000, "integrate(x, (x, 0))", "integrate(9**9**9**9, x)",
                 "integrate(x**(10**10), x)", "\x00integrate(x, x)"]:
        result = domain.validate_variant(PARENT, propose(text))
        assert isinstance(result, VariantRejection), (text, result)
    odd_parent = Problem("odd", "Limit(n*integrate(tan(x)**n, (x, 0, pi/4)), n, oo)")
    assert isinstance(domain.validate_variant(odd_parent, propose("integrate(tan(x), x)")), ValidatedVariant)


def test_canonical_form(domain: IntegrationDomain) -> None:
    a = domain.canonical_form(Problem("a", "integrate(sin(x)*x, x)"))
    b = domain.canonical_form(Problem("b", "integrate( x*sin( x ), x )"))
    c = domain.canonical_form(Problem("c", "integrate(u*sin(u), u)"))
    assert a == b == c == "integrate(x*sin(x), x)"
    assert domain.canonical_form(Problem("d", "integrate(x*cos(x), x)")) != a
    assert domain.canonical_form(Problem("e", "Limit(n,  n, oo)")) == "Limit(n, n, oo)"


def test_every_programmatic_variant_validates(domain: IntegrationDomain) -> None:
    problems = load_problem_set("ladder_llama_train")
    results = ProgrammaticVariantGenerator().propose(problems, 8, random.Random(5))
    for parent, proposals in zip(problems, results):
        assert proposals
        canon = set()
        for p in proposals:
            result = domain.validate_variant(parent, p)
            assert isinstance(result, ValidatedVariant), (parent.text, p, result)
            assert result.text == p.text
            canon.add(result.canonical)
        assert len(canon) == len(proposals)


# -------------------------------------------------------- reference solver


def test_reference_solvable_with_a_killable_worker() -> None:
    with IntegrationDomain(small_config()) as d:
        assert d.reference_solvable(Problem("a", "integrate(x*sin(x), x)"), 20.0) is True
        assert d.reference_solvable(Problem("b", "integrate(exp(x**2), x)"), 20.0) is False  # erfi: not elementary
        assert d.reference_solvable(Problem("c", "integrate(x, (x, 0, 2))"), 20.0) is True
        assert d.reference_solvable(Problem("d", "not an integral"), 20.0) is False
        hard = Problem("e", "integrate(sqrt(tan(x))*log(sin(x) + cos(x))/(1 + x**4*exp(x)), x)")
        start = time.perf_counter()
        assert d.reference_solvable(hard, 0.5) is False  # killed after 0.5 s
        assert time.perf_counter() - start < 10
        # A fresh worker replaces the killed one.
        assert d.reference_solvable(Problem("f", "integrate(cos(x), x)"), 20.0) is True
        worker = d._reference
    assert d._reference is None and worker._workers == [] and worker.restarts == 1


def test_core_domain_contract(domain: IntegrationDomain, ladder_domain_contract) -> None:
    ladder_domain_contract(domain)


def test_slow_validation_and_internal_errors_are_rejections(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = IntegrationDomain(small_config(variant_timeout_s=1e-9))
    result = slow.validate_variant(PARENT, propose("integrate(x*sin(x), x)"))
    assert isinstance(result, VariantRejection) and result.reason == "timeout"

    import ladder_integration.domain as domain_module

    def explode(raw: str):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(domain_module, "_canonical", explode)
    result = IntegrationDomain(small_config()).validate_variant(PARENT, propose("integrate(x, x)"))
    assert isinstance(result, VariantRejection) and result.reason == "error" and "unexpected" in result.detail
