"""The integration problem sets shipped inside the package (``ladder_integration/data/*.jsonl``).

Files are found through ``importlib.resources`` so that loading works the same
from a source checkout, an editable install and an installed wheel. Every
``*.jsonl`` in the data folder is a problem set, except ``verifier_public``
(labelled verifier checks, not problems). A path to any JSONL file in the same
format is accepted too, so users can bring their own sets without code.

This module imports only the standard library.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ladder_core.records import Problem, ProblemSetInfo

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DATA_PACKAGE = "ladder_integration"
DATA_FOLDER = "data"
NOT_PROBLEM_SETS = frozenset({"verifier_public"})

_DESCRIPTIONS = {
    "ladder_llama_train": "LADDER paper Llama 3.2 3B training set (10 indefinite integrals)",
    "ladder_llama_test": "LADDER paper 100-problem undergraduate test set",
    "mit_bee_2025_qualifier": "MIT Integration Bee 2025 qualifying exam (19 of 20 questions)",
    "mit_bee_qualifiers_2010_2024": "MIT Integration Bee qualifying exams 2010-2024",
    "mit_bee_regular_season": "MIT Integration Bee regular season",
    "mit_bee_quarterfinals": "MIT Integration Bee quarterfinals",
    "mit_bee_semifinals": "MIT Integration Bee semifinals",
    "mit_bee_finals": "MIT Integration Bee finals",
    "simple_base": "Simpler base integrals used by the LADDER authors for variant seeding",
    "tiny_hard_train": "Training roots for the embedded tiny calculus model",
    "tiny_hard_validation": "Validation problems for the embedded tiny model (tuning only; disjoint from train and test)",
    "tiny_hard_test": "Test problems for the embedded tiny calculus model",
}


def _data_dir() -> Traversable:
    return resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)


def _set_files() -> dict[str, Traversable]:
    files = {}
    data = _data_dir()
    if not data.is_dir():
        return files
    for entry in data.iterdir():
        name = entry.name
        if name.endswith(".jsonl") and entry.is_file():
            stem = name[: -len(".jsonl")]
            if stem not in NOT_PROBLEM_SETS:
                files[stem] = entry
    return dict(sorted(files.items()))


def problem_set_names() -> list[str]:
    """Names of the shipped problem sets, sorted."""
    return list(_set_files())


def available_problem_sets() -> list[ProblemSetInfo]:
    """Every shipped problem set with its size and a one-line description."""
    infos = []
    for name, entry in _set_files().items():
        size = sum(1 for line in entry.read_text(encoding="utf-8").splitlines() if line.strip())
        infos.append(ProblemSetInfo(name=name, size=size, description=_DESCRIPTIONS.get(name, "")))
    return infos


def load_problem_set(name_or_path: str | Path) -> list[Problem]:
    """The problems of a shipped set (by name) or of a JSONL file (by path).

    Each line is an object with ``raw`` (the problem text; ``problem`` or
    ``text`` are accepted as aliases) and optionally ``id``, ``set`` and
    ``kind``. Raises ``ValueError`` listing the valid names for an unknown
    name, and naming the line for a malformed file.
    """
    files = _set_files()
    key = str(name_or_path)
    if key in files:
        return _parse_lines(files[key].read_text(encoding="utf-8"), source=key, where=f"problem set {key!r}")
    path = Path(key).expanduser()
    looks_like_path = path.suffix == ".jsonl" or "/" in key or "\\" in key
    if looks_like_path:
        if not path.is_file():
            raise ValueError(f"problem set file not found: {path}")
        return _parse_lines(path.read_text(encoding="utf-8"), source=path.stem, where=str(path))
    valid = ", ".join(files) or "(none found)"
    raise ValueError(f"unknown integration problem set {key!r}; valid names: {valid} (or a path to a .jsonl file)")


def _parse_lines(text: str, *, source: str, where: str) -> list[Problem]:
    problems: list[Problem] = []
    seen_ids: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}, line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}, line {lineno}: expected a JSON object")
        raw = row.get("raw", row.get("problem", row.get("text")))
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"{where}, line {lineno}: missing the problem text ('raw')")
        pid = str(row.get("id") or f"{source}/{len(problems):03d}")
        if pid in seen_ids:
            raise ValueError(f"{where}, line {lineno}: duplicate id {pid!r}")
        seen_ids.add(pid)
        kind = row.get("kind") or "unknown"
        meta = {"kind": kind}
        for extra in ("answer", "level", "family"):
            if extra in row:
                meta[extra] = row[extra]
        problems.append(Problem(id=pid, text=raw.strip(), source=str(row.get("set") or source), meta=meta))
    return problems
