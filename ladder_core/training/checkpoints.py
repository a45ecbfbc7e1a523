"""Checkpoints a kill cannot tear, resumption that skips torn ones, and time that adds up over attempts.

HF's ``Trainer`` writes ``checkpoint-N/`` in place, file after file; a kill in
the middle leaves a folder that ``get_last_checkpoint`` picks and
``Trainer.train(resume_from_checkpoint=...)`` then refuses forever. Here:

* :class:`AtomicCheckpointMixin` makes the trainer write every checkpoint into
  ``.staging/checkpoint-N`` and rename it into place when complete (a rename
  within one filesystem is atomic), after adding ``ladder_*.json`` files from
  ``ladder_checkpoint_writers`` (counters that must match the weights);
* :func:`latest_valid_checkpoint` picks the newest folder that holds a readable
  trainer state and model weights, warning about each newer folder it skips
  (a torn one from before this fix, or one a user emptied by hand);
* :class:`AttemptLedger` keeps the wall time of every attempt at a job in a
  small JSON file (the :class:`~ladder_core.artifacts.Attempts` record),
  refreshed by a heartbeat thread, so that a killed attempt's time is still
  counted after a resume.

The ``ladder_*.json`` files are records of :mod:`ladder_core.artifacts`
(:func:`read_checkpoint_json` reads one back typed).

The mixin overrides two private ``Trainer`` methods (``_save_checkpoint``,
``_get_output_dir``); ``tests/test_checkpoints.py`` has a canary that fails
loudly when their signatures or the way one calls the other change.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ladder_core.artifacts import ArtifactError, Attempt, Attempts, read_json, write_json

log = logging.getLogger(__name__)

STAGING_DIR = ".staging"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
#: Any of these means the model (or adapter) weights were written.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json", "adapter_model.safetensors", "adapter_model.bin")


class TornCheckpointWarning(UserWarning):
    """A checkpoint folder is incomplete and resumption skips it."""


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from, or ``None`` when it looks complete."""
    state = path / TRAINER_STATE
    if not state.is_file():
        return f"no {TRAINER_STATE}"
    try:
        data = json.loads(state.read_text())
        int(data["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"unreadable {TRAINER_STATE}"
    if not any((path / name).is_file() and (path / name).stat().st_size > 0 for name in WEIGHT_FILES):
        return "no model weights"
    return None


def latest_valid_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``folder``; each newer torn one is named in a warning."""
    if not folder.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in folder.iterdir()
                    if p.is_dir() and (m := _CHECKPOINT.match(p.name))), reverse=True)
    for _, path in found:
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        message = f"checkpoint folder {path} is incomplete ({problem}); skipped, resuming from an older one"
        log.warning(message)
        warnings.warn(message, TornCheckpointWarning, stacklevel=2)
    return None


def checkpoint_step(path: Path) -> int:
    match = _CHECKPOINT.match(path.name)
    if match is None:
        raise ValueError(f"not a checkpoint folder: {path}")
    return int(match.group(1))


R = TypeVar("R")


def read_checkpoint_json(checkpoint: Path, name: str, cls: type[R]) -> R | None:
    """The ``ladder_*.json`` record ``name`` of a checkpoint, or ``None`` when the checkpoint has none.

    A file that does not fit ``cls`` (corrupt, or from a newer ladder) is an
    :class:`~ladder_core.artifacts.ArtifactError` naming it: resuming with
    counters that do not match the weights would be silently wrong.
    """
    path = checkpoint / name
    if not path.is_file():
        return None
    return read_json(path, cls)


class AtomicCheckpointMixin:
    """Mix in before ``transformers.Trainer``: checkpoints appear complete or not at all (see module docstring)."""

    #: Called with the staging folder before it is renamed into place (main process only).
    ladder_checkpoint_writers: list[Callable[[Path], None]]

    def _get_output_dir(self, trial: Any) -> str:
        staging = getattr(self, "_ladder_staging", None)
        if staging is not None:
            return str(staging)
        return super()._get_output_dir(trial)  # type: ignore[misc]

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from transformers.trainer_utils import rotate_checkpoints

        run_dir = Path(super()._get_output_dir(trial))  # type: ignore[misc]
        name = f"checkpoint-{self.state.global_step}"  # type: ignore[attr-defined]
        staging = run_dir / STAGING_DIR
        main = bool(self.args.should_save)  # type: ignore[attr-defined]
        accelerator = getattr(self, "accelerator", None)
        if main:  # a stale staging folder of this step (a kill mid-save) goes first
            shutil.rmtree(staging / name, ignore_errors=True)
            staging.mkdir(parents=True, exist_ok=True)
        if accelerator is not None:
            accelerator.wait_for_everyone()
        self._ladder_staging = staging
        try:
            super()._save_checkpoint(model, trial)  # type: ignore[misc]
        finally:
            self._ladder_staging = None
        if accelerator is not None:  # every rank has written its part before the folder is published
            accelerator.wait_for_everyone()
        if main:
            for write in getattr(self, "ladder_checkpoint_writers", []):
                write(staging / name)
            final = run_dir / name
            if final.exists():  # the same step saved again after a resume: replace it
                old = staging / f"{name}.old"
                shutil.rmtree(old, ignore_errors=True)
                os.replace(final, old)
                os.replace(staging / name, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging / name, final)
            args, state = self.args, self.state  # type: ignore[attr-defined]
            rotate_checkpoints(output_dir=str(run_dir), save_total_limit=args.save_total_limit,
                               best_model_checkpoint=state.best_model_checkpoint, use_mtime=False)
        if accelerator is not None:
            accelerator.wait_for_everyone()


class AttemptLedger:
    """Wall time of every attempt at one job, kept in ``path`` (JSON) and refreshed every ``heartbeat_s``.

    ``start()`` appends an attempt (or, with ``fresh=True``, forgets earlier
    ones); ``stop()`` records the final time and returns the total over all
    attempts. A kill loses at most one heartbeat of time.
    """

    def __init__(self, path: Path, heartbeat_s: float = 5.0) -> None:
        self.path = path
        self.heartbeat_s = heartbeat_s
        self._previous = 0.0
        self._attempts: list[Attempt] = []
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _read(self) -> list[Attempt]:
        """Earlier attempts; an unreadable ledger is named in a warning and restarted (it only counts time)."""
        if not self.path.is_file():
            return []
        try:
            return list(read_json(self.path, Attempts).attempts)
        except ArtifactError as exc:
            log.warning("%s; earlier attempts' time is not counted", exc)
            return []

    def start(self, fresh: bool = False) -> None:
        self._attempts = [] if fresh else self._read()
        self._previous = sum(a.seconds for a in self._attempts)
        self._attempts.append(Attempt(started=time.strftime("%Y-%m-%dT%H:%M:%S"), seconds=0.0))
        self._start = time.monotonic()
        self._write()
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="ladder-attempt-ledger", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            self._write()

    def _write(self, finished: bool = False) -> None:
        with self._lock:
            if not self._attempts:
                return
            self._attempts[-1] = Attempt(started=self._attempts[-1].started,
                                         seconds=round(time.monotonic() - self._start, 2), finished=finished)
            write_json(self.path, Attempts(attempts=list(self._attempts)))

    @property
    def attempts(self) -> int:
        return len(self._attempts)

    def total_seconds(self) -> float:
        """Earlier attempts plus this one so far."""
        return round(self._previous + (time.monotonic() - self._start if self._attempts else 0.0), 2)

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._write(finished=True)
        return self.total_seconds()
