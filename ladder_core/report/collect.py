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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from ladder_core.artifacts import (
    ArtifactError,
    Decontamination,
    EvalProblemResult,
    StageTimings,
    EvalSummary,
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
    EvalResult,
    RunSummary,
    TrainingResult,
    TtrlResult,
    VariantsResult,
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


def _int(value: Any) -> int | None:
    """A config value as an int (None for anything else: bools, strings, floats with a fraction)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)



def cfg_select(cfg: Any, key: str) -> Any:
    """``cfg.a.b`` for a DictConfig or a plain mapping; None when absent or unresolvable."""
    if cfg is None:
        return None
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=False)
            return value
    except Exception:  # noqa: BLE001 - an odd config must not break the report
        return None
    node: Any = cfg
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def _load_run_config(reader: _Reader) -> dict[str, Any] | None:
    """The resolved ``config.yaml`` the run wrote at start, as plain data."""
    path = reader.run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        from omegaconf import OmegaConf

        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception as exc:  # noqa: BLE001
        reader.warn(f"config.yaml: unreadable ({exc.__class__.__name__}); ignored")
        return None
    return data if isinstance(data, dict) else None


def _setting(key: str, *cfgs: Any) -> Any:
    """First usable value of ``key`` among configs; unresolved ``${...}`` strings come last."""
    fallback = None
    for cfg in cfgs:
        value = cfg_select(cfg, key)
        if value is None:
            continue
        if isinstance(value, str) and "${" in value:
            fallback = fallback or value
            continue
        return value
    return fallback


# --------------------------------------------------------------------------- stages


def _read_eval(reader: _Reader, stage: str, ks: list[int], temperature: Any) -> EvalResult | None:
    summary = reader.json(f"{stage}/summary.json", EvalSummary)
    rows = reader.jsonl(f"{stage}/results.jsonl", EvalProblemResult)
    if summary is None and not rows:
        return None
    result = EvalResult(stage=stage, summary=summary)
    statuses: Counter[str] = Counter()
    for row in rows or []:
        statuses.update(row.statuses)
        result.problems[row.problem_id] = row
    result.status_counts = dict(statuses.most_common())
    if summary is None and result.problems:
        from ladder_core.evaluation.evaluate import EvalSettings, summarise

        samples = max(p.n for p in result.problems.values())
        settings = EvalSettings(samples=samples, ks=tuple(ks) or (1,),
                                temperature=float(temperature) if isinstance(temperature, (int, float)) else 1.0)
        result.summary = summarise(list(result.problems.values()), settings)
        result.recomputed = True
        reader.warn(f"{stage}/summary.json missing; numbers recomputed from results.jsonl")
    return result


def _read_variants(reader: _Reader) -> VariantsResult | None:
    stats = reader.json("variants/stats.json", VariantsStats)
    nodes = reader.jsonl("variants/nodes.jsonl", TreeNode)
    trees = sorted(p.relative_to(reader.run_dir).as_posix() for p in (reader.run_dir / "variants").glob("tree_*.html"))
    if stats is None and not nodes and not trees:
        return None
    depths = Counter(n.depth for n in nodes or [])
    return VariantsResult(stats=stats, node_depths=dict(sorted(depths.items())), tree_html=trees)


def _read_training(reader: _Reader) -> TrainingResult | None:
    summary = reader.json("train/summary.json", TrainSummary)
    steps = reader.jsonl("train/log.jsonl", TrainStep)
    has_final = (reader.run_dir / "train" / "final").is_dir()
    if summary is None and steps is None and not has_final:
        return None
    return TrainingResult(summary=summary, log=sorted(steps or [], key=lambda s: s.step), has_final_model=has_final)


def _read_ttrl(reader: _Reader) -> TtrlResult | None:
    summary = reader.json("ttrl/summary.json", TtrlSummary)
    rows = reader.jsonl("ttrl/results.jsonl", TtrlProblemResult)
    if summary is None and rows is None:
        return None
    return TtrlResult(summary=summary, problems=list(rows or []))


def _decontamination(summary: RunSummary) -> dict[str, Decontamination]:
    """The variants stage's and the train stage's records (the latter re-checks what training really saw)."""
    out: dict[str, Decontamination] = {}
    stats = summary.variants.stats if summary.variants else None
    trained = summary.training.summary if summary.training else None
    if stats is not None and stats.decontamination is not None:
        out["variants"] = stats.decontamination
    if trained is not None and trained.decontamination is not None:
        out["train"] = trained.decontamination
    return out


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
    run_cfg = _load_run_config(reader)
    cfgs = (cfg, run_cfg)

    configured = _setting("pipeline.stages", *cfgs)
    summary.stages_configured = [str(s) for s in configured] if isinstance(configured, (list, tuple)) else []
    ks = _setting("evaluation.k", *cfgs)
    summary.eval_k = sorted({int(k) for k in ks if _int(k)}) if isinstance(ks, (list, tuple)) else []
    summary.ttrl_eval_samples = _int(_setting("ttrl.eval_samples", *cfgs))
    plots = _setting("report.plots", *cfgs)
    summary.plots_enabled = plots is not False
    temperature = _setting("evaluation.temperature", *cfgs)

    summary.model_name = _str(_setting("model.name", *cfgs))
    summary.model_name_or_path = _str(_setting("model.name_or_path", *cfgs))
    summary.domain = _str(_setting("domain.name", *cfgs))

    summary.stage_status = {stage: _stage_status(reader, stage) for stage in STAGES}
    for extra in summary.stages_configured:
        if extra not in summary.stage_status and extra != "report":
            summary.stage_status[extra] = "done" if reader.exists(f"{extra}/DONE.json") else "missing"

    readers = {
        "baseline": lambda: _read_eval(reader, "baseline", summary.eval_k, temperature),
        "final": lambda: _read_eval(reader, "evaluate", summary.eval_k, temperature),
        "variants": lambda: _read_variants(reader),
        "training": lambda: _read_training(reader),
        "ttrl": lambda: _read_ttrl(reader),
        "validation_baseline": lambda: _read_eval(reader, "baseline/validation", summary.eval_k, temperature)
        if reader.exists("baseline/validation/summary.json") else None,
        "validation_final": lambda: _read_eval(reader, "evaluate/validation", summary.eval_k, temperature)
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

    summary.decontamination = _decontamination(summary)
    for stage, result in (("baseline", summary.baseline), ("evaluate", summary.final),
                          ("train", summary.training), ("ttrl", summary.ttrl)):
        secs = getattr(result, "seconds", None)
        if stage not in summary.timings and secs is not None:
            summary.timings[stage] = secs

    test_set = (summary.final.problem_set if summary.final else None) or \
        (summary.baseline.problem_set if summary.baseline else None)
    summary.test_set = test_set or _str(_setting("domain.test_set", *cfgs))
    summary.train_set = (summary.training.problem_set if summary.training else None) or \
        _str(_setting("domain.train_set", *cfgs))
    return summary
