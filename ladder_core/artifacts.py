"""The run directory's schema: one typed, versioned record per artifact, and one way to read and write them.

Every file a stage writes under the run directory (``docs/run-directory.md``)
is one of the records below (a JSON object, or one object per line of a
``.jsonl`` file), written with :func:`write_json` / :func:`append_jsonl` and
read back with :func:`read_json` / :func:`read_jsonl`. The stage that writes
and the report that reads share the record, so a renamed or mistyped field
fails at once, naming the file (and line), instead of turning into a silent
``None`` in the report.

A record is declared once with :func:`record` (a dataclass plus its
``SCHEMA_VERSION``); a field whose JSON key is not a Python name says so with
:func:`key` (``pass_at_1: float = key("pass@1")``). :data:`RUN_FILES` maps
every file of a run directory to its record (:func:`read_artifact` reads any
of them); a test reads every file of a real run through it.

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
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from ladder_core.records import TreeNode

log = logging.getLogger(__name__)

R = TypeVar("R")
VERSION_KEY = "schema_version"


class ArtifactError(ValueError):
    """An artifact that does not match its schema: names the file (and line) and what is wrong."""


# --------------------------------------------------------------------------- declaring records
@typing.dataclass_transform(field_specifiers=(field,))
def record(cls: type[R] | None = None, /, *, version: int = 1, frozen: bool = True) -> Any:
    """Declare an artifact record: a dataclass (frozen unless ``frozen=False``) with ``SCHEMA_VERSION = version``.

    Bump ``version`` when a field changes meaning or is removed (the reader
    refuses files from a newer version); adding a field with a default needs no
    bump, since older files still read.
    """

    def wrap(c: type[R]) -> type[R]:
        c = dataclass(frozen=frozen)(c)
        c.SCHEMA_VERSION = version  # type: ignore[attr-defined]
        return c

    return wrap if cls is None else wrap(cls)


def key(name: str, default: Any = dataclasses.MISSING) -> Any:
    """A field stored under another JSON key (``key("pass@1")``: keys that are not Python names)."""
    return field(default=default, metadata={"json": name})


def _json_name(f: dataclasses.Field) -> str:
    return f.metadata.get("json", f.name)


# --------------------------------------------------------------------------- record <-> JSON
def to_dict(record: Any) -> dict[str, Any]:
    """The JSON object of a record: its fields (under their JSON keys), tuples as lists, plus ``schema_version``."""
    custom = getattr(record, "to_dict", None)
    if callable(custom):
        data = custom()
    else:
        data = {_json_name(f): _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
    data[VERSION_KEY] = getattr(type(record), "SCHEMA_VERSION", 1)
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
    fields = {_json_name(f): f for f in dataclasses.fields(cls) if f.init}
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
    values = {fields[name].name: _convert(hints[fields[name].name], value, f"{where}: {cls.__name__}.{name}")
              for name, value in data.items()}
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
def write_text(path: Path, text: str) -> None:
    """Replace a file atomically (a kill leaves the old file or the new one, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, record: Any) -> None:
    """Write a record as one JSON file, atomically."""
    write_text(path, json.dumps(to_dict(record), indent=2, ensure_ascii=False) + "\n")


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
@record
class StageDone:
    """``<stage>/DONE.json``: the stage finished (a rerun skips it); ``seconds`` of wall time over ``attempts``."""

    seconds: float
    attempts: int = 1


@record
class StageTimings:
    """``timings.json``: wall seconds per stage, in run order (a rerun of a stage overwrites its entry)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def with_stage(self, stage: str, seconds: float) -> StageTimings:
        return StageTimings({**self.seconds, stage: round(seconds, 2)})


# baseline/ and evaluate/ (and their validation/ folders)
@record(frozen=False)
class EvalProblemResult:
    """One line of ``<stage>/results.jsonl``: one test problem's samples and verdicts.

    ``statuses`` holds the verdict status of each completion; ``greedy_*`` are
    ``None`` when greedy decoding was off.
    """

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


@record
class EvalSummary:
    """``<stage>/summary.json``: pass@k over the problem set (keys of ``pass_at_k`` are k as strings)."""

    n_problems: int
    samples: int
    temperature: float
    pass_at_k: dict[str, float]
    greedy_accuracy: float | None
    solved_any_sample: int
    seconds: float = 0.0
    problem_set: str = ""
    split: str = "test"
    #: problems the model was trained on before this run, by the domain's check (baseline only; None = unknown)
    trained_on: list[str] | None = None

    def pass_at(self, k: int) -> float | None:
        return self.pass_at_k.get(str(k))


# decontamination (variants/stats.json, train/summary.json, ttrl/results.jsonl)
@record(frozen=False)
class MatchCounts:
    """Nodes dropped as equal to one evaluation set's problems, by how they matched: the same canonical form,
    or the domain's equivalence key."""

    canonical: int = 0
    equivalent: int = 0


@record
class OverlappingRoot:
    """A training root equal to an evaluation problem: ``set``'s ``problem_id``, matched by ``reason``."""

    root_id: str
    set_name: str = key("set")
    problem_id: str = ""
    reason: str = ""
    text: str = ""

    def describe(self) -> str:
        return f"{self.root_id} (= {self.set_name} {self.problem_id})"


@record(frozen=False)
class Decontamination:
    """Nodes dropped because they equal an evaluation problem, and training roots that are evaluation problems.

    ``dropped``: per evaluation set; ``overlapping_roots``: the training roots
    equal to an evaluation problem (removed, or kept with
    ``decontamination.keep_overlapping_roots=true``). Also the accumulator the
    decontamination pass counts into (:mod:`ladder_core.variants.decontaminate`).
    """

    dropped: dict[str, MatchCounts] = field(default_factory=dict)
    total_dropped: int = 0
    overlapping_roots: list[OverlappingRoot] = field(default_factory=list)
    kept_overlapping_roots: bool = False

    def add(self, set_name: str, reason: str, n: int = 1) -> None:
        """Count ``n`` nodes dropped as equal to a problem of ``set_name`` by ``reason`` (canonical, equivalent)."""
        counts = self.dropped.setdefault(set_name, MatchCounts())
        setattr(counts, reason, getattr(counts, reason) + n)
        self.total_dropped += n

    def merge(self, other: Decontamination) -> None:
        for set_name, counts in other.dropped.items():
            for reason in ("canonical", "equivalent"):
                if getattr(counts, reason):
                    self.add(set_name, reason, getattr(counts, reason))
        seen = {(r.root_id, r.set_name) for r in self.overlapping_roots}
        self.overlapping_roots += [r for r in other.overlapping_roots if (r.root_id, r.set_name) not in seen]
        self.kept_overlapping_roots = self.kept_overlapping_roots or other.kept_overlapping_roots


# variants/
@record
class Rejection:
    """One line of ``variants/rejections.jsonl``: a dropped candidate and why (``reason`` is a counted key)."""

    root_id: str
    parent_id: str
    generator: str
    reason: str
    detail: str = ""
    text: str = ""
    round: int = 0
    persona: str = ""
    temperature: float | None = None


@record
class RoundRecord:
    """One line of ``variants/progress.jsonl``: the commit record of one generation round.

    ``active`` lists the roots that took part; ``expanded`` the node ids asked
    for children (a node may appear more than once); ``requested`` the
    variants asked of each generator; ``accepted``/``rejected`` count per root.
    ``nodes_bytes``/``rejections_bytes`` are the file sizes once the round was
    written: everything after them is uncommitted.
    """

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


@record
class GeneratorTotals:
    """What one variant generator proposed and got accepted, over all trees."""

    proposed: int
    accepted: int
    acceptance_rate: float


@record
class VariantsStats:
    """``variants/stats.json``: totals over every tree (``nodes_per_depth`` counts roots at depth "0").

    ``proposed == accepted + sum(rejections.values())``: duplicates are the
    rejections ``duplicate_exact`` / ``duplicate_canonical``.
    """

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
@record
class TrainStep:
    """One line of ``train/log.jsonl``: one optimisation step.

    ``depth_reward``: mean reward per tree depth in the step's batch;
    ``depth_success``: the curriculum's estimate per depth (keys are depths
    as strings); ``dynamic``: zero-variance groups seen / replaced / dropped
    so far; ``reward_faults``: completions scored 0 or as errors in this
    step, by kind (:mod:`ladder_core.training.rewards`); ``seconds``: since
    training (re)started.
    """

    step: int
    reward: float | None = None
    reward_std: float | None = None
    frac_zero_std: float | None = None
    loss: float | None = None
    anchor_nll: float | None = None
    depth_reward: dict[str, float] = field(default_factory=dict)
    depth_success: dict[str, float] = field(default_factory=dict)
    roots_mastered: int = 0
    dynamic: dict[str, int | float] = field(default_factory=dict)
    reward_faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """The step's scalar numbers (what a logger plots)."""
        names = ("reward", "reward_std", "frac_zero_std", "loss", "anchor_nll", "roots_mastered", "seconds")
        values = {n: getattr(self, n) for n in names}
        return {n: float(v) for n, v in values.items() if v is not None}


@record(frozen=False)
class TrainSummary:
    """``train/summary.json``, and what one GRPO run returns (TTRL keeps it per problem).

    ``reward_failures`` counts completions scored 0 or as errors, by kind, out
    of ``reward_checks``; ``attempts`` counts the runs (a kill and a resume
    make two); ``first_solved_step`` is set for watched node ids (TTRL:
    the test problem); ``nodes``, ``train_set`` and ``decontamination`` (the
    nodes training really saw, re-checked) are filled by the train stage.
    """

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
    anchor_examples: int = 0


@record
class AnchorExample:
    """One line of ``train/anchor.jsonl`` (:mod:`ladder_core.training.anchor`): a training node and the model's verified greedy answer to it
    (``completion_ids``: the generated tokens, end-of-sequence included when the model stopped)."""

    node_id: str
    completion: str
    completion_ids: list[int]



# ttrl/
@record(version=2)  # 2: the control and the one solved rule (issue 12)
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


@record(version=2)
class TtrlSummary:
    """``ttrl/summary.json``: the protocol and the counts over the attempted problems."""

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
    order: str = "file"
    not_attempted: int = 0


# attempts and faults (every stage folder, train/, the run directory)
@record
class Attempt:
    """One attempt at a job: when it started (local time, ISO), its wall seconds, whether it ended normally."""

    started: str
    seconds: float
    finished: bool = False


@record
class Attempts:
    """``<stage>/stage_attempts.json`` and ``train/train_attempts.json``: every attempt at the stage or the
    training run, refreshed by a heartbeat so a killed attempt's time still counts after a resume."""

    attempts: list[Attempt] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(a.seconds for a in self.attempts)


@record
class PluginFaults:
    """``plugin_faults.json``: plugin calls outside the reward path (observers, variant generation and
    validation) that raised or ran past their deadline, by kind; ``total`` adds earlier attempts."""

    total: dict[str, int] = field(default_factory=dict)
    earlier_attempts: dict[str, int] = field(default_factory=dict)
    this_attempt: dict[str, int] = field(default_factory=dict)


# checkpoint folders (train/checkpoints/checkpoint-N/): counters that must match the weights
@record
class RewardFaultsCheckpoint:
    """``ladder_reward_faults.json``: reward faults by kind and reward checks so far (restored on resume)."""

    faults: dict[str, int] = field(default_factory=dict)
    checks: int = 0


@record
class CurriculumCheckpoint:
    """``ladder_curriculum.json``: the curriculum sampler's ``state_dict`` and the dynamic-sampling counters.

    ``curriculum`` is the sampler's own versioned state (``version`` inside it,
    checked by the sampler), kept opaque here.
    """

    curriculum: dict[str, Any]
    dynamic: dict[str, int | float] = field(default_factory=dict)


# report.json (the report stage): sections built from the records above
@record
class MeanInterval:
    """A mean with its 95% interval (:class:`ladder_core.evaluation.intervals.Interval` as stored)."""

    mean: float
    ci95: tuple[float, float]
    n: int
    method: str = "bootstrap"


@record
class PairedDelta:
    """``after - before`` on the same items (:class:`ladder_core.evaluation.intervals.PairedComparison`)."""

    delta: float
    ci95: tuple[float, float]
    p_value: float
    n: int
    significant: bool = key("significant_at_0.05")
    method: str = ""


@record
class EvalIntervals:
    """95% bootstrap intervals over problems of an evaluation's pass@1 and greedy accuracy."""

    pass_at_1: MeanInterval | None = key("pass@1", None)
    greedy: MeanInterval | None = None


@record
class EvalSection:
    """``report.json`` ``baseline``/``final`` (and under ``validation``): one evaluation stage."""

    problem_set: str | None
    n_problems: int | None
    samples: int | None
    temperature: float | None
    pass_at_k: dict[str, float]
    pass_at_1: float | None = key("pass@1")
    greedy_accuracy: float | None = None
    solved_accuracy: float | None = None
    status_counts: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    recomputed_from_results: bool = False
    ci95: EvalIntervals | None = None
    #: problems the model was trained on before the run, by the domain's check (``None``: the domain cannot tell)
    trained_on: list[str] | None = None


@record
class PairedEval:
    """After minus before on the problems both evaluations share."""

    pass_at_1: PairedDelta = key("pass@1")
    greedy: PairedDelta | None = None


@record
class PairedTtrl:
    """TTRL (adapted model) minus its control (the un-adapted model, same samples)."""

    pass_at_1: PairedDelta = key("pass@1")
    solved: PairedDelta | None = None


@record
class TtrlVsControl:
    """On the problems TTRL attempted, and on all test problems (the others counted as the trained model)."""

    attempted: PairedTtrl
    all_test_problems: PairedTtrl | None = None


@record
class Comparisons:
    """``report.json`` ``comparison``."""

    final_vs_baseline: PairedEval | None = None
    ttrl_vs_control: TtrlVsControl | None = None


@record
class ValidationSection:
    """``report.json`` ``validation``: the validation split (for tuning; not a test result)."""

    baseline: EvalSection | None = None
    final: EvalSection | None = None
    final_vs_baseline: PairedEval | None = None


@record
class VariantsSection:
    """``report.json`` ``variants``: the trees (counts from ``nodes.jsonl`` when present) and ``stats.json``."""

    generated: int | None
    accepted: int | None
    acceptance_rate: float | None
    roots: int | None
    per_depth: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    duplicates: int | None = None
    per_generator: dict[str, GeneratorTotals] = field(default_factory=dict)
    tree_html: list[str] = field(default_factory=list)
    raw: VariantsStats | None = None


@record
class TrainingSection:
    """``report.json`` ``training``: ``train/summary.json`` and ``train/log.jsonl``."""

    steps: int | None
    seconds: float | None
    reward_first: float | None
    reward_last: float | None
    reward_best: float | None
    dynamic_sampling: dict[str, int | float] = field(default_factory=dict)
    reward_failures: dict[str, int] | None = None
    reward_failures_total: int | None = None
    final_depth_success: dict[str, float] = field(default_factory=dict)
    roots_mastered_last: int | None = None
    logged_steps: int = 0
    final_model_saved: bool = False


@record
class TtrlIntervals:
    """95% bootstrap intervals over all test problems of the TTRL accuracy and pass@1."""

    accuracy: MeanInterval | None = None
    pass_at_1: MeanInterval | None = key("pass@1", None)


@record
class TtrlSection:
    """``report.json`` ``ttrl``: the counts, the accuracies over all test problems, the control comparison."""

    protocol: str | None
    trained_on_problem: bool | None
    reset_weights: bool | None
    attempted: int | None
    solved: int | None
    control_solved: int | None
    skipped_already_solved: int | None
    eval_samples: int | None
    seconds: float | None
    base_stage: str | None
    n_problems: int | None
    solved_before_ttrl: int | None
    order: str | None = None
    not_attempted: int | None = None
    attempted_pass_at_1: MeanInterval | None = key("attempted_pass@1", None)
    attempted_control_pass_at_1: MeanInterval | None = key("attempted_control_pass@1", None)
    accuracy: float | None = None
    accuracy_control: float | None = None
    pass_at_1: float | None = key("pass@1", None)
    pass_at_1_control: float | None = key("pass@1_control", None)
    ci95: TtrlIntervals | None = None
    vs_control: TtrlVsControl | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[TtrlProblemResult] = field(default_factory=list)


@record
class DecontaminationSection:
    """``report.json`` ``decontamination``: the variants and train stages' records, the overlapping roots, and
    ``label`` when roots equal to evaluation problems were kept (a reproduction, not held-out numbers)."""

    variants: Decontamination | None = None
    train: Decontamination | None = None
    ttrl: str | None = None
    overlapping_training_roots: int = 0
    label: str | None = None


@record
class ModelInfo:
    """The policy model as the config names it."""

    name: str | None = None
    name_or_path: str | None = None


@record(version=3, frozen=False)  # 3: every section a record (nested schema_version); absent sections null
class Report:
    """``report.json``: the run's results for machines; ``report.md`` is rendered from this same record.

    Stages that did not run are ``None`` (never made-up zeros) and are listed
    in ``stages_missing``; ``definitions`` says how each number is counted.
    """

    run_dir: str
    model: ModelInfo
    domain: str | None
    train_set: str | None
    test_set: str | None
    stages_configured: list[str]
    stages_run: list[str]
    stages_missing: list[str]
    stage_status: dict[str, str]
    baseline: EvalSection | None
    final: EvalSection | None
    delta_pass_at_1: float | None = key("delta_pass@1", None)
    delta_greedy_accuracy: float | None = None
    variants: VariantsSection | None = None
    training: TrainingSection | None = None
    ttrl: TtrlSection | None = None
    comparison: Comparisons = field(default_factory=Comparisons)
    validation: ValidationSection | None = None
    decontamination: DecontaminationSection = field(default_factory=DecontaminationSection)
    wall_time: dict[str, float] = field(default_factory=dict)
    wall_time_total: float | None = None
    plots: dict[str, str | None] = field(default_factory=dict)
    plots_skipped: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ============================================================================== the layout
#: Every JSON/JSONL file a run writes, as a glob relative to the run directory, with its record
#: (``docs/run-directory.md`` documents each; a test reads every file of a real run through this).
RUN_FILES: dict[str, type] = {
    "timings.json": StageTimings,
    "plugin_faults.json": PluginFaults,
    "report.json": Report,
    "*/DONE.json": StageDone,
    "*/stage_attempts.json": Attempts,
    "baseline/results.jsonl": EvalProblemResult,
    "baseline/summary.json": EvalSummary,
    "evaluate/results.jsonl": EvalProblemResult,
    "evaluate/summary.json": EvalSummary,
    "*/validation/results.jsonl": EvalProblemResult,
    "*/validation/summary.json": EvalSummary,
    "variants/nodes.jsonl": TreeNode,
    "variants/rejections.jsonl": Rejection,
    "variants/progress.jsonl": RoundRecord,
    "variants/stats.json": VariantsStats,
    "train/log.jsonl": TrainStep,
    "train/summary.json": TrainSummary,
    "train/train_attempts.json": Attempts,
    "train/anchor.jsonl": AnchorExample,
    "train/checkpoints/checkpoint-*/ladder_reward_faults.json": RewardFaultsCheckpoint,
    "train/checkpoints/checkpoint-*/ladder_curriculum.json": CurriculumCheckpoint,
    "ttrl/results.jsonl": TtrlProblemResult,
    "ttrl/summary.json": TtrlSummary,
    "ttrl/trees/*/nodes.jsonl": TreeNode,
    "ttrl/trees/*/training_nodes.jsonl": TreeNode,
    "ttrl/trees/*/rejections.jsonl": Rejection,
    "ttrl/trees/*/progress.jsonl": RoundRecord,
    "ttrl/trees/*/log.jsonl": TrainStep,
    "ttrl/trees/*/train_attempts.json": Attempts,
    "ttrl/trees/*/anchor.jsonl": AnchorExample,
    "ttrl/trees/*/checkpoints/checkpoint-*/ladder_reward_faults.json": RewardFaultsCheckpoint,
    "ttrl/trees/*/checkpoints/checkpoint-*/ladder_curriculum.json": CurriculumCheckpoint,
}


def record_for(relative: str | Path) -> type | None:
    """The record of a file in the run directory (``relative`` to it), or ``None`` for a file ladder does not
    own (HF's checkpoint and model files, pictures, ``config.yaml``, ``report.md``)."""
    path = PurePosixPath(Path(relative).as_posix())
    for pattern, cls in RUN_FILES.items():
        if len(path.parts) == len(PurePosixPath(pattern).parts) and path.match(pattern):
            return cls
    return None


def read_artifact(run_dir: Path, relative: str | Path) -> Any:
    """The record(s) of one run-directory file: a record for ``.json``, a list for ``.jsonl``."""
    cls = record_for(relative)
    if cls is None:
        raise ArtifactError(f"{relative}: not a ladder artifact (see docs/run-directory.md)")
    path = Path(run_dir) / relative
    return read_jsonl(path, cls) if path.suffix == ".jsonl" else read_json(path, cls)


__all__ = [
    "RUN_FILES", "AnchorExample", "ArtifactError", "Attempt", "Attempts", "Comparisons", "CurriculumCheckpoint",
    "Decontamination",
    "DecontaminationSection", "EvalIntervals", "EvalProblemResult", "EvalSection", "EvalSummary", "GeneratorTotals",
    "JsonlScan", "MatchCounts", "MeanInterval", "ModelInfo", "OverlappingRoot", "PairedDelta", "PairedEval", "PairedTtrl", "PluginFaults", "Rejection",
    "Report", "RewardFaultsCheckpoint", "RoundRecord", "StageDone", "StageTimings", "TrainStep", "TrainSummary",
    "TrainingSection", "TreeNode", "TtrlIntervals", "TtrlProblemResult", "TtrlSection", "TtrlSummary",
    "TtrlVsControl", "ValidationSection", "VariantsSection", "VariantsStats", "append_jsonl", "cut_torn_tail",
    "dumps_line", "from_dict", "key", "read_artifact", "read_json", "read_jsonl", "record", "record_for",
    "scan_jsonl", "to_dict", "write_json", "write_jsonl", "write_text",
]
