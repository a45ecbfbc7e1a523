"""CountdownDomain against the core's contract, its plugin registration and its Hydra config node."""

from __future__ import annotations

import pytest

from ladder_core.domain import Domain, DomainContext
from ladder_core.records import Problem, VerdictStatus
from ladder_countdown.config import CountdownConfig, coerce_config
from ladder_countdown.domain import CountdownDomain


def test_inline_domain_passes_the_core_contract(domain: CountdownDomain, ladder_domain_contract) -> None:
    ladder_domain_contract(domain)


def test_process_domain_passes_the_core_contract(process_domain: CountdownDomain, ladder_domain_contract) -> None:
    ladder_domain_contract(process_domain, max_seconds_per_check=5.0)


def test_the_plugin_is_found_through_its_entry_point(ladder_host) -> None:
    assert ladder_host.domain_owners()["countdown"] == "countdown"
    spec = ladder_host.domain("countdown")
    assert isinstance(spec.config, CountdownConfig) and spec.config.name == "countdown"
    generators = ladder_host.variant_generators()
    assert generators["countdown-rules"].domains == ("countdown",)
    with spec.factory(spec.config, DomainContext(model_scale="tiny")) as domain:
        assert isinstance(domain, Domain) and domain.prompt_style == "compact"
        generator = generators["countdown-rules"].factory(domain, {"variants": {"easier_fraction": 1.0}})
        assert generator.name == "countdown-rules" and generator.easier_fraction == 1.0
        assert generators["countdown-rules"].factory(domain, None).easier_fraction == 0.7


def test_hydra_composes_plus_domain_countdown(ladder_host) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ladder_core.config import config_dir, register_plugin_configs

    assert "countdown" in register_plugin_configs(ladder_host)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = compose("config", overrides=["+domain=countdown", "domain.verifier.timeout_s=0.5",
                                               "domain.test_set=train"])
    finally:
        GlobalHydra.instance().clear()
    assert cfg.domain.name == "countdown" and cfg.domain.verifier.timeout_s == 0.5
    with ladder_host.domain("countdown").factory(cfg.domain, DomainContext()) as domain:
        assert domain.cfg.verifier.timeout_s == 0.5
        assert [p.id for p in domain.load_problems("test")][:1] == ["train/000"]


def test_solve_prompts_in_both_styles(domain: CountdownDomain) -> None:
    problem = domain.load_problems("test")[0]
    instruct = domain.solve_prompt(problem)
    assert problem.text in instruct and "<ANSWER>" in instruct and "at most once" in instruct
    assert domain.solve_prompt(problem, style="compact") == problem.text + "\n"
    assert domain.solve_prompt(problem, style="auto") == instruct  # full model scale by default
    with pytest.raises(ValueError, match="unknown prompt style"):
        domain.solve_prompt(problem, style="chatty")


def test_reference_solutions_verify_in_a_batch_through_workers(process_domain: CountdownDomain) -> None:
    problems = process_domain.load_problems("test")
    completions = [f"Let me think.\n<ANSWER>{p.meta['solution']}</ANSWER>" for p in problems]
    verdicts = process_domain.verify_batch(problems, completions)
    assert all(v.correct for v in verdicts), [v for v in verdicts if not v.correct][:3]
    wrong = process_domain.verify_batch(problems[:2], ["<ANSWER>1 + 1</ANSWER>", "no answer"])
    assert [v.status for v in wrong] == [VerdictStatus.INCORRECT, VerdictStatus.UNPARSEABLE]


def test_inline_and_process_modes_agree(domain: CountdownDomain, process_domain: CountdownDomain) -> None:
    problem = Problem("p", "numbers: 3 7 25 50 7; target: 178")
    answers = ["25 * 7 + 3", "25 * 7", "50 / (7 - 7)", "3 + 3", "x", "", "(((1"]
    completions = [f"<ANSWER>{a}</ANSWER>" for a in answers]
    inline = [(v.status, v.reason) for v in domain.verify_batch([problem] * len(answers), completions)]
    process = [(v.status, v.reason) for v in process_domain.verify_batch([problem] * len(answers), completions)]
    assert inline == process


def test_problem_sets_splits_and_canonical_form(domain: CountdownDomain) -> None:
    names = [info.name for info in domain.problem_sets()]
    assert names[:2] == ["test", "train"] and "generated_train" in names
    assert len(domain.load_problems("train")) == 10
    with pytest.raises(ValueError, match="unknown split"):
        domain.load_problems("dev")
    a = Problem("a", "numbers: 3 7 25; target: 178")
    b = Problem("b", "Numbers: [25, 3, 7], Target: 178")
    assert domain.canonical_form(a) == domain.canonical_form(b) == "numbers: 3 7 25; target: 178"
    assert domain.reference_solvable(a, 1.0) is True
    assert domain.reference_solvable(Problem("c", "numbers: 1 2; target: 99"), 1.0) is False
    assert domain.reference_solvable(Problem("d", "junk"), 1.0) is False


def test_config_coercion_rejects_typos_and_bad_values() -> None:
    assert coerce_config(None) == CountdownConfig()
    cfg = coerce_config({"verifier": {"mode": "inline", "workers": 2}, "generator": {"size": 5}})
    assert cfg.verifier.mode == "inline" and cfg.generator.size == 5
    with pytest.raises(ValueError, match="unknown countdown config keys: tset_set"):
        coerce_config({"tset_set": "x"})
    with pytest.raises(ValueError, match="unknown countdown verifier config keys: timeout"):
        coerce_config({"verifier": {"timeout": 1}})
    with pytest.raises(ValueError, match="verifier mode"):
        coerce_config({"verifier": {"mode": "thread"}})
    with pytest.raises(ValueError, match="unknown prompt_style"):
        CountdownDomain({"prompt_style": "fancy"})


def test_close_is_idempotent(process_domain: CountdownDomain) -> None:
    problem = process_domain.load_problems("train")[0]
    assert process_domain.verify(problem, "<ANSWER>1</ANSWER>").status is VerdictStatus.INCORRECT
    process_domain.close()
    process_domain.close()
    assert process_domain.verify(problem, "<ANSWER>1</ANSWER>").status is VerdictStatus.INCORRECT  # restarts lazily
