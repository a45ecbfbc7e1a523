"""``report.json``: the run's results for machines (dashboards, sweeps, CI checks), as one typed record.

:func:`to_report` builds the :class:`~ladder_core.artifacts.Report` record
(every section a record of :mod:`ladder_core.artifacts`) from the
:class:`RunSummary`; the report stage writes it with the one writer and
``report.md`` is rendered from the same record. Stages that did not run are
``None`` (never made-up zeros) and are listed in ``stages_missing``; floats
that are not finite (a NaN loss) become ``None`` so the file is strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ladder_core.artifacts import (
    Comparisons,
    DecontaminationSection,
    EvalIntervals,
    EvalSection,
    MeanInterval,
    ModelInfo,
    PairedDelta,
    PairedEval,
    PairedTtrl,
    Report,
    TrainingSection,
    TtrlIntervals,
    TtrlSection,
    TtrlVsControl,
    ValidationSection,
    VariantsSection,
)
from ladder_core.evaluation.intervals import Interval, PairedComparison, bootstrap_mean, paired_comparison
from ladder_core.report.metrics import DEFINITIONS, TtrlAccuracy, solved_accuracy
from ladder_core.report.summary import EvalView, RunSummary, TrainingView, TtrlView, VariantsView


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _delta(after: float | None, before: float | None) -> float | None:
    return after - before if after is not None and before is not None else None


def mean_interval(values: list[float]) -> MeanInterval | None:
    """The bootstrap interval of a mean over problems, as stored."""
    return _interval(bootstrap_mean(values)) if values else None


def _interval(interval: Interval | None) -> MeanInterval | None:
    if interval is None:
        return None
    return MeanInterval(mean=interval.mean, ci95=(interval.low, interval.high), n=interval.n, method=interval.method)


def _paired(after: list[float], before: list[float]) -> PairedDelta | None:
    c: PairedComparison | None = paired_comparison(after, before)
    if c is None:
        return None
    return PairedDelta(delta=c.delta, ci95=(c.low, c.high), p_value=c.p_value, n=c.n, significant=c.significant,
                       method=c.method)


def eval_section(result: EvalView | None) -> EvalSection | None:
    if result is None:
        return None
    return EvalSection(
        problem_set=result.problem_set,
        n_problems=result.n_problems,
        samples=result.samples,
        temperature=result.temperature,
        pass_at_k={str(k): v for k, v in sorted(result.pass_at_k.items())},
        pass_at_1=result.pass_at_1,
        greedy_accuracy=result.greedy_accuracy,
        solved_accuracy=solved_accuracy(result),
        status_counts=dict(result.status_counts),
        seconds=result.seconds,
        recomputed_from_results=result.recomputed,
        ci95=eval_intervals(result),
        trained_on=result.trained_on,
    )


def _per_problem(result: EvalView, ids: list[str] | None = None) -> tuple[list[float], list[float] | None]:
    """pass@1 and greedy (1/0) per problem, in ``ids`` order (all problems by default)."""
    ids = list(result.problems) if ids is None else ids
    probs = [result.problems[i] for i in ids]
    greedy = [float(p.greedy_correct) for p in probs] if probs and all(
        p.greedy_correct is not None for p in probs) else None
    return [p.pass_at_1 for p in probs], greedy


def eval_intervals(result: EvalView) -> EvalIntervals | None:
    """95% bootstrap intervals over problems of pass@1 and greedy accuracy (needs results.jsonl)."""
    if not result.problems:
        return None
    pass1, greedy = _per_problem(result)
    return EvalIntervals(pass_at_1=mean_interval(pass1), greedy=mean_interval(greedy) if greedy else None)


def paired_eval(after: EvalView | None, before: EvalView | None) -> PairedEval | None:
    """``after - before`` on the problems both evaluated: pass@1 and greedy, with ci95 and p_value."""
    if after is None or before is None or not after.problems or not before.problems:
        return None
    ids = [i for i in before.problems if i in after.problems]
    if not ids:
        return None
    a_pass, a_greedy = _per_problem(after, ids)
    b_pass, b_greedy = _per_problem(before, ids)
    return PairedEval(pass_at_1=_paired(a_pass, b_pass),  # type: ignore[arg-type]  # ids is not empty
                      greedy=_paired(a_greedy, b_greedy) if a_greedy and b_greedy else None)


def ttrl_comparison(accuracy: TtrlAccuracy, ttrl: TtrlView | None) -> TtrlVsControl | None:
    """TTRL vs its control (same samples from the un-adapted model): on the attempted problems and on all."""
    if ttrl is None or not ttrl.problems:
        return None
    probs = ttrl.problems
    attempted = PairedTtrl(
        pass_at_1=_paired([p.adapted_pass_at_1 for p in probs], [p.control_pass_at_1 for p in probs]),  # type: ignore[arg-type]
        solved=_paired([float(p.solved) for p in probs], [float(p.control_solved) for p in probs]))
    every = None
    if accuracy.problem_ids:
        every = PairedTtrl(
            pass_at_1=_paired(accuracy.pass1_per_problem, accuracy.pass1_control_per_problem),  # type: ignore[arg-type]
            solved=_paired(accuracy.solved_per_problem, accuracy.solved_control_per_problem))
    return TtrlVsControl(attempted=attempted, all_test_problems=every)


def variants_section(result: VariantsView | None) -> VariantsSection | None:
    if result is None:
        return None
    return VariantsSection(
        generated=result.proposed,
        accepted=result.accepted,
        acceptance_rate=result.acceptance_rate,
        roots=result.roots,
        per_depth={str(d): n for d, n in sorted(result.per_depth.items())},
        rejections=dict(result.rejections),
        duplicates=result.duplicates,
        per_generator=dict(result.stats.per_generator) if result.stats else {},
        tree_html=list(result.tree_html),
        raw=result.stats,
    )


def training_section(result: TrainingView | None) -> TrainingSection | None:
    if result is None:
        return None
    last = result.log[-1] if result.log else None
    failures = result.reward_failures
    return TrainingSection(
        steps=result.steps,
        seconds=_finite(result.seconds),
        reward_first=_finite(result.reward_first),
        reward_last=_finite(result.reward_last),
        reward_best=_finite(result.reward_best),
        dynamic_sampling=dict(result.dynamic_sampling),
        reward_failures=dict(failures) if failures is not None else None,
        reward_failures_total=result.reward_failures_total,
        final_depth_success={str(d): v for d, v in result.final_depth_success.items() if math.isfinite(v)},
        roots_mastered_last=last.roots_mastered if last else None,
        logged_steps=len(result.log),
        final_model_saved=result.has_final_model,
    )


def ttrl_section(result: TtrlView | None, accuracy: TtrlAccuracy) -> TtrlSection | None:
    if result is None:
        return None
    probs = result.problems
    return TtrlSection(
        protocol=result.protocol,
        trained_on_problem=result.trained_on_problem,
        reset_weights=result.reset_weights,
        attempted=result.attempted,
        solved=result.solved,
        control_solved=result.control_solved,
        skipped_already_solved=result.skipped_already_solved,
        order=result.order,
        not_attempted=result.not_attempted,
        eval_samples=result.eval_samples,
        seconds=result.seconds,
        base_stage=accuracy.base_stage,
        n_problems=accuracy.n_problems,
        solved_before_ttrl=accuracy.solved_before,
        attempted_pass_at_1=mean_interval([p.adapted_pass_at_1 for p in probs]),
        attempted_control_pass_at_1=mean_interval([p.control_pass_at_1 for p in probs]),
        accuracy=accuracy.accuracy,
        accuracy_control=accuracy.accuracy_control,
        pass_at_1=accuracy.pass_at_1,
        pass_at_1_control=accuracy.pass_at_1_control,
        ci95=TtrlIntervals(accuracy=mean_interval(accuracy.solved_per_problem),
                           pass_at_1=mean_interval(accuracy.pass1_per_problem)) if accuracy.problem_ids else None,
        vs_control=ttrl_comparison(accuracy, result),
        notes=list(accuracy.notes),
        problems=list(probs),
    )


def decontamination_section(summary: RunSummary) -> DecontaminationSection:
    """What decontamination dropped (per stage, evaluation set and reason) and any overlapping training roots."""
    variants, train = summary.decontamination_variants, summary.decontamination_train
    first = variants or train
    roots = list(first.overlapping_roots) if first else []
    label = None
    if roots and first is not None and first.kept_overlapping_roots:
        label = (f"REPRODUCTION OF THE PUBLISHED SPLIT: {len(roots)} training root(s) are also evaluation "
                 "problems and were kept (decontamination.keep_overlapping_roots=true); numbers on them "
                 "are not held-out")
    ttrl = "per problem in ttrl/results.jsonl (decontamination)" if summary.ttrl and summary.ttrl.problems else None
    return DecontaminationSection(variants=variants, train=train, ttrl=ttrl, overlapping_training_roots=len(roots),
                                  label=label)


def to_report(summary: RunSummary, accuracy: TtrlAccuracy, plots: Mapping[str, str | None] | None = None,
              plots_skipped: Mapping[str, str] | None = None) -> Report:
    """The whole machine-readable report (the ``report.json`` record)."""
    base, final = summary.baseline, summary.final
    validation = None
    if summary.validation_baseline or summary.validation_final:
        validation = ValidationSection(baseline=eval_section(summary.validation_baseline),
                                       final=eval_section(summary.validation_final),
                                       final_vs_baseline=paired_eval(summary.validation_final,
                                                                     summary.validation_baseline))
    return Report(
        run_dir=str(summary.run_dir),
        model=ModelInfo(name=summary.model_name, name_or_path=summary.model_name_or_path),
        domain=summary.domain,
        train_set=summary.train_set,
        test_set=summary.test_set,
        stages_configured=list(summary.stages_configured),
        stages_run=summary.stages_run,
        stages_missing=summary.stages_missing,
        stage_status=dict(summary.stage_status),
        baseline=eval_section(base),
        final=eval_section(final),
        delta_pass_at_1=_delta(final.pass_at_1 if final else None, base.pass_at_1 if base else None),
        delta_greedy_accuracy=_delta(final.greedy_accuracy if final else None,
                                     base.greedy_accuracy if base else None),
        variants=variants_section(summary.variants),
        training=training_section(summary.training),
        ttrl=ttrl_section(summary.ttrl, accuracy),
        comparison=Comparisons(final_vs_baseline=paired_eval(final, base),
                               ttrl_vs_control=ttrl_comparison(accuracy, summary.ttrl)),
        validation=validation,
        decontamination=decontamination_section(summary),
        wall_time=dict(summary.timings),
        wall_time_total=sum(summary.timings.values()) if summary.timings else None,
        plots=dict(plots or {}),
        plots_skipped=dict(plots_skipped or {}),
        definitions=dict(DEFINITIONS),
        warnings=list(summary.warnings),
    )
