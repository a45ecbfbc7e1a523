"""The README's two setup commands stay true: CI runs the test command verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("python3 -m venv")]


def test_readme_has_run_and_test_commands():
    commands = _commands()
    assert any(c.endswith(".venv/bin/ladder +domain=integration") for c in commands)
    assert any(c.endswith(".venv/bin/pytest") for c in commands)
    for command in commands:
        assert "torch==2.13.0" in command, "an unpinned torch would pull a multi-GB CUDA build"


def test_ci_runs_the_readme_test_command():
    test_command = next(c for c in _commands() if c.endswith(".venv/bin/pytest"))
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_every_plugin_in_the_install_command_exists():
    for command in _commands():
        for path in re.findall(r"-e (plugins/\w+)", command):
            assert (ROOT / path / "pyproject.toml").exists(), path
