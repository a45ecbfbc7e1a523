"""Shared output helpers for the benchmark scripts.

Several scripts write into one shared ``docs/benchmarks.md``, each owning one
``## `` section, and each saves its raw numbers as JSON under
``benchmarks/results/``. Keeping the section-replacement logic in one place
means every script rewrites only its own section the same way and never
clobbers another's.

The scripts run as ``python benchmarks/X.py``, which puts this folder first on
``sys.path``, so they import this module as plain ``_report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def replace_markdown_section(path: Path, heading: str, body: str, title: str = "# Benchmarks") -> None:
    """Replace (or append) the section that starts at the line ``heading`` in a markdown file.

    The section runs up to the next ``## `` heading or the end of the file. A
    missing file is created with ``title`` as its first line; a missing section
    is appended after one blank line.
    """
    lines = path.read_text().splitlines() if path.exists() else [title]
    start = next((i for i, ln in enumerate(lines) if ln.strip() == heading), None)
    new = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", *new]
    else:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        lines[start:end] = new
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def write_json(path: Path, data: Any, indent: int = 2) -> None:
    """Write ``data`` as indented JSON with a trailing newline, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")
