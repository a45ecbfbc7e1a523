"""Hydra composition: every model x trainer x domain composes; the CLI's errors list the options."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ladder_core.config import config_dir, register_plugin_configs
from ladder_core.domain import Domain, DomainContext
from ladder_core.plugins import PluginHost, create_plugin_manager

CONF = config_dir()
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONF / "trainer").glob("*.yaml"))
GENERATORS = sorted(p.stem for p in (CONF / "generator").glob("*.yaml"))


@pytest.fixture(scope="module")
def host():
    host = PluginHost(create_plugin_manager())
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
        resolved = OmegaConf.to_container(cfg, resolve=False)
        assert resolved["model"]["name_or_path"]
        assert cfg.trainer.name == trainer
        assert cfg.domain.name == domain_name
        if model == "tiny":
            assert Path(OmegaConf.select(cfg, "model.name_or_path")).name == "weights"
        domain = spec.factory(cfg.domain, DomainContext(model_scale=cfg.model.scale))
        assert isinstance(domain, Domain)
        domain.close()


@pytest.mark.parametrize("generator", GENERATORS)
def test_generator_options_compose(host, generator):
    cfg = _compose(["+domain=integration", f"generator={generator}"])
    assert cfg.generator.backend in {"policy", "transformers", "vllm", "openai"}


def test_real_models_default_to_paper_trainer(host):
    assert _compose(["+domain=integration", "model=llama32_3b"]).trainer.name == "paper_grpo"
    assert _compose(["+domain=integration", "model=llama32_3b", "trainer=cpu"]).trainer.name == "cpu"
    assert _compose(["+domain=integration"]).trainer.name == "cpu"
    assert _compose(["+domain=integration", "model=r1_distill_qwen7b"]).model.max_completion_length == 4096


def _ladder(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ladder_core.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_cli_cfg_job_names_llama(tmp_path):
    out = _ladder("--cfg", "job", "+domain=integration", "model=llama32_3b", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "meta-llama/Llama-3.2-3B-Instruct" in out.stdout


def test_cli_without_domain_lists_installed_domains(tmp_path):
    out = _ladder(cwd=tmp_path)
    assert out.returncode != 0
    assert "integration" in out.stderr and "+domain=" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cli_bad_model_lists_options(tmp_path):
    out = _ladder("+domain=integration", "model=nope", cwd=tmp_path)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    for option in ("tiny", "llama32_3b", "r1_distill_qwen7b", "qwen25_0_5b"):
        assert option in text


def test_cli_unknown_domain_lists_domains(tmp_path):
    out = _ladder("+domain=nope", cwd=tmp_path)
    assert out.returncode != 0 and "integration" in out.stdout + out.stderr


def test_cli_help_is_fast(tmp_path):
    start = time.monotonic()
    out = _ladder("--help", cwd=tmp_path)
    assert out.returncode == 0 and "Powered by Hydra" in out.stdout
    assert time.monotonic() - start < 10  # generous for a loaded 2-core CI box; typically ~0.5 s
