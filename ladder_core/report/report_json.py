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

from ladder_core.evaluation.intervals import bootstrap_mean, paired_comparison
from ladder_core.report.metrics import DEFINITIONS, TtrlAccuracy, solved_accuracy
from ladder_core.report.summary import EvalResult, RunSummary, TrainingResult, TtrlResult, VariantsResult

SCHEMA_VERSION = 2


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
        "ci95": eval_intervals(result),
    }


def _per_problem(result: EvalResult, ids: list[str] | None = None) -> tuple[list[float], list[float] | None]:
    """pass@1 and greedy (1/0) per problem, in ``ids`` order (all problems by default)."""
    ids = list(result.problems) if ids is None else ids
    probs = [result.problems[i] for i in ids]
    greedy = [float(p.greedy_correct) for p in probs] if probs and all(
        p.greedy_correct is not None for p in probs) else None
    return [p.pass_at_1 for p in probs], greedy


def eval_intervals(result: EvalResult) -> dict[str, Any] | None:
    """95% bootstrap intervals over problems of pass@1 and greedy accuracy (needs results.jsonl)."""
    if not result.problems:
        return None
    pass1, greedy = _per_problem(result)
    interval = bootstrap_mean(pass1)
    g = bootstrap_mean(greedy) if greedy else None
    return {"pass@1": interval.to_dict() if interval else None, "greedy": g.to_dict() if g else None}


def paired_eval(after: EvalResult | None, before: EvalResult | None) -> dict[str, Any] | None:
    """``after - before`` on the problems both evaluated: pass@1 and greedy, with ci95 and p_value."""
    if after is None or before is None or not after.problems or not before.problems:
        return None
    ids = [i for i in before.problems if i in after.problems]
    if not ids:
        return None
    a_pass, a_greedy = _per_problem(after, ids)
    b_pass, b_greedy = _per_problem(before, ids)
    out: dict[str, Any] = {"pass@1": paired_comparison(a_pass, b_pass).to_dict()}  # type: ignore[union-attr]
    out["greedy"] = paired_comparison(a_greedy, b_greedy).to_dict() if a_greedy and b_greedy else None  # type: ignore[union-attr]
    return out


def ttrl_comparison(accuracy: TtrlAccuracy, ttrl: TtrlResult | None) -> dict[str, Any] | None:
    """TTRL vs its control (same samples from the un-adapted model): on the attempted problems and on all."""
    if ttrl is None or not ttrl.problems:
        return None
    probs = ttrl.problems
    out: dict[str, Any] = {
        "attempted": {
            "pass@1": paired_comparison([p.adapted_pass_at_1 for p in probs],
                                        [p.control_pass_at_1 for p in probs]).to_dict(),  # type: ignore[union-attr]
            "solved": paired_comparison([float(p.solved) for p in probs],
                                        [float(p.control_solved) for p in probs]).to_dict(),  # type: ignore[union-attr]
        },
    }
    if accuracy.problem_ids:
        out["all_test_problems"] = {
            "pass@1": paired_comparison(accuracy.pass1_per_problem, accuracy.pass1_control_per_problem).to_dict(),  # type: ignore[union-attr]
            "solved": paired_comparison(accuracy.solved_per_problem,
                                        accuracy.solved_control_per_problem).to_dict(),  # type: ignore[union-attr]
        }
    return out


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
    probs = result.problems

    def ci(values: list[float]) -> dict[str, Any] | None:
        interval = bootstrap_mean(values)
        return interval.to_dict() if interval else None

    return {
        "protocol": result.protocol,
        "trained_on_problem": result.trained_on_problem,
        "reset_weights": result.reset_weights,
        "attempted": result.attempted,
        "solved": result.solved,
        "control_solved": result.control_solved,
        "skipped_already_solved": result.skipped_already_solved,
        "eval_samples": result.eval_samples,
        "seconds": result.seconds,
        "base_stage": accuracy.base_stage,
        "n_problems": accuracy.n_problems,
        "solved_before_ttrl": accuracy.solved_before,
        "attempted_pass@1": ci([p.adapted_pass_at_1 for p in probs]) if probs else None,
        "attempted_control_pass@1": ci([p.control_pass_at_1 for p in probs]) if probs else None,
        "accuracy": accuracy.accuracy,
        "accuracy_control": accuracy.accuracy_control,
        "pass@1": accuracy.pass_at_1,
        "pass@1_control": accuracy.pass_at_1_control,
        "ci95": {"accuracy": ci(accuracy.solved_per_problem), "pass@1": ci(accuracy.pass1_per_problem)}
        if accuracy.problem_ids else None,
        "vs_control": ttrl_comparison(accuracy, result),
        "notes": list(accuracy.notes),
        "problems": [asdict(p) for p in probs],
    }


def decontamination_json(summary: RunSummary) -> dict[str, Any]:
    """What decontamination dropped (per stage, evaluation set and reason) and any overlapping training roots."""
    data: dict[str, Any] = {stage: asdict(record) for stage, record in summary.decontamination.items()}
    if summary.ttrl and summary.ttrl.problems:
        data["ttrl"] = "per problem in ttrl/results.jsonl (decontamination)"
    roots = (data.get("variants") or data.get("train") or {}).get("overlapping_roots") or []
    kept = bool((data.get("variants") or data.get("train") or {}).get("kept_overlapping_roots"))
    data["overlapping_training_roots"] = len(roots)
    if roots and kept:
        data["label"] = (f"REPRODUCTION OF THE PUBLISHED SPLIT: {len(roots)} training root(s) are also evaluation "
                         "problems and were kept (decontamination.keep_overlapping_roots=true); numbers on them "
                         "are not held-out")
    return data


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
        "comparison": {"final_vs_baseline": paired_eval(final, base),
                       "ttrl_vs_control": ttrl_comparison(accuracy, summary.ttrl)},
        "validation": {"baseline": eval_json(summary.validation_baseline),
                       "final": eval_json(summary.validation_final),
                       "final_vs_baseline": paired_eval(summary.validation_final, summary.validation_baseline)}
        if (summary.validation_baseline or summary.validation_final) else None,
        "decontamination": decontamination_json(summary),
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
