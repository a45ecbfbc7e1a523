"""Read a run directory's artifacts into one typed :class:`RunSummary`.

Every artifact is read with the run directory's one reader and record
(:mod:`ladder_core.artifacts`, the layout of ``docs/run-directory.md``): no
key guessing. Every stage is optional: a run with
``pipeline.stages=[baseline,report]`` or one killed half-way still gets a
report. A missing artifact is simply absent; one that does not match its
record (corrupt JSON, a wrong field, a bad line in the middle of a JSONL file)
becomes a warning in ``RunSummary.warnings`` naming the file and line, never
an exception, because the report runs last and must not throw away hours of
training by crashing. A torn last line is dropped as everywhere else.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ladder_core.artifacts import (
    ArtifactError,
    EvalProblemResult,
    EvalSummary,
    StageTimings,
    TrainStep,
    TrainSummary,
    TreeNode,
    TtrlProblemResult,
    TtrlSummary,
    VariantsStats,
    read_json,
    read_jsonl,
)
from ladder_core.report.summary import (
    EvalView,
    RunSummary,
    TrainingView,
    TtrlView,
    VariantsView,
)
from ladder_core.schema import (
    REQUIRED,
    EvaluationConfig,
    ModelConfig,
    PipelineConfig,
    ReportConfig,
    TTRLConfig,
)

log = logging.getLogger(__name__)
R = TypeVar("R")

#: The pipeline's stages before the report, in run order.
STAGES: tuple[str, ...] = ("baseline", "variants", "train", "evaluate", "ttrl")

#: The artifact whose presence shows a stage got to its end (besides ``DONE.json``).
_STAGE_SUMMARY = {
    "baseline": "baseline/summary.json",
    "variants": "variants/stats.json",
    "train": "train/summary.json",
    "evaluate": "evaluate/summary.json",
    "ttrl": "ttrl/summary.json",
}


# --------------------------------------------------------------------------- reading records


class _Reader:
    """Reads records relative to the run dir; an artifact that does not fit goes to ``warnings``."""

    def __init__(self, run_dir: Path, warnings: list[str]) -> None:
        self.run_dir = run_dir
        self.warnings = warnings

    def warn(self, message: str) -> None:
        log.warning("report: %s", message)
        self.warnings.append(message)

    def exists(self, rel: str) -> bool:
        return (self.run_dir / rel).exists()

    def json(self, rel: str, cls: type[R]) -> R | None:
        path = self.run_dir / rel
        if not path.is_file():
            return None
        try:
            return read_json(path, cls)
        except ArtifactError as exc:
            self.warn(f"{exc}; ignored")
            return None

    def jsonl(self, rel: str, cls: type[R]) -> list[R] | None:
        path = self.run_dir / rel
        if not path.is_file():
            return None
        try:
            return read_jsonl(path, cls)
        except ArtifactError as exc:
            self.warn(f"{exc}; ignored")
            return None


# --------------------------------------------------------------------------- config access


@dataclass(frozen=True)
class ReportSettings:
    """What the report takes from the run's config, read through the typed schema (:mod:`ladder_core.schema`)."""

    pipeline: PipelineConfig
    evaluation: EvaluationConfig
    ttrl: TTRLConfig
    report: ReportConfig
    model: ModelConfig
    domain: str | None

    @property
    def model_name(self) -> str | None:
        return None if self.model.name == REQUIRED else self.model.name

    @property
    def model_name_or_path(self) -> str | None:
        return None if self.model.name_or_path == REQUIRED else self.model.name_or_path


def _plain_config(cfg: Any) -> dict[str, Any]:
    """A config (DictConfig or mapping) as plain nested dicts, leaving out values that do not resolve
    (an unset environment variable must not hide the value the run itself recorded)."""
    if cfg is None:
        return {}
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(dict(cfg))

    def walk(node: Any) -> Any:
        if isinstance(node, DictConfig):
            out = {}
            for name in node:
                try:
                    out[str(name)] = walk(node[name])
                except Exception:  # noqa: BLE001 - omegaconf raises several kinds for a failed interpolation
                    continue
            return out
        return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node

    return walk(cfg)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s values on top, key by key in nested sections."""
    out = dict(base)
    for name, value in over.items():
        inner = out.get(name)
        out[name] = _merged(inner, value) if isinstance(inner, dict) and isinstance(value, dict) else value
    return out


def _run_config(reader: _Reader) -> dict[str, Any]:
    """The resolved ``config.yaml`` the run wrote at start."""
    path = reader.run_dir / "config.yaml"
    if not path.is_file():
        return {}
    try:
        from omegaconf import OmegaConf

        return _plain_config(OmegaConf.load(path))
    except Exception as exc:  # noqa: BLE001 - a broken config.yaml is a warning, the artifacts still report
        reader.warn(f"config.yaml: unreadable ({exc.__class__.__name__}); ignored")
        return {}


def read_settings(cfg: Any, reader: _Reader) -> ReportSettings:
    """The typed sections of ``cfg`` over the run's ``config.yaml``; a section that does not fit the schema is
    a warning naming the key, and its defaults are used."""
    merged = _merged(_run_config(reader), _plain_config(cfg))
    sections: dict[str, Any] = {}
    for cls in (PipelineConfig, EvaluationConfig, TTRLConfig, ReportConfig, ModelConfig):
        try:
            sections[cls.KEY] = cls.of(merged)
        except (ValueError, TypeError) as exc:
            reader.warn(f"config: {exc}; defaults used for {cls.KEY}")
            sections[cls.KEY] = cls()
    # ``domain`` is the plugin's own node; the core knows only that every domain node has a ``name``
    domain = merged["domain"] if "domain" in merged else None
    name = domain["name"] if isinstance(domain, dict) and "name" in domain else None
    return ReportSettings(domain=None if name is None else str(name), **sections)


# --------------------------------------------------------------------------- stages


def _read_eval(reader: _Reader, stage: str, evaluation: EvaluationConfig) -> EvalView | None:
    summary = reader.json(f"{stage}/summary.json", EvalSummary)
    rows = reader.jsonl(f"{stage}/results.jsonl", EvalProblemResult)
    if summary is None and not rows:
        return None
    result = EvalView(stage=stage, summary=summary)
    statuses: Counter[str] = Counter()
    for row in rows or []:
        statuses.update(row.statuses)
        result.problems[row.problem_id] = row
    result.status_counts = dict(statuses.most_common())
    if summary is None and result.problems:
        from ladder_core.evaluation.evaluate import EvalSettings, summarise

        samples = max(p.n for p in result.problems.values())
        settings = EvalSettings(samples=samples, ks=tuple(sorted(set(evaluation.k))) or (1,),
                                temperature=evaluation.temperature)
        result.summary = summarise(list(result.problems.values()), settings)
        result.recomputed = True
        reader.warn(f"{stage}/summary.json missing; numbers recomputed from results.jsonl")
    return result


def _read_variants(reader: _Reader) -> VariantsView | None:
    stats = reader.json("variants/stats.json", VariantsStats)
    nodes = reader.jsonl("variants/nodes.jsonl", TreeNode)
    trees = sorted(p.relative_to(reader.run_dir).as_posix() for p in (reader.run_dir / "variants").glob("tree_*.html"))
    if stats is None and not nodes and not trees:
        return None
    depths = Counter(n.depth for n in nodes or [])
    return VariantsView(stats=stats, node_depths=dict(sorted(depths.items())), tree_html=trees)


def _read_training(reader: _Reader) -> TrainingView | None:
    summary = reader.json("train/summary.json", TrainSummary)
    steps = reader.jsonl("train/log.jsonl", TrainStep)
    has_final = (reader.run_dir / "train" / "final").is_dir()
    if summary is None and steps is None and not has_final:
        return None
    return TrainingView(summary=summary, log=sorted(steps or [], key=lambda s: s.step), has_final_model=has_final)


def _read_ttrl(reader: _Reader) -> TtrlView | None:
    summary = reader.json("ttrl/summary.json", TtrlSummary)
    rows = reader.jsonl("ttrl/results.jsonl", TtrlProblemResult)
    if summary is None and rows is None:
        return None
    return TtrlView(summary=summary, problems=list(rows or []))


def _read_timings(reader: _Reader) -> dict[str, float]:
    timings = reader.json("timings.json", StageTimings)
    return dict(timings.seconds) if timings else {}


def _stage_status(reader: _Reader, stage: str) -> str:
    if reader.exists(f"{stage}/DONE.json"):
        return "done"
    if reader.exists(_STAGE_SUMMARY[stage]):
        return "finished"
    folder = reader.run_dir / stage
    if folder.is_dir() and any(folder.iterdir()):
        return "partial"
    return "missing"


# --------------------------------------------------------------------------- entry point


def collect_run(run_dir: Path | str, cfg: Any = None) -> RunSummary:
    """Read every artifact of ``run_dir``; ``cfg`` (DictConfig or mapping) wins over ``config.yaml``."""
    run_dir = Path(run_dir)
    summary = RunSummary(run_dir=run_dir)
    reader = _Reader(run_dir, summary.warnings)
    if not run_dir.is_dir():
        reader.warn(f"run directory {run_dir} does not exist")
        summary.stage_status = {s: "missing" for s in STAGES}
        return summary
    settings = read_settings(cfg, reader)
    summary.stages_configured = list(settings.pipeline.stages)
    summary.eval_k = sorted(set(settings.evaluation.k))
    summary.ttrl_eval_samples = settings.ttrl.eval_samples
    summary.plots_enabled = settings.report.plots
    summary.model_name = settings.model_name
    summary.model_name_or_path = settings.model_name_or_path
    summary.domain = settings.domain

    summary.stage_status = {stage: _stage_status(reader, stage) for stage in STAGES}
    for extra in summary.stages_configured:
        if extra not in summary.stage_status and extra != "report":
            summary.stage_status[extra] = "done" if reader.exists(f"{extra}/DONE.json") else "missing"

    readers = {
        "baseline": lambda: _read_eval(reader, "baseline", settings.evaluation),
        "final": lambda: _read_eval(reader, "evaluate", settings.evaluation),
        "variants": lambda: _read_variants(reader),
        "training": lambda: _read_training(reader),
        "ttrl": lambda: _read_ttrl(reader),
        "validation_baseline": lambda: _read_eval(reader, "baseline/validation", settings.evaluation)
        if reader.exists("baseline/validation/summary.json") else None,
        "validation_final": lambda: _read_eval(reader, "evaluate/validation", settings.evaluation)
        if reader.exists("evaluate/validation/summary.json") else None,
        "timings": lambda: _read_timings(reader),
    }
    for attr, read in readers.items():
        try:
            value = read()
        except Exception as exc:  # noqa: BLE001 - a schema surprise must not kill the report
            reader.warn(f"could not read the {attr} artifacts ({exc.__class__.__name__}: {exc})")
            continue
        if value is not None:
            setattr(summary, attr, value)

    for stage, result in (("baseline", summary.baseline), ("evaluate", summary.final),
                          ("train", summary.training), ("ttrl", summary.ttrl)):
        secs = getattr(result, "seconds", None)
        if stage not in summary.timings and secs is not None:
            summary.timings[stage] = secs

    summary.test_set = (summary.final.problem_set if summary.final else None) or \
        (summary.baseline.problem_set if summary.baseline else None)
    summary.train_set = summary.training.problem_set if summary.training else None
    return summary
