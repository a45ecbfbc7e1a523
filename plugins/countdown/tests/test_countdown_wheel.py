"""The plugin works as a separately installed wheel, found only through its entry point.

Builds ``ladder-countdown`` as a wheel, makes a fresh virtual environment in
``tmp_path`` that sees every package of the current environment *except*
ladder_countdown (a filtered view of site-packages: the editable install's
``.pth`` file and dist-info are left out), checks that the plugin is absent
there, installs the wheel with ``--no-deps``, and then, from a working
directory outside the checkout, checks that the ``ladder`` entry point, the
imported module and the distribution all come from the fresh environment and
that the core's plugin host offers and runs the ``countdown`` domain.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[1]
OWN_ENTRIES = ("ladder_countdown", "_editable_impl_ladder_countdown", "__editable__.ladder_countdown",
               "__editable___ladder_countdown", "_ladder_countdown")

PROBE = textwrap.dedent(
    """
    import importlib.metadata as md, json, sys
    out = {"prefix": sys.prefix, "entry_points": [], "module": None, "dist": None, "domains": None, "verdict": None}
    for ep in md.entry_points(group="ladder"):
        if ep.name == "countdown":
            out["entry_points"].append(str(ep.dist.locate_file("")) if ep.dist else "?")
    try:
        import ladder_countdown
        out["module"] = ladder_countdown.__file__
        out["dist"] = str(md.distribution("ladder-countdown").locate_file(""))
    except Exception as exc:
        out["module_error"] = type(exc).__name__
    from ladder_core.plugins import PluginHost
    host = PluginHost()
    out["domains"] = sorted(host.domains())
    if "countdown" in out["domains"]:
        spec = host.domain("countdown")
        with spec.factory(spec.config, None) as domain:
            problem = domain.load_problems("test")[0]
            verdict = domain.verify(problem, "<ANSWER>" + problem.meta["solution"] + "</ANSWER>")
            out["verdict"] = verdict.status.value
            out["sets"] = [s.name for s in domain.problem_sets()]
    print(json.dumps(out))
    """
)


def _run(cmd: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["LADDER_DISABLE_PLUGIN_AUTOLOAD"] = ""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def _build_wheel(out: Path) -> Path:
    try:
        import hatchling  # noqa: F401

        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
               str(PLUGIN_DIR)]
    except ImportError:  # isolated build: pip fetches hatchling from the configured index
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(PLUGIN_DIR)]
    _run(cmd, cwd=out)
    (wheel,) = out.glob("ladder_countdown-*.whl")
    return wheel


def _filtered_view(view: Path) -> None:
    """Symlinks to the parent environment's site-packages entries, minus every trace of ladder_countdown."""
    view.mkdir()
    for parent in [*site.getsitepackages(), site.getusersitepackages()]:
        parent_dir = Path(parent)
        if not parent_dir.is_dir():
            continue
        for entry in parent_dir.iterdir():
            if entry.name.startswith(OWN_ENTRIES) or (view / entry.name).exists():
                continue
            (view / entry.name).symlink_to(entry)


@pytest.mark.timeout(300)
def test_wheel_installs_into_a_fresh_environment_and_registers(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _build_wheel(dist)
    names = zipfile.ZipFile(wheel).namelist()
    assert "ladder_countdown/data/test.jsonl" in names and "ladder_countdown/plugin.py" in names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    venv_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=tmp_path).stdout.strip())
    view = tmp_path / "parent-view"
    _filtered_view(view)
    (venv_site / "_ladder_parent_env.pth").write_text(f"import site; site.addsitedir({str(view)!r})\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = outside / "probe.py"
    probe.write_text(PROBE)

    before = json.loads(_run([str(python), str(probe)], cwd=outside).stdout)
    assert before["prefix"] == str(venv)
    assert before["entry_points"] == [] and before["module"] is None, before
    assert "countdown" not in before["domains"] and "integration" in before["domains"]

    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
         cwd=outside)
    after = json.loads(_run([str(python), str(probe)], cwd=outside).stdout)
    assert len(after["entry_points"]) == 1 and Path(after["entry_points"][0]).resolve() == venv_site.resolve()
    assert Path(after["module"]).resolve().is_relative_to(venv_site.resolve()), after["module"]
    assert Path(after["dist"]).resolve() == venv_site.resolve()
    assert "countdown" in after["domains"]
    assert after["verdict"] == "correct"  # a real check in a worker process started from the fresh venv
    assert after["sets"][:2] == ["test", "train"]
