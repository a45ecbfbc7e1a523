"""Append-only, crash-safe storage of variant trees under ``<run_dir>/variants/``.

Three JSON-lines files:

``nodes.jsonl``
    One :class:`~ladder_core.variants.node.VariantNode` per line, roots
    included (loads directly with ``datasets.load_dataset("json", ...)``).
``rejections.jsonl``
    One :class:`Rejection` per dropped candidate, with its reason.
``progress.jsonl``
    One :class:`RoundRecord` per finished generation round: the commit log.

A round is written as: its nodes, its rejections (each file flushed and
fsync'ed), then one commit line recording both files' sizes. On restart,
:meth:`VariantStore.recover` cuts both files back to the last commit, so a
round interrupted by a crash (a kill, an out-of-memory, a power cut) leaves
nothing behind and is simply redone; a half-written last line is dropped the
same way. Readers (:func:`read_nodes`) never modify files and only read what
was committed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ladder_core.variants.node import VariantNode

logger = logging.getLogger(__name__)

NODES_FILE = "nodes.jsonl"
REJECTIONS_FILE = "rejections.jsonl"
PROGRESS_FILE = "progress.jsonl"
FORMAT_VERSION = 1


class StoreError(RuntimeError):
    """The stored trees cannot be used for this build (another run's roots, corrupt commit log)."""


@dataclass(frozen=True)
class Rejection:
    """A candidate variant that was dropped, and why (``reason`` is a counted key)."""

    root_id: str
    parent_id: str
    generator: str
    reason: str
    detail: str = ""
    text: str = ""
    round: int = 0
    persona: str = ""
    temperature: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rejection:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class RoundRecord:
    """The commit record of one generation round (round 0 usually only writes roots).

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
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoundRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class StoreSnapshot:
    """Everything committed so far, as read back by :meth:`VariantStore.recover`."""

    nodes: list[VariantNode]
    rejections: list[Rejection]
    rounds: list[RoundRecord]
    dropped_bytes: int = 0

    @property
    def next_round(self) -> int:
        return self.rounds[-1].round + 1 if self.rounds else 0


# ----------------------------------------------------------------------------- reading
def _read_lines(path: Path, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Parsed JSON objects of ``path`` (up to ``limit`` bytes) and the byte size of the complete lines.

    A last line without its newline, or one that does not parse, ends the
    read: it can only be the torn tail of an interrupted write.
    """
    if not path.exists():
        return [], 0
    with path.open("rb") as fh:
        data = fh.read() if limit is None else fh.read(limit)
    records: list[dict[str, Any]] = []
    good = 0
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            break
        line = data[start:end].strip()
        if line:
            try:
                record = json.loads(line)
            except ValueError:
                break
            if not isinstance(record, dict):
                break
            records.append(record)
        start = end + 1
        good = start
    return records, good


def read_rounds(directory: str | Path) -> list[RoundRecord]:
    """The committed round records (the commit log), oldest first."""
    records, _ = _read_lines(Path(directory) / PROGRESS_FILE)
    return [RoundRecord.from_dict(r) for r in records]


def _committed_limits(directory: Path) -> tuple[int | None, int | None]:
    rounds = read_rounds(directory)
    if not rounds:
        return None, None
    return rounds[-1].nodes_bytes, rounds[-1].rejections_bytes


def read_nodes(directory: str | Path) -> list[VariantNode]:
    """Every committed node (roots first within each round), without touching the files."""
    directory = Path(directory)
    limit, _ = _committed_limits(directory)
    records, _ = _read_lines(directory / NODES_FILE, limit)
    return [VariantNode.from_dict(r) for r in records]


def read_rejections(directory: str | Path) -> list[Rejection]:
    """Every committed rejection record, without touching the files."""
    directory = Path(directory)
    _, limit = _committed_limits(directory)
    records, _ = _read_lines(directory / REJECTIONS_FILE, limit)
    return [Rejection.from_dict(r) for r in records]


def load_hf_dataset(directory: str | Path, cache_dir: str | None = None) -> Any:
    """The nodes file as a ``datasets.Dataset`` (``load_dataset("json")``; call after a build finished)."""
    import datasets

    path = Path(directory) / NODES_FILE
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=cache_dir)


# ----------------------------------------------------------------------------- writing
def _append(path: Path, lines: Iterable[str]) -> int:
    """Append lines in one write, flush and fsync; return the file size afterwards."""
    payload = "".join(line + "\n" for line in lines).encode("utf-8")
    with path.open("ab") as fh:
        if payload:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        return fh.tell()


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class VariantStore:
    """Crash-safe writer and reader of one run's variant trees (a folder)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.nodes_path = self.directory / NODES_FILE
        self.rejections_path = self.directory / REJECTIONS_FILE
        self.progress_path = self.directory / PROGRESS_FILE

    def exists(self) -> bool:
        """Whether anything was committed here already."""
        return bool(read_rounds(self.directory)) or self.nodes_path.exists()

    def recover(self) -> StoreSnapshot:
        """Cut every file back to the last commit and read what is committed.

        Call once before appending (the builder does). Without a commit log
        (files written by hand), complete lines are kept and only a torn last
        line is cut.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        progress, progress_good = _read_lines(self.progress_path)
        dropped = self._truncate(self.progress_path, progress_good)
        rounds = [RoundRecord.from_dict(r) for r in progress]
        nodes_limit = rounds[-1].nodes_bytes if rounds else None
        rej_limit = rounds[-1].rejections_bytes if rounds else None
        for path, limit in ((self.nodes_path, nodes_limit), (self.rejections_path, rej_limit)):
            size = path.stat().st_size if path.exists() else 0
            if limit is not None and size < limit:
                raise StoreError(f"{path} is shorter ({size} bytes) than its last commit ({limit} bytes): "
                                 "the file was edited or lost; move the variants folder away to start over")
        node_records, node_good = _read_lines(self.nodes_path, nodes_limit)
        rej_records, rej_good = _read_lines(self.rejections_path, rej_limit)
        dropped += self._truncate(self.nodes_path, node_good if nodes_limit is None else nodes_limit)
        dropped += self._truncate(self.rejections_path, rej_good if rej_limit is None else rej_limit)
        if dropped:
            logger.warning("variant store %s: dropped %d bytes of an interrupted round", self.directory, dropped)
        return StoreSnapshot(
            nodes=[VariantNode.from_dict(r) for r in node_records],
            rejections=[Rejection.from_dict(r) for r in rej_records],
            rounds=rounds,
            dropped_bytes=dropped,
        )

    @staticmethod
    def _truncate(path: Path, size: int) -> int:
        if not path.exists():
            return 0
        current = path.stat().st_size
        if current <= size:
            return 0
        with path.open("r+b") as fh:
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())
        return current - size

    def commit_round(
        self,
        round_index: int,
        nodes: Sequence[VariantNode],
        rejections: Sequence[Rejection],
        *,
        active: Sequence[str] = (),
        expanded: Sequence[str] = (),
        requested: dict[str, int] | None = None,
        seconds: float = 0.0,
    ) -> RoundRecord:
        """Durably append one round's nodes and rejections, then its commit record."""
        self.directory.mkdir(parents=True, exist_ok=True)
        nodes_bytes = _append(self.nodes_path, (_dumps(n.to_dict()) for n in nodes))
        rejections_bytes = _append(self.rejections_path, (_dumps(r.to_dict()) for r in rejections))
        accepted: dict[str, int] = {}
        for node in nodes:
            if node.depth > 0:
                accepted[node.root_id] = accepted.get(node.root_id, 0) + 1
        rejected: dict[str, int] = {}
        for rej in rejections:
            rejected[rej.root_id] = rejected.get(rej.root_id, 0) + 1
        record = RoundRecord(
            round=round_index,
            nodes_bytes=nodes_bytes,
            rejections_bytes=rejections_bytes,
            active=list(active),
            expanded=list(expanded),
            requested=dict(requested or {}),
            accepted=accepted,
            rejected=rejected,
            seconds=round(seconds, 4),
            time=round(time.time(), 3),
        )
        _append(self.progress_path, [_dumps(record.to_dict())])
        return record
