"""Append-only, crash-safe storage of variant trees under ``<run_dir>/variants/``.

Three JSON-lines files:

``nodes.jsonl``
    One :class:`~ladder_core.variants.node.TreeNode` per line, roots
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
was committed. Lines are read and written with :mod:`ladder_core.artifacts`
(the records :class:`~ladder_core.records.TreeNode`,
:class:`~ladder_core.artifacts.Rejection`, :class:`~ladder_core.artifacts.RoundRecord`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder_core.artifacts import Rejection, RoundRecord, append_jsonl, cut_torn_tail, read_jsonl
from ladder_core.records import TreeNode

logger = logging.getLogger(__name__)

NODES_FILE = "nodes.jsonl"
REJECTIONS_FILE = "rejections.jsonl"
PROGRESS_FILE = "progress.jsonl"


class StoreError(RuntimeError):
    """The stored trees cannot be used for this build (another run's roots, corrupt commit log)."""


@dataclass
class StoreSnapshot:
    """Everything committed so far, as read back by :meth:`VariantStore.recover`."""

    nodes: list[TreeNode]
    rejections: list[Rejection]
    rounds: list[RoundRecord]
    dropped_bytes: int = 0

    @property
    def next_round(self) -> int:
        return self.rounds[-1].round + 1 if self.rounds else 0


# ----------------------------------------------------------------------------- reading
def read_rounds(directory: str | Path) -> list[RoundRecord]:
    """The committed round records (the commit log), oldest first."""
    return read_jsonl(Path(directory) / PROGRESS_FILE, RoundRecord)


def _committed_limits(directory: Path) -> tuple[int | None, int | None]:
    rounds = read_rounds(directory)
    if not rounds:
        return None, None
    return rounds[-1].nodes_bytes, rounds[-1].rejections_bytes


def read_nodes(directory: str | Path) -> list[TreeNode]:
    """Every committed node (roots first within each round), without touching the files."""
    directory = Path(directory)
    limit, _ = _committed_limits(directory)
    return read_jsonl(directory / NODES_FILE, TreeNode, limit=limit)


def read_rejections(directory: str | Path) -> list[Rejection]:
    """Every committed rejection record, without touching the files."""
    directory = Path(directory)
    _, limit = _committed_limits(directory)
    return read_jsonl(directory / REJECTIONS_FILE, Rejection, limit=limit)


def load_hf_dataset(directory: str | Path, cache_dir: str | None = None) -> Any:
    """The nodes file as a ``datasets.Dataset`` (``load_dataset("json")``; call after a build finished)."""
    import datasets

    path = Path(directory) / NODES_FILE
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=cache_dir)


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
        dropped = cut_torn_tail(self.progress_path)
        rounds = read_jsonl(self.progress_path, RoundRecord)
        nodes_limit = rounds[-1].nodes_bytes if rounds else None
        rej_limit = rounds[-1].rejections_bytes if rounds else None
        for path, limit in ((self.nodes_path, nodes_limit), (self.rejections_path, rej_limit)):
            size = path.stat().st_size if path.exists() else 0
            if limit is not None and size < limit:
                raise StoreError(f"{path} is shorter ({size} bytes) than its last commit ({limit} bytes): "
                                 "the file was edited or lost; move the variants folder away to start over")
            dropped += cut_torn_tail(path, keep=limit)
        if dropped:
            logger.warning("variant store %s: dropped %d bytes of an interrupted round", self.directory, dropped)
        return StoreSnapshot(
            nodes=read_jsonl(self.nodes_path, TreeNode),
            rejections=read_jsonl(self.rejections_path, Rejection),
            rounds=rounds,
            dropped_bytes=dropped,
        )

    def commit_round(
        self,
        round_index: int,
        nodes: Sequence[TreeNode],
        rejections: Sequence[Rejection],
        *,
        active: Sequence[str] = (),
        expanded: Sequence[str] = (),
        requested: dict[str, int] | None = None,
        seconds: float = 0.0,
    ) -> RoundRecord:
        """Durably append one round's nodes and rejections, then its commit record."""
        self.directory.mkdir(parents=True, exist_ok=True)
        nodes_bytes = append_jsonl(self.nodes_path, nodes, fsync=True)
        rejections_bytes = append_jsonl(self.rejections_path, rejections, fsync=True)
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
        append_jsonl(self.progress_path, [record], fsync=True)
        return record
