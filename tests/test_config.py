"""The typed config: composition, refusal of bad values before any work, presets, docs, the CLI's answers.

Core behaviour runs on the toy domain; the installed plugins appear only where
the test is about them (every model x trainer x installed domain composes).
"""

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ladder_core.cli import UsageError, check_run_config, list_installed
from ladder_core.config import config_dir, register_plugin_configs
from ladder_core.config_nodes import ConfigError
from ladder_core.console import results_table
from ladder_core.domain import Domain, DomainContext
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.schema import (
    SECTIONS,
    EvaluationConfig,
    GeneratorConfig,
    TrainerConfig,
    VariantsConfig,
    check_config,
    doc_section,
    reference_markdown,
)
from ladder_core.testing.toy_domain import ToyPlugin

CONF = config_dir()
ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONF / "trainer").glob("*.yaml"))
GENERATORS = sorted(p.stem for p in (CONF / "generator").glob("*.yaml"))


@pytest.fixture(scope="module")
def host():
    """The installed plugins (integration, countdown) plus the toy domain."""
    host = PluginHost(create_plugin_manager(extra_plugins=[ToyPlugin()]))
    register_plugin_configs(host)
    return host


def _compose(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=False)


def test_required_options_exist():
    assert {"tiny", "llama32_3b", "r1_distill_qwen7b", "qwen25_0_5b"} <= set(MODELS)
    assert {"cpu", "paper_grpo"} <= set(TRAINERS)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("trainer", TRAINERS)
def test_every_model_trainer_domain_combination_composes(host, model, trainer):
    for domain_name, spec in host.domains().items():
        cfg = _compose([f"+domain={domain_name}", f"model={model}", f"trainer={trainer}"])
        assert cfg.trainer.name == trainer
        assert cfg.domain.name == domain_name
        if model == "tiny" and domain_name != "integration":  # only integration ships an embedded model
            with pytest.raises(UsageError):
                check_run_config(cfg, host)
            continue
        sections = check_run_config(cfg, host)
        assert sections["model"].name_or_path
        if model == "tiny":
            assert Path(sections["model"].name_or_path).name == "weights"
            assert sections["model"].name == "integration-tiny"
        domain = spec.factory(cfg.domain, DomainContext(model_scale=cfg.model.scale))
        assert isinstance(domain, Domain)
        domain.close()


@pytest.mark.parametrize("generator", GENERATORS)
def test_generator_options_name_their_builder(host, generator):
    cfg = _compose(["+domain=toy", f"generator={generator}"])
    assert cfg.generator._target_ == f"ladder_core.generation.factory.{generator}_backend"
    from hydra.utils import get_method

    assert callable(get_method(cfg.generator._target_))


def test_real_models_default_to_paper_trainer_and_experiment(host):
    cfg = _compose(["+domain=toy", "model=llama32_3b"])
    assert cfg.trainer.name == "paper_grpo" and cfg.variants.per_root == 500 and cfg.ttrl.max_problems is None
    assert _compose(["+domain=toy", "model=llama32_3b", "trainer=cpu"]).trainer.name == "cpu"
    assert _compose(["+domain=toy", "model=llama32_3b", "experiment=cpu_demo"]).variants.per_root == 20
    default = _compose(["+domain=toy"])
    assert default.trainer.name == "cpu" and default.variants.per_root == 20 and default.curriculum.dynamic_sampling is False
    assert _compose(["+domain=toy", "model=r1_distill_qwen7b"]).model.max_completion_length == 4096


def test_option_files_set_only_their_group_and_only_what_differs():
    """A trainer option sets trainer keys; every value an option file sets differs from the schema's default."""
    def own_keys(path):
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        data.pop("defaults", None)
        if "# @package _global_" in path.read_text():
            return data
        return {path.parent.name: data}

    for path in sorted(CONF.glob("*/*.yaml")):
        data = own_keys(path)
        if path.parent.name in ("trainer", "generator", "model"):
            assert set(data) == {path.parent.name}, f"{path} sets {sorted(data)}"
        if path.parent.name == "experiment":
            assert set(data) <= {"variants", "curriculum", "ttrl", "evaluation", "reward"}, path
        for section, values in data.items():
            defaults = SECTIONS[section]() if section != "model" else None
            for key, value in values.items():
                if defaults is not None and key not in ("name", "_target_"):  # an option's identity
                    assert value != getattr(defaults, key), f"{path}: {section}.{key} repeats the default {value!r}"


def test_primary_config_holds_no_section_values():
    data = OmegaConf.to_container(OmegaConf.load(CONF / "config.yaml"), resolve=False)
    assert not set(data) & set(SECTIONS), "defaults live in ladder_core/schema.py only"


# ------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(("override", "key"), [
    ("evaluation.samples=-3", "evaluation.samples"),
    ("evaluation.k=[1,16]", "evaluation.k"),
    ("trainer.num_generations=1", "trainer.num_generations"),
    ("variants.dedup=fuzzy", "variants.dedup"),
    ("variants.transformations_min=9", "variants.transformations_min"),
    ("curriculum.decay=0", "curriculum.decay"),
    ("curriculum.mode=greedy", "curriculum.mode"),
    ("pipeline.stages=[baseline,tain]", "pipeline.stages"),
    ("model.dtype=float8", "model.dtype"),
])
def test_out_of_range_values_name_the_key(host, override, key):
    cfg = _compose(["+domain=toy", "model.name_or_path=/nowhere", override])
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    assert info.value.key == key and key in str(info.value) and "allowed" in str(info.value)


def test_wrong_types_and_unknown_keys_fail_while_composing(host):
    from hydra.errors import ConfigCompositionException

    for override in ("trainer.max_steps=abc", "trainer.max_stepz=3", "domain.tset_set=x", "evaluation.greedy=maybe"):
        with pytest.raises(ConfigCompositionException):
            _compose(["+domain=toy", override])
    # Hydra's `+` lets a key into a typed section; the check after composition refuses it.
    cfg = _compose(["+domain=toy", "model.name_or_path=/nowhere", "+variants.solver_max_nodes=5"])
    with pytest.raises(ConfigError, match="unknown variants config keys: solver_max_nodes"):
        check_config(cfg)


def test_section_of_gives_typed_defaults_and_refuses_unknown_keys():
    assert VariantsConfig.of({"variants": {"per_root": 7}}).per_root == 7
    assert VariantsConfig.of(None).per_root == 500
    assert GeneratorConfig.of({}).max_new_tokens == 1024
    assert TrainerConfig.of(OmegaConf.create({"trainer": {"max_steps": 3}})).max_steps == 3
    with pytest.raises(ValueError, match="unknown evaluation config keys: samplez"):
        EvaluationConfig.of({"evaluation": {"samplez": 2}})
    with pytest.raises(ConfigError, match="evaluation.samples=0"):
        EvaluationConfig(samples=0)


# --------------------------------------------------------------------------- docs
def test_configuration_doc_is_generated_from_the_schema():
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert doc_section(text) == reference_markdown(), \
        "docs/configuration.md is stale: run `python -m ladder_core.schema --write docs/configuration.md`"
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("doc"), f"{cls.__name__}.{f.name} has no documentation"


# ---------------------------------------------------------------------------- CLI
TOY_CLI = textwrap.dedent("""
    import sys
    from ladder_core import cli
    from ladder_core.plugins import PluginHost, create_plugin_manager, set_host
    from ladder_core.testing.toy_domain import ToyPlugin
    set_host(PluginHost(create_plugin_manager(extra_plugins=[ToyPlugin()])))
    sys.argv = ["ladder", *sys.argv[1:]]
    cli.main()
""")


def _ladder(*args, cwd):
    script = Path(cwd) / "toy_ladder.py"
    script.write_text(TOY_CLI)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize(("override", "key"), [
    ("trainer.max_steps=abc", "trainer.max_steps"),
    ("evaluation.samples=-3", "evaluation.samples"),
    ("trainer.max_stepz=3", "trainer.max_stepz"),
])
def test_cli_refuses_bad_values_before_creating_the_run_dir(tmp_path, override, key):
    run_dir = tmp_path / "run"
    out = _ladder("+domain=toy", "model.name_or_path=/nowhere", f"hydra.run.dir={run_dir}", override, cwd=tmp_path)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert key in text and "Traceback" not in text
    assert len(text.strip().splitlines()) <= 8
    assert not run_dir.exists()


def test_cli_without_domain_lists_domains_and_writes_nothing(tmp_path):
    out = _ladder(f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert out.returncode == 2
    assert "toy" in out.stderr and "+domain=" in out.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "outputs").exists()


def test_cli_without_embedded_model_asks_for_a_model(tmp_path):
    out = _ladder("+domain=toy", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert out.returncode == 2 and "ships no embedded model" in out.stderr and "model=" in out.stderr
    assert not (tmp_path / "run").exists()


def test_cli_cfg_job_names_llama(tmp_path):
    out = _ladder("--cfg", "job", "+domain=toy", "model=llama32_3b", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "meta-llama/Llama-3.2-3B-Instruct" in out.stdout


def test_cli_bad_model_lists_options(tmp_path):
    out = _ladder("+domain=toy", "model=nope", cwd=tmp_path)
    assert out.returncode != 0
    for option in ("tiny", "llama32_3b", "r1_distill_qwen7b", "qwen25_0_5b"):
        assert option in out.stdout + out.stderr


def test_cli_unknown_domain_lists_domains(tmp_path):
    out = _ladder("+domain=nope", cwd=tmp_path)
    assert out.returncode != 0 and "toy" in out.stdout + out.stderr


def test_cli_help_names_ladder(tmp_path):
    out = _ladder("--help", cwd=tmp_path)
    assert out.returncode == 0 and "Powered by Hydra" in out.stdout
    assert "ladder list" in out.stdout and "cli" not in out.stdout.split("== Config ==")[0]


def test_ladder_list_shows_what_is_installed(host, tmp_path):
    text = list_installed(host)
    for expected in ("toy", "toy-rules", "llm", "integration-tiny", "trainer", "cpu_demo", "openai"):
        assert expected in text
    out = _ladder("list", cwd=tmp_path)
    assert out.returncode == 0 and "toy-rules" in out.stdout and not list(tmp_path.glob("outputs"))


# ------------------------------------------------------------------------- results
def test_results_table_prints_baseline_final_ttrl_and_intervals():
    from ladder_core.artifacts import (EvalIntervals, EvalSection, MeanInterval, ModelInfo, Report, TtrlIntervals,
                                       TtrlSection)

    def section(pass1, greedy, ci=None):
        return EvalSection(problem_set="toy_test", n_problems=6, samples=2, temperature=1.0, pass_at_k={},
                           pass_at_1=pass1, greedy_accuracy=greedy, ci95=ci)

    counts = dict.fromkeys(("protocol", "trained_on_problem", "reset_weights", "solved", "control_solved",
                            "skipped_already_solved", "eval_samples", "seconds", "base_stage", "solved_before_ttrl"))
    report = Report(
        run_dir="r", model=ModelInfo(), domain="toy", train_set=None, test_set="toy_test", stages_configured=[],
        stages_run=[], stages_missing=[], stage_status={}, baseline=section(0.1, 0.25),
        final=section(0.3, 0.5, EvalIntervals(pass_at_1=MeanInterval(0.3, (0.2, 0.4), 6))),
        ttrl=TtrlSection(attempted=2, n_problems=6, pass_at_1=0.35, accuracy=0.6, pass_at_1_control=0.3,
                         accuracy_control=0.5, ci95=TtrlIntervals(accuracy=MeanInterval(0.6, (0.4, 0.8), 6)),
                         **counts))
    lines = results_table(report).splitlines()
    assert lines[0] == "results on toy_test"
    assert lines[2].split()[:3] == ["baseline", "10.0%", "25.0%"]
    assert "30.0% [20.0%, 40.0%]" in lines[3] and "50.0%" in lines[3]
    assert lines[4].startswith("TTRL control") and "50.0%" in lines[4]
    assert lines[5].startswith("after TTRL") and "60.0% [40.0%, 80.0%]" in lines[5]
    empty = Report(run_dir="r", model=ModelInfo(), domain=None, train_set=None, test_set=None, stages_configured=[],
                   stages_run=[], stages_missing=[], stage_status={}, baseline=None, final=None)
    assert results_table(empty) == ""


def test_generator_is_instantiable_from_its_target(host, tmp_path):
    from hydra.utils import instantiate

    from ladder_core.generation.factory import build_text_generator
    from ladder_core.generation.openai_compat import OpenAICompatTextGenerator

    cfg = _compose(["+domain=toy", f"run_dir={tmp_path}", "model.name_or_path=/nowhere", "generator=openai",
                    "generator.model=gpt-test"])
    direct = instantiate(cfg.generator, run_cfg=cfg)
    built = build_text_generator(cfg)
    assert isinstance(direct, OpenAICompatTextGenerator) and isinstance(built, OpenAICompatTextGenerator)
    assert built.model == direct.model == "gpt-test"


# ------------------------------------------------------------------------- console
def test_console_progress_sends_metric_dicts_to_the_log_file_only(tmp_path, capsys):
    import logging
    from types import SimpleNamespace

    from ladder_core.console import METRICS_LOGGER, _make_callback_class

    root = logging.getLogger()
    file_handler = logging.FileHandler(tmp_path / "ladder.log")
    root.addHandler(file_handler)
    try:
        callback = _make_callback_class()(desc="train")
        state = SimpleNamespace(is_local_process_zero=True, max_steps=2, global_step=0)
        callback.on_train_begin(None, state, None)
        state.global_step = 1
        callback.on_step_end(None, state, None)
        callback.on_log(None, state, None, logs={"loss": 0.5, "reward": 0.75, "frac_reward_zero_std": 0.25})
        callback.on_log(None, state, None, logs={"train_runtime": 3.0})
        assert callback.postfix["reward"] == "0.750" and callback.postfix["zero_var"] == "25%"
        callback.on_train_end(None, state, None)
    finally:
        root.removeHandler(file_handler)
        logging.getLogger(METRICS_LOGGER).removeHandler(file_handler)
        file_handler.close()
    captured = capsys.readouterr()
    assert "{'loss'" not in captured.out + captured.err
    assert "'loss': 0.5" in (tmp_path / "ladder.log").read_text()
