"""Build wheels and install them into a fresh virtual environment, as a user would.

Used by the packaging tests of the core and of plugins: a config or data file
that only exists in the checkout, or a plugin found by import rather than by
its entry point, fails there. The fresh environment sees the current
interpreter's site-packages (through a ``.pth`` file, so torch and friends are
not reinstalled) but not the checkout: ``.pth`` files of editable installs are
not processed in an added directory, so only the wheels provide our packages.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path


def build_wheel(project_dir: Path, out_dir: Path) -> Path:
    """Build ``project_dir`` into a wheel in ``out_dir`` (no network: no build isolation)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out_dir),
         str(project_dir)],
        check=True, capture_output=True, text=True,
    )
    new = sorted(set(out_dir.glob("*.whl")) - before) or sorted(out_dir.glob("*.whl"))
    return new[-1]


def overlay_venv(path: Path) -> Path:
    """A fresh venv at ``path`` that reuses this interpreter's installed dependencies; returns its python."""
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    Path(purelib, "_ladder_test_parent_env.pth").write_text("\n".join(sorted(parents)) + "\n")
    return python


def install_wheels(python: Path, wheels: list[Path]) -> None:
    """Install wheels (without dependencies) into the venv of ``python`` using this interpreter's pip."""
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", target,
         *map(str, wheels)],
        check=True, capture_output=True, text=True, env=env,
    )
