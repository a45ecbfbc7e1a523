"""The configs and the integration plugin ship inside the built wheels and work outside the checkout."""

import json
import subprocess
from pathlib import Path

from ladder_core.testing.wheels import build_wheel, install_wheels, overlay_venv

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys, importlib.metadata as m
import ladder_core, ladder_integration
from ladder_core.config import config_dir, register_plugin_configs
from ladder_core.plugins import PluginHost
from hydra import compose, initialize_config_dir
host = PluginHost()
register_plugin_configs(host)
with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
    cfg = compose(config_name="config", overrides=["+domain=integration", "model=llama32_3b"])
print(json.dumps({
    "core": ladder_core.__file__, "plugin": ladder_integration.__file__, "conf": str(config_dir()),
    "entry_points": sorted({e.name for e in m.entry_points(group="ladder")}),
    "domains": sorted(host.domains()), "model": cfg.model.name_or_path, "domain": cfg.domain.name,
    "tiny": str(host.embedded_models()["integration-tiny"].path),
}))
"""


def test_wheels_install_and_compose_outside_checkout(tmp_path):
    wheels = [build_wheel(ROOT, tmp_path / "dist"), build_wheel(ROOT / "plugins" / "integration", tmp_path / "dist")]
    python = overlay_venv(tmp_path / "venv")
    install_wheels(python, wheels)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    out = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, cwd=workdir, timeout=300)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    venv_dir = str(tmp_path / "venv")
    assert info["core"].startswith(venv_dir) and info["plugin"].startswith(venv_dir), info
    assert info["conf"].startswith(venv_dir), "configs must come from the wheel, not the checkout"
    assert "integration" in info["entry_points"] and "integration" in info["domains"]
    assert info["model"] == "meta-llama/Llama-3.2-3B-Instruct" and info["domain"] == "integration"
    assert info["tiny"].startswith(venv_dir)
