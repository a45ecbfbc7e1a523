"""The run directory's schema: one typed, versioned record per artifact, and one way to read and write them.

Every file a stage writes under the run directory (``docs/run-directory.md``)
is one of the records below (a JSON object, or one object per line of a
``.jsonl`` file), written with :func:`write_json` / :func:`append_jsonl` and
read back with :func:`read_json` / :func:`read_jsonl`. The stage that writes
and the report that reads share the record, so a renamed or mistyped field
fails at once, naming the file (and line), instead of turning into a silent
``None`` in the report.

Versioning: each record has ``SCHEMA_VERSION``, written as ``schema_version``
on disk. A file without it is version 1 (runs from before this module); a
file from a newer ladder is refused with a message saying so.

The torn-line rule, the same for every JSONL file: a kill can leave the last
line half-written, so a final line that lacks its newline or does not parse
is dropped with a warning (and :func:`cut_torn_tail` cuts it off before a
resumed stage appends); a bad line anywhere else is corruption, and reading
stops with an :class:`ArtifactError` naming the file and the line.

Standard library only: observer plugins import these records at load time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ladder_core.records import TreeNode

log = logging.getLogger(__name__)

R = TypeVar("R")
VERSION_KEY = "schema_version"


class ArtifactError(ValueError):
    """An artifact that does not match its schema: names the file (and line) and what is wrong."""


# --------------------------------------------------------------------------- record <-> JSON
def to_dict(record: Any) -> dict[str, Any]:
    """The JSON object of a record: its fields, tuples as lists, plus ``schema_version``."""
    custom = getattr(record, "to_dict", None)
    if callable(custom):
        data = custom()
    else:
        data = {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    data[VERSION_KEY] = type(record).SCHEMA_VERSION
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def from_dict(cls: type[R], data: Any, where: str = "") -> R:
    """Build ``cls`` from a JSON object: unknown or missing keys and wrong scalar types are errors naming ``where``."""
    where = where or cls.__name__
    if not isinstance(data, Mapping):
        raise ArtifactError(f"{where}: expected a JSON object, got {type(data).__name__}")
    data = dict(data)
    version = data.pop(VERSION_KEY, 1)
    supported = getattr(cls, "SCHEMA_VERSION", 1)
    if not isinstance(version, int) or version > supported:
        raise ArtifactError(f"{where}: schema_version {version!r} of {cls.__name__} is newer than this ladder "
                            f"reads (up to {supported}); upgrade ladder to read this run")
    custom = cls.__dict__.get("from_dict")
    if custom is not None:
        try:
            return custom.__get__(None, cls)(data)
        except (TypeError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{where}: not a {cls.__name__} ({exc})") from exc
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    older = (f" (written by an older ladder: schema_version {version}, this ladder writes {supported}; "
             "rerun that stage)") if version < supported else ""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ArtifactError(f"{where}: unknown field(s) {', '.join(unknown)} for {cls.__name__} "
                            f"(fields: {', '.join(fields)}){older}")
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ArtifactError(f"{where}: missing field(s) {', '.join(missing)} for {cls.__name__}{older}")
    values = {name: _convert(hints[name], value, f"{where}: {cls.__name__}.{name}") for name, value in data.items()}
    return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` as ``hint`` says: nested records built, lists made tuples, scalars type-checked."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ArtifactError(f"{where}: null is not allowed")
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, where)
        if set(options) == {int, float}:  # a count or a rate: kept as written
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ArtifactError(f"{where}: expected a number, got {value!r}")
            return value
        return value
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ArtifactError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int or hint is bool or hint is str:
        if type(value) is not hint:
            raise ArtifactError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ArtifactError(f"{where}: expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ArtifactError(f"{where}: expected an object, got {type(value).__name__}")
        item = args[1] if len(args) == 2 else Any
        return {str(k): _convert(item, v, f"{where}[{k!r}]") for k, v in value.items()}
    return value


# ----------------------------------------------------------------------------- JSON files
def write_json(path: Path, record: Any) -> None:
    """Write a record as one JSON file, atomically (a kill leaves the old file or the new one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_dict(record), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, cls: type[R]) -> R:
    """The record stored in ``path`` (an :class:`ArtifactError` names the file when it does not fit)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from exc
    return from_dict(cls, data, str(path))


# ----------------------------------------------------------------------------- JSONL files
@dataclass
class JsonlScan:
    """A JSONL file read under the torn-line rule.

    ``rows`` are ``(line number, object)``; ``good_bytes`` is the size of the
    prefix made of complete lines (what a resumed writer keeps); ``torn`` says
    whether a final line was dropped.
    """

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    good_bytes: int = 0
    torn: bool = False


def scan_jsonl(path: Path, *, limit: int | None = None) -> JsonlScan:
    """Parse ``path`` (its first ``limit`` bytes) with the torn-line rule (see the module docstring)."""
    path = Path(path)
    scan = JsonlScan()
    if not path.is_file():
        return scan
    with path.open("rb") as fh:
        data = fh.read() if limit is None else fh.read(limit)
    start = 0
    lineno = 0
    while start < len(data):
        lineno += 1
        end = data.find(b"\n", start)
        complete = end >= 0
        raw = data[start:end if complete else len(data)]
        nxt = end + 1 if complete else len(data)
        last = nxt >= len(data)
        problem = None
        obj: Any = None
        if raw.strip():
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                problem = f"not JSON ({exc})"
            else:
                if not isinstance(obj, dict):
                    problem = f"a JSON {type(obj).__name__}, not an object"
        if last and (not complete or problem is not None):
            scan.torn = True
            log.warning("%s: dropped a torn last line (line %d, %d bytes), left by an interrupted write",
                        path, lineno, len(raw))
            break
        if problem is not None:
            raise ArtifactError(f"{path}: line {lineno} is {problem}; only a torn last line is skipped, so "
                                "the file is corrupt: fix or remove that line")
        if obj is not None:
            scan.rows.append((lineno, obj))
        start = nxt
        scan.good_bytes = start
    return scan


def read_jsonl(path: Path, cls: type[R] | None = None, *, limit: int | None = None) -> list[R]:
    """Every record of a JSONL file (plain dicts when ``cls`` is None), under the torn-line rule."""
    rows = scan_jsonl(path, limit=limit).rows
    if cls is None:
        return [row for _, row in rows]  # type: ignore[misc]
    return [from_dict(cls, row, f"{path}: line {n}") for n, row in rows]


def cut_torn_tail(path: Path, *, keep: int | None = None) -> int:
    """Truncate ``path`` to its complete lines (or to ``keep`` bytes) before appending; bytes cut."""
    path = Path(path)
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if keep is None:
        keep = scan_jsonl(path).good_bytes
    if size <= keep:
        return 0
    with path.open("r+b") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    return size - keep


def dumps_line(record: Any) -> str:
    """One JSONL line (without its newline) for a record or a plain dict."""
    data = record if isinstance(record, dict) else to_dict(record)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def append_jsonl(path: Path, records: Iterable[Any], *, fsync: bool = False) -> int:
    """Append records, one line each, in one write (``fsync`` for commit logs); the file size afterwards."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(dumps_line(r) + "\n" for r in records).encode("utf-8")
    with path.open("ab") as fh:
        if payload:
            fh.write(payload)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        return fh.tell()


def write_jsonl(path: Path, records: Iterable[Any]) -> None:
    """Replace a JSONL file with ``records`` (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    append_jsonl(tmp, records)
    os.replace(tmp, path)


# ============================================================================== records
# the whole run
@dataclass(frozen=True)
class StageDone:
    """``<stage>/DONE.json``: the stage finished (a rerun skips it); ``seconds`` of wall time over ``attempts``."""

    SCHEMA_VERSION: ClassVar[int] = 1

    seconds: float
    attempts: int = 1


@dataclass(frozen=True)
class StageTimings:
    """``timings.json``: wall seconds per stage, in run order (a rerun of a stage overwrites its entry)."""

    SCHEMA_VERSION: ClassVar[int] = 1

    seconds: dict[str, float] = field(default_factory=dict)

    def with_stage(self, stage: str, seconds: float) -> StageTimings:
        return StageTimings({**self.seconds, stage: round(seconds, 2)})


# baseline/ and evaluate/ (and their validation/ folders)
@dataclass
class EvalProblemResult:
    """One line of ``<stage>/results.jsonl``: one test problem's samples and verdicts.

    ``statuses`` holds the verdict status of each completion; ``greedy_*`` are
    ``None`` when greedy decoding was off.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    problem_id: str
    problem: str
    completions: list[str]
    statuses: list[str]
    n: int
    n_correct: int
    greedy_completion: str | None = None
    greedy_correct: bool | None = None

    @property
    def pass_at_1(self) -> float:
        return self.n_correct / self.n if self.n else 0.0


@dataclass(frozen=True)
class EvalSummary:
    """``<stage>/summary.json``: pass@k over the problem set (keys of ``pass_at_k`` are k as strings)."""

    SCHEMA_VERSION: ClassVar[int] = 1

    n_problems: int
    samples: int
    temperature: float
    pass_at_k: dict[str, float]
    greedy_accuracy: float | None
    solved_any_sample: int
    seconds: float = 0.0
    problem_set: str = ""
    split: str = "test"

    def pass_at(self, k: int) -> float | None:
        return self.pass_at_k.get(str(k))


# decontamination (variants/stats.json, train/summary.json, ttrl/results.jsonl)
@dataclass(frozen=True)
class Decontamination:
    """Nodes dropped because they equal an evaluation problem, and training roots that are evaluation problems.

    ``dropped``: per evaluation set, per match kind (``canonical``,
    ``equivalent``); ``overlapping_roots``: ``{"root_id", "set",
    "problem_id", ...}`` per training root equal to an evaluation problem
    (removed, or kept with ``decontamination.keep_overlapping_roots=true``).
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    total_dropped: int = 0
    overlapping_roots: list[dict[str, str]] = field(default_factory=list)
    kept_overlapping_roots: bool = False


# variants/
@dataclass(frozen=True)
class Rejection:
    """One line of ``variants/rejections.jsonl``: a dropped candidate and why (``reason`` is a counted key)."""

    SCHEMA_VERSION: ClassVar[int] = 1

    root_id: str
    parent_id: str
    generator: str
    reason: str
    detail: str = ""
    text: str = ""
    round: int = 0
    persona: str = ""
    temperature: float | None = None


@dataclass(frozen=True)
class RoundRecord:
    """One line of ``variants/progress.jsonl``: the commit record of one generation round.

    ``active`` lists the roots that took part; ``expanded`` the node ids asked
    for children (a node may appear more than once); ``requested`` the
    variants asked of each generator; ``accepted``/``rejected`` count per root.
    ``nodes_bytes``/``rejections_bytes`` are the file sizes once the round was
    written: everything after them is uncommitted.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    round: int
    nodes_bytes: int
    rejections_bytes: int
    active: list[str] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)
    requested: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    time: float = 0.0
    version: int = 1  # the store's format version before schema_version existed; kept for old files


@dataclass(frozen=True)
class GeneratorTotals:
    """What one variant generator proposed and got accepted, over all trees."""

    SCHEMA_VERSION: ClassVar[int] = 1

    proposed: int
    accepted: int
    acceptance_rate: float


@dataclass(frozen=True)
class VariantsStats:
    """``variants/stats.json``: totals over every tree (``nodes_per_depth`` counts roots at depth "0").

    ``proposed == accepted + sum(rejections.values())``: duplicates are the
    rejections ``duplicate_exact`` / ``duplicate_canonical``.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    roots: int
    variants: int
    variants_per_root: dict[str, float]
    complete_roots: int
    nodes_per_depth: dict[str, int]
    proposed: int
    accepted: int
    acceptance_rate: float
    rejections: dict[str, int]
    per_generator: dict[str, GeneratorTotals]
    rounds_run: int = 0
    seconds: float = 0.0
    resumed: bool = False
    new_nodes: int = 0
    decontamination: Decontamination | None = None

    @property
    def duplicates(self) -> int:
        return sum(n for reason, n in self.rejections.items() if reason.startswith("duplicate"))


# train/ (and each TTRL problem's training folder)
@dataclass(frozen=True)
class TrainStep:
    """One line of ``train/log.jsonl``: one optimisation step.

    ``depth_reward``: mean reward per tree depth in the step's batch;
    ``depth_success``: the curriculum's estimate per depth (keys are depths
    as strings); ``dynamic``: zero-variance groups seen / replaced / dropped
    so far; ``reward_faults``: completions scored 0 or as errors in this
    step, by kind (:mod:`ladder_core.training.rewards`); ``seconds``: since
    training (re)started.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    step: int
    reward: float | None = None
    reward_std: float | None = None
    frac_zero_std: float | None = None
    loss: float | None = None
    depth_reward: dict[str, float] = field(default_factory=dict)
    depth_success: dict[str, float] = field(default_factory=dict)
    roots_mastered: int = 0
    dynamic: dict[str, int | float] = field(default_factory=dict)
    reward_faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """The step's scalar numbers (what a logger plots)."""
        names = ("reward", "reward_std", "frac_zero_std", "loss", "roots_mastered", "seconds")
        values = {n: getattr(self, n) for n in names}
        return {n: float(v) for n, v in values.items() if v is not None}


@dataclass
class TrainSummary:
    """``train/summary.json``, and what one GRPO run returns (TTRL keeps it per problem).

    ``reward_failures`` counts completions scored 0 or as errors, by kind, out
    of ``reward_checks``; ``attempts`` counts the runs (a kill and a resume
    make two); ``first_solved_step`` is set for watched node ids (TTRL:
    the test problem); ``nodes``, ``train_set`` and ``decontamination`` (the
    nodes training really saw, re-checked) are filled by the train stage.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    steps: int
    seconds: float
    reward_first: float | None
    reward_last: float | None
    dynamic_sampling: dict[str, int | float]
    reward_failures: dict[str, int]
    reward_checks: int
    final_depth_success: dict[str, float]
    attempts: int = 1
    first_solved_step: dict[str, int] = field(default_factory=dict)
    solved_nodes: list[str] = field(default_factory=list)
    nodes: int = 0
    train_set: str = ""
    decontamination: Decontamination | None = None


# ttrl/
@dataclass(frozen=True)
class TtrlProblemResult:
    """One line of ``ttrl/results.jsonl``, and the ``ladder_ttrl_problem_end`` payload.

    ``samples`` answers were drawn from the adapted model (``adapted_correct``
    verified) and, as the control, from the same model before adaptation
    (``control_correct``); ``*_greedy`` are the greedy answers' verdicts.
    ``solved``/``control_solved`` apply the one "solved" rule
    (:mod:`ladder_core.evaluation.solved`). ``trained_on_problem`` is false
    under the authors' protocol (variants only); ``steps_to_solve`` is only
    set when training on the problem itself found a verified answer.
    ``decontamination``: the problem's variants dropped as equal to an
    evaluation problem.
    """

    SCHEMA_VERSION: ClassVar[int] = 2  # 2: the control and the one solved rule (issue 12)

    problem_id: str
    trained_on_problem: bool
    variants: int
    steps: int
    samples: int
    adapted_correct: int
    adapted_greedy: bool | None
    control_correct: int
    control_greedy: bool | None
    solved: bool
    control_solved: bool
    steps_to_solve: int | None = None
    decontamination: Decontamination | None = None
    seconds: float = 0.0

    @property
    def adapted_pass_at_1(self) -> float:
        return self.adapted_correct / self.samples if self.samples else 0.0

    @property
    def control_pass_at_1(self) -> float:
        return self.control_correct / self.samples if self.samples else 0.0


@dataclass(frozen=True)
class TtrlSummary:
    """``ttrl/summary.json``: the protocol and the counts over the attempted problems."""

    SCHEMA_VERSION: ClassVar[int] = 2

    protocol: str
    trained_on_problem: bool
    reset_weights: bool
    start_stage: str | None
    attempted: int
    solved: int
    control_solved: int
    skipped_already_solved: int
    eval_samples: int
    seconds: float


__all__ = [
    "ArtifactError", "Decontamination", "EvalProblemResult", "EvalSummary", "GeneratorTotals", "JsonlScan",
    "Rejection", "RoundRecord", "StageDone", "StageTimings", "TrainStep", "TrainSummary", "TreeNode",
    "TtrlProblemResult", "TtrlSummary", "VariantsStats", "append_jsonl", "cut_torn_tail", "dumps_line", "from_dict",
    "read_json", "read_jsonl", "scan_jsonl", "to_dict", "write_json", "write_jsonl",
]
