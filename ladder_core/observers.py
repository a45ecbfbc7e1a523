"""What observer hooks receive: typed payloads, never dicts of loose keys.

``ladder_train_step_end`` gets a :class:`TrainStepInfo` (the step's
``log.jsonl`` record, the run directory and, for TTRL, the test problem);
``ladder_run_end`` gets a :class:`RunReport` (every stage's summary record,
read back with the run directory's one reader). Standard library only, like
:mod:`ladder_core.artifacts`: plugins import these at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ladder_core.artifacts import (
    ArtifactError,
    EvalSummary,
    TrainStep,
    TrainSummary,
    TtrlSummary,
    VariantsStats,
    read_artifact,
)


@dataclass(frozen=True)
class TrainStepInfo:
    """One optimisation step of training (``stage="train"``) or of TTRL (``stage="ttrl"``).

    ``log`` is the line written to ``log.jsonl``; ``run_dir`` the run
    directory; ``problem_id`` the test problem a TTRL run adapts to (``None``
    in training).
    """

    stage: str
    step: int
    log: TrainStep
    run_dir: Path
    problem_id: str | None = None

    @property
    def metrics(self) -> dict[str, float]:
        """The step's scalar numbers (``reward``, ``reward_std``, ``frac_zero_std``, ``loss``, ...)."""
        return self.log.metrics()


#: Stage folder -> its summary file, in run order (records from ``artifacts.RUN_FILES``). ``evaluate`` is
#: reported as ``final``.
STAGE_SUMMARIES: dict[str, str] = {
    "baseline": "baseline/summary.json",
    "variants": "variants/stats.json",
    "train": "train/summary.json",
    "evaluate": "evaluate/summary.json",
    "ttrl": "ttrl/summary.json",
}


@dataclass(frozen=True)
class RunReport:
    """A run's results as the ``ladder_run_end`` hook sees them: each stage's summary record, ``None`` when
    the stage did not write one, plus the report files. ``problems`` names artifacts that did not read."""

    run_dir: Path
    baseline: EvalSummary | None = None
    variants: VariantsStats | None = None
    train: TrainSummary | None = None
    final: EvalSummary | None = None
    ttrl: TtrlSummary | None = None
    report_md: Path | None = None
    report_json: Path | None = None
    problems: tuple[str, ...] = ()

    @classmethod
    def read(cls, run_dir: Path) -> RunReport:
        """Read every stage summary of ``run_dir`` with the one reader (a bad file is named in ``problems``)."""
        run_dir = Path(run_dir)
        values: dict[str, object] = {}
        problems: list[str] = []
        for stage, rel in STAGE_SUMMARIES.items():
            if not (run_dir / rel).is_file():
                continue
            try:
                values["final" if stage == "evaluate" else stage] = read_artifact(run_dir, rel)
            except ArtifactError as exc:
                problems.append(str(exc))
        md, js = run_dir / "report.md", run_dir / "report.json"
        return cls(run_dir=run_dir, report_md=md if md.is_file() else None,  # type: ignore[arg-type]
                   report_json=js if js.is_file() else None, problems=tuple(problems), **values)
