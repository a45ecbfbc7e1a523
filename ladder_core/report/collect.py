"""Read a run directory's artifacts into one typed :class:`RunSummary`.

Every stage is optional: a run with ``pipeline.stages=[baseline,report]`` or one
killed half-way still gets a report. A missing artifact is simply absent; a
malformed one (bad JSON, wrong types, a truncated JSONL line) becomes a warning
in ``RunSummary.warnings`` and never an exception, because the report runs last
and must not throw away hours of training by crashing. The layout read here is
the one specified in ``docs/run-directory.md``.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ladder_core.report.summary import (
    EvalResult,
    ProblemOutcome,
    RunSummary,
    TrainingResult,
    TrainStep,
    TtrlProblem,
    TtrlResult,
    VariantsResult,
)

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- tolerant readers


class _Reader:
    """Reads artifacts relative to the run dir; problems go to ``warnings`` instead of raising."""

    def __init__(self, run_dir: Path, warnings: list[str]) -> None:
        self.run_dir = run_dir
        self.warnings = warnings

    def warn(self, message: str) -> None:
        log.warning("report: %s", message)
        self.warnings.append(message)

    def exists(self, rel: str) -> bool:
        return (self.run_dir / rel).exists()

    def json(self, rel: str, expect: type = dict) -> Any:
        path = self.run_dir / rel
        if not path.is_file():
            return None
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.warn(f"{rel}: unreadable ({exc.__class__.__name__}: {exc}); ignored")
            return None
        if not isinstance(value, expect):
            self.warn(f"{rel}: expected a JSON {expect.__name__}, got {type(value).__name__}; ignored")
            return None
        return value

    def jsonl(self, rel: str) -> list[dict[str, Any]] | None:
        path = self.run_dir / rel
        if not path.is_file():
            return None
        rows: list[dict[str, Any]] = []
        bad = 0
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        row = json.loads(line)
                    except ValueError:
                        bad += 1
                        continue
                    if isinstance(row, dict):
                        rows.append(row)
                    else:
                        bad += 1
        except OSError as exc:
            self.warn(f"{rel}: unreadable ({exc}); ignored")
            return None
        if bad:
            self.warn(f"{rel}: skipped {bad} malformed line(s)")
        return rows


def _num(value: Any) -> float | None:
    """A finite float, or None for anything else (bools, strings, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_keyed(value: Any) -> dict[int, float]:
    """``{"0": 0.4, "1": 0.7}`` (or a list indexed by position) -> ``{0: 0.4, 1: 0.7}``; junk dropped."""
    items: Any
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {}
    out: dict[int, float] = {}
    for key, val in items:
        try:
            depth = int(key)
        except (TypeError, ValueError):
            continue
        number = _num(val)
        if number is not None:
            out[depth] = number
    return dict(sorted(out.items()))


def _count_map(value: Any, count_keys: tuple[str, ...] = ("count", "n", "accepted", "nodes")) -> dict[str, int]:
    """Normalise ``{reason: n}``, ``{reason: {"count": n}}`` or ``[{"reason": r, "count": n}]``."""
    out: dict[str, int] = {}
    if isinstance(value, Mapping):
        for key, val in value.items():
            if isinstance(val, Mapping):
                val = next((val[k] for k in count_keys if k in val), None)
            number = _int(val)
            if number is not None:
                out[str(key)] = number
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                name = item.get("reason", item.get("name", item.get("key")))
                number = _int(next((item[k] for k in count_keys if k in item), None))
                if name is not None and number is not None:
                    out[str(name)] = out.get(str(name), 0) + number
    return out


def _flatten_counts(value: Any, count_keys: tuple[str, ...] = ("nodes", "accepted", "count", "n")) -> Any:
    """``{"1": {"accepted": 30, ...}}`` -> ``{"1": 30}``; plain numbers and lists pass through."""
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, Mapping):
        return value
    return {k: (next((v[c] for c in count_keys if c in v), None) if isinstance(v, Mapping) else v)
            for k, v in value.items()}


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


# --------------------------------------------------------------------------- config access


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


def _read_eval(reader: _Reader, stage: str, ks: list[int]) -> EvalResult | None:
    summary = reader.json(f"{stage}/summary.json")
    rows = reader.jsonl(f"{stage}/results.jsonl")
    if summary is None and rows is None:
        return None
    result = EvalResult(stage=stage)
    statuses: Counter[str] = Counter()
    for row in rows or []:
        pid = _str(row.get("problem_id"))
        n = _int(row.get("n"))
        c = _int(row.get("n_correct"))
        row_statuses = row.get("statuses")
        if isinstance(row_statuses, list):
            statuses.update(str(s) for s in row_statuses)
            if n is None:
                n = len(row_statuses)
            if c is None:
                c = sum(1 for s in row_statuses if str(s) == "correct")
        if pid is None or n is None or c is None:
            continue
        greedy = row.get("greedy_correct")
        result.problems[pid] = ProblemOutcome(pid, n, min(c, n), greedy if isinstance(greedy, bool) else None)
    result.status_counts = dict(statuses.most_common())

    if summary is not None:
        result.problem_set = _str(summary.get("problem_set"))
        result.n_problems = _int(summary.get("n_problems"))
        result.samples = _int(summary.get("samples"))
        result.temperature = _num(summary.get("temperature"))
        result.pass_at_k = {int(k): v for k, v in _int_keyed(summary.get("pass_at_k")).items()}
        result.greedy_accuracy = _num(summary.get("greedy_accuracy"))
        result.seconds = _num(summary.get("seconds"))
    if result.problems:
        if result.n_problems is None:
            result.n_problems = len(result.problems)
        if not result.pass_at_k:
            from ladder_core.report.metrics import pass_at_k_table

            result.pass_at_k = pass_at_k_table(result.problems.values(), ks)
            result.recomputed = True
        if result.greedy_accuracy is None:
            greedy = [p.greedy_correct for p in result.problems.values() if p.greedy_correct is not None]
            if greedy:
                result.greedy_accuracy = sum(greedy) / len(greedy)
                result.recomputed = True
        if result.samples is None:
            result.samples = max(p.n for p in result.problems.values())
    if result.recomputed:
        reader.warn(f"{stage}/summary.json missing or incomplete; numbers recomputed from results.jsonl")
    return result


def _read_variants(reader: _Reader) -> VariantsResult | None:
    stats = reader.json("variants/stats.json")
    nodes = reader.jsonl("variants/nodes.jsonl")
    trees = sorted(p.relative_to(reader.run_dir).as_posix() for p in (reader.run_dir / "variants").glob("tree_*.html"))
    if stats is None and nodes is None and not trees:
        return None
    result = VariantsResult(raw=stats or {}, tree_html=trees)

    if nodes is not None:
        depths: Counter[int] = Counter()
        for node in nodes:
            depth = _int(node.get("depth"))
            if depth is not None:
                depths[depth] += 1
        result.per_depth = dict(sorted(depths.items()))
        result.roots = depths.get(0, 0)
        result.accepted = sum(n for d, n in depths.items() if d > 0)

    if stats is not None:
        if not result.per_depth:
            raw_depth = _first(stats, "per_depth", "nodes_per_depth", "depths")
            result.per_depth = {d: int(n) for d, n in _int_keyed(_flatten_counts(raw_depth)).items()}
        if result.accepted is None:
            accepted = _first(stats, "accepted", "n_accepted", "variants")
            result.accepted = _int(accepted) if not isinstance(accepted, Mapping) else None
            if result.accepted is None and result.per_depth:
                result.accepted = sum(n for d, n in result.per_depth.items() if d > 0)
        if result.roots is None:
            roots = stats.get("roots", stats.get("n_roots"))
            result.roots = len(roots) if isinstance(roots, (list, Mapping)) else _int(roots)
            if result.roots is None and 0 in result.per_depth:
                result.roots = result.per_depth[0]
        result.proposed = _int(_first(stats, "proposed", "generated", "candidates", "n_proposed"))
        result.rejections = dict(sorted(_count_map(_first(stats, "rejections", "rejected", "rejection_reasons")).items(),
                                        key=lambda kv: (-kv[1], kv[0])))
        # Duplicates are either their own count or rejection reasons (duplicate_exact, duplicate_canonical).
        dup_rejected = sum(n for reason, n in result.rejections.items() if reason.startswith("duplicate"))
        duplicates = stats.get("duplicates")
        result.duplicates = sum(_count_map(duplicates).values()) if isinstance(duplicates, Mapping) \
            else _int(duplicates)
        if result.duplicates is None and dup_rejected:
            result.duplicates = dup_rejected
        per_generator = _first(stats, "per_generator", "generators")
        result.per_generator = dict(per_generator) if isinstance(per_generator, Mapping) else {}
        if result.proposed is None and result.accepted is not None and result.rejections:
            # Every candidate is either accepted or rejected for a counted reason.
            extra = result.duplicates if result.duplicates and not dup_rejected else 0
            result.proposed = result.accepted + sum(result.rejections.values()) + extra
    return result


def _read_training(reader: _Reader) -> TrainingResult | None:
    summary = reader.json("train/summary.json")
    rows = reader.jsonl("train/log.jsonl")
    has_final = (reader.run_dir / "train" / "final").is_dir()
    if summary is None and rows is None and not has_final:
        return None
    result = TrainingResult(has_final_model=has_final)
    for i, row in enumerate(rows or []):
        step = _int(row.get("step"))
        dynamic = row.get("dynamic")
        result.log.append(TrainStep(
            step=step if step is not None else i + 1,
            reward=_num(row.get("reward")),
            reward_std=_num(row.get("reward_std")),
            frac_zero_std=_num(row.get("frac_zero_std")),
            depth_reward=_int_keyed(row.get("depth_reward")),
            depth_success=_int_keyed(row.get("depth_success")),
            roots_mastered=_int(row.get("roots_mastered")),
            dynamic=dict(dynamic) if isinstance(dynamic, Mapping) else {},
        ))
    result.log.sort(key=lambda s: s.step)
    if summary is not None:
        result.steps = _int(summary.get("steps"))
        result.seconds = _num(summary.get("seconds"))
        result.reward_first = _num(summary.get("reward_first"))
        result.reward_last = _num(summary.get("reward_last"))
        dyn = summary.get("dynamic_sampling")
        result.dynamic_sampling = dict(dyn) if isinstance(dyn, Mapping) else {}
        failures = summary.get("reward_failures")
        result.reward_failures = dict(failures) if isinstance(failures, Mapping) else _int(failures)
        result.final_depth_success = _int_keyed(summary.get("final_depth_success"))
        result.problem_set = _str(_first(summary, "train_set", "problem_set"))
    rewarded = [s for s in result.log if s.reward is not None]
    if result.steps is None and result.log:
        result.steps = result.log[-1].step
    if result.reward_first is None and rewarded:
        result.reward_first = rewarded[0].reward
    if result.reward_last is None and rewarded:
        result.reward_last = rewarded[-1].reward
    if not result.dynamic_sampling and result.log and result.log[-1].dynamic:
        result.dynamic_sampling = dict(result.log[-1].dynamic)
    if not result.final_depth_success:
        for step in reversed(result.log):
            if step.depth_success:
                result.final_depth_success = dict(step.depth_success)
                break
    return result


def _read_ttrl(reader: _Reader) -> TtrlResult | None:
    summary = reader.json("ttrl/summary.json")
    rows = reader.jsonl("ttrl/results.jsonl")
    if summary is None and rows is None:
        return None
    result = TtrlResult()
    for row in rows or []:
        pid = _str(row.get("problem_id"))
        samples = _int(row.get("samples"))
        if pid is None or samples is None or "adapted_correct" not in row:
            reader.warn("ttrl/results.jsonl has a line in an older format (before the control was recorded); "
                        "rerun the ttrl stage")
            continue
        result.problems.append(TtrlProblem(
            problem_id=pid, trained_on_problem=bool(row.get("trained_on_problem")), samples=samples,
            adapted_correct=_int(row.get("adapted_correct")) or 0, control_correct=_int(row.get("control_correct")) or 0,
            adapted_greedy=_bool(row.get("adapted_greedy")), control_greedy=_bool(row.get("control_greedy")),
            solved=bool(row.get("solved")), control_solved=bool(row.get("control_solved")),
            steps=_int(row.get("steps")), steps_to_solve=_int(row.get("steps_to_solve")),
            variants=_int(row.get("variants")), seconds=_num(row.get("seconds"))))
    summary = summary or {}
    result.protocol = _str(summary.get("protocol"))
    flag = summary.get("trained_on_problem")
    result.trained_on_problem = flag if isinstance(flag, bool) else \
        (any(p.trained_on_problem for p in result.problems) if result.problems else None)
    result.reset_weights = _bool(summary.get("reset_weights"))
    result.skipped_already_solved = _int(summary.get("skipped_already_solved"))
    result.eval_samples = _int(summary.get("eval_samples"))
    result.attempted = len(result.problems) if result.problems else _int(summary.get("attempted"))
    result.solved = sum(p.solved for p in result.problems) if result.problems else _int(summary.get("solved"))
    result.control_solved = sum(p.control_solved for p in result.problems) if result.problems else \
        _int(summary.get("control_solved"))
    secs = [p.seconds for p in result.problems if p.seconds is not None]
    result.seconds = sum(secs) if secs else _num(summary.get("seconds"))
    return result


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _read_decontamination(reader: _Reader) -> dict[str, Any]:
    """The variants stage's and the train stage's counts (the latter re-checks what training really saw)."""
    out: dict[str, Any] = {}
    for stage, rel in (("variants", "variants/stats.json"), ("train", "train/summary.json")):
        data = reader.json(rel) if reader.exists(rel) else None
        if isinstance(data, Mapping) and isinstance(data.get("decontamination"), Mapping):
            out[stage] = dict(data["decontamination"])
    return out


def _read_timings(reader: _Reader) -> dict[str, float]:
    data = reader.json("timings.json")
    out: dict[str, float] = {}
    for stage, value in (data or {}).items():
        if isinstance(value, Mapping):
            value = _first(value, "seconds", "wall_s", "wall")
        number = _num(value)
        if number is not None:
            out[str(stage)] = number
    return out


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

    summary.model_name = _str(_setting("model.name", *cfgs))
    summary.model_name_or_path = _str(_setting("model.name_or_path", *cfgs))
    summary.domain = _str(_setting("domain.name", *cfgs))

    summary.stage_status = {stage: _stage_status(reader, stage) for stage in STAGES}
    for extra in summary.stages_configured:
        if extra not in summary.stage_status and extra != "report":
            summary.stage_status[extra] = "done" if reader.exists(f"{extra}/DONE.json") else "missing"

    readers = {
        "baseline": lambda: _read_eval(reader, "baseline", summary.eval_k),
        "final": lambda: _read_eval(reader, "evaluate", summary.eval_k),
        "variants": lambda: _read_variants(reader),
        "training": lambda: _read_training(reader),
        "ttrl": lambda: _read_ttrl(reader),
        "validation_baseline": lambda: _read_eval(reader, "baseline/validation", summary.eval_k)
        if reader.exists("baseline/validation/summary.json") else None,
        "validation_final": lambda: _read_eval(reader, "evaluate/validation", summary.eval_k)
        if reader.exists("evaluate/validation/summary.json") else None,
        "decontamination": lambda: _read_decontamination(reader),
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

    test_set = (summary.final.problem_set if summary.final else None) or \
        (summary.baseline.problem_set if summary.baseline else None)
    summary.test_set = test_set or _str(_setting("domain.test_set", *cfgs))
    summary.train_set = (summary.training.problem_set if summary.training else None) or \
        _str(_first(summary.variants.raw, "train_set", "problem_set") if summary.variants else None) or \
        _str(_setting("domain.train_set", *cfgs))
    return summary
