"""``report.json``: the run's results for machines (dashboards, sweeps, CI checks).

Stages that did not run are ``null`` (never made-up zeros) and are listed in
``stages_missing``; every float is finite or ``null`` so the file is strict
JSON. Field meanings are in ``definitions``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ladder_core.report.summary import EvalResult, RunSummary, TrainingResult, TtrlResult, VariantsResult
from ladder_core.report.metrics import DEFINITIONS, TtrlAccuracy, solved_accuracy

SCHEMA_VERSION = 1


def _delta(after: float | None, before: float | None) -> float | None:
    return after - before if after is not None and before is not None else None


def eval_json(result: EvalResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "problem_set": result.problem_set,
        "n_problems": result.n_problems,
        "samples": result.samples,
        "temperature": result.temperature,
        "pass_at_k": {str(k): v for k, v in sorted(result.pass_at_k.items())},
        "pass@1": result.pass_at_1,
        "greedy_accuracy": result.greedy_accuracy,
        "solved_accuracy": solved_accuracy(result),
        "status_counts": dict(result.status_counts),
        "seconds": result.seconds,
        "recomputed_from_results": result.recomputed,
    }


def variants_json(result: VariantsResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "generated": result.proposed,
        "accepted": result.accepted,
        "acceptance_rate": result.acceptance_rate,
        "roots": result.roots,
        "per_depth": {str(d): n for d, n in sorted(result.per_depth.items())},
        "rejections": dict(result.rejections),
        "duplicates": result.duplicates,
        "per_generator": dict(result.per_generator),
        "tree_html": list(result.tree_html),
        "raw": result.raw,
    }


def training_json(result: TrainingResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    last = result.log[-1] if result.log else None
    return {
        "steps": result.steps,
        "seconds": result.seconds,
        "reward_first": result.reward_first,
        "reward_last": result.reward_last,
        "reward_best": result.reward_best,
        "dynamic_sampling": dict(result.dynamic_sampling),
        "reward_failures": result.reward_failures,
        "reward_failures_total": result.reward_failures_total,
        "final_depth_success": {str(d): v for d, v in result.final_depth_success.items()},
        "roots_mastered_last": last.roots_mastered if last else None,
        "logged_steps": len(result.log),
        "final_model_saved": result.has_final_model,
    }


def ttrl_json(result: TtrlResult | None, accuracy: TtrlAccuracy) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "attempted": result.attempted,
        "solved_any_time": result.solved_any_time,
        "solved_final": result.solved_final,
        "skipped_already_solved": result.skipped_already_solved,
        "steps_to_solve": list(result.steps_to_solve),
        "seconds": result.seconds,
        "base_stage": accuracy.base_stage,
        "n_problems": accuracy.n_problems,
        "solved_before_ttrl": accuracy.solved_before,
        "paper_metric_accuracy": accuracy.paper_metric_accuracy,
        "final_model_accuracy": accuracy.final_model_accuracy,
        "pass@1": accuracy.pass_at_1,
        "notes": list(accuracy.notes),
        "problems": [asdict(p) for p in result.problems],
    }


def to_report_json(summary: RunSummary, accuracy: TtrlAccuracy,
                   plots: Mapping[str, str | None] | None = None,
                   plots_skipped: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole machine-readable report as plain, strictly JSON-serialisable data."""
    base, final = summary.baseline, summary.final
    report = {
        "schema_version": SCHEMA_VERSION,
        "run_dir": str(summary.run_dir),
        "model": {"name": summary.model_name, "name_or_path": summary.model_name_or_path},
        "domain": summary.domain,
        "train_set": summary.train_set,
        "test_set": summary.test_set,
        "stages_configured": list(summary.stages_configured),
        "stages_run": summary.stages_run,
        "stages_missing": summary.stages_missing,
        "stage_status": dict(summary.stage_status),
        "baseline": eval_json(base),
        "final": eval_json(final),
        "delta_pass@1": _delta(final.pass_at_1 if final else None, base.pass_at_1 if base else None),
        "delta_greedy_accuracy": _delta(final.greedy_accuracy if final else None,
                                        base.greedy_accuracy if base else None),
        "variants": variants_json(summary.variants),
        "training": training_json(summary.training),
        "ttrl": ttrl_json(summary.ttrl, accuracy),
        "wall_time": dict(summary.timings),
        "wall_time_total": sum(summary.timings.values()) if summary.timings else None,
        "plots": dict(plots or {}),
        "plots_skipped": dict(plots_skipped or {}),
        "definitions": dict(DEFINITIONS),
        "warnings": list(summary.warnings),
    }
    return strict_json(report)


def strict_json(value: Any) -> Any:
    """Copy with string keys, NaN/inf as None and paths/tuples/sets as JSON types."""
    if isinstance(value, Mapping):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [strict_json(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
