"""The views the report is built from, one per stage plus the whole-run summary.

Filled by :mod:`ladder_core.report.collect` from the run directory's typed
records (:mod:`ladder_core.artifacts`) and nothing else: each view holds the
stage's records (its summary file and its per-problem or per-step lines) and
derives what the report shows from them. ``None`` means "not measured",
never zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ladder_core.artifacts import (
    Decontamination,
    EvalProblemResult,
    EvalSummary,
    TrainStep,
    TrainSummary,
    TtrlProblemResult,
    TtrlSummary,
    VariantsStats,
)


def _int_keys(values: Mapping[str, float]) -> dict[int, float]:
    return dict(sorted((int(k), v) for k, v in values.items()))


@dataclass
class EvalView:
    """``baseline/`` or ``evaluate/``: ``summary.json`` and the ``results.jsonl`` lines.

    ``recomputed``: the summary was missing (a run killed before the end of the
    stage), so it was recomputed from the lines with the evaluation's own
    :func:`~ladder_core.evaluation.evaluate.summarise`.
    """

    stage: str
    summary: EvalSummary | None = None
    problems: dict[str, EvalProblemResult] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    recomputed: bool = False

    @property
    def problem_set(self) -> str | None:
        return (self.summary.problem_set or None) if self.summary else None

    @property
    def n_problems(self) -> int | None:
        return self.summary.n_problems if self.summary else None

    @property
    def samples(self) -> int | None:
        return self.summary.samples if self.summary else None

    @property
    def temperature(self) -> float | None:
        return self.summary.temperature if self.summary else None

    @property
    def pass_at_k(self) -> dict[int, float]:
        return _int_keys(self.summary.pass_at_k) if self.summary else {}

    @property
    def greedy_accuracy(self) -> float | None:
        return self.summary.greedy_accuracy if self.summary else None

    @property
    def trained_on(self) -> list[str] | None:
        return list(self.summary.trained_on) if self.summary and self.summary.trained_on is not None else None

    @property
    def seconds(self) -> float | None:
        return self.summary.seconds if self.summary and not self.recomputed else None

    @property
    def pass_at_1(self) -> float | None:
        return self.pass_at_k.get(1)


@dataclass
class VariantsView:
    """``variants/``: ``stats.json``, the depth of every stored node, and the tree pictures."""

    stats: VariantsStats | None = None
    node_depths: dict[int, int] = field(default_factory=dict)
    tree_html: list[str] = field(default_factory=list)

    @property
    def per_depth(self) -> dict[int, int]:
        if self.node_depths:
            return dict(self.node_depths)
        return {int(d): n for d, n in _int_keys(self.stats.nodes_per_depth).items()} if self.stats else {}

    @property
    def roots(self) -> int | None:
        if self.node_depths:
            return self.node_depths.get(0, 0)
        return self.stats.roots if self.stats else None

    @property
    def accepted(self) -> int | None:
        if self.node_depths:
            return sum(n for d, n in self.node_depths.items() if d > 0)
        return self.stats.accepted if self.stats else None

    @property
    def proposed(self) -> int | None:
        return self.stats.proposed if self.stats else None

    @property
    def rejections(self) -> dict[str, int]:
        if not self.stats:
            return {}
        return dict(sorted(self.stats.rejections.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def duplicates(self) -> int | None:
        return self.stats.duplicates if self.stats else None

    @property
    def acceptance_rate(self) -> float | None:
        if self.proposed and self.accepted is not None:
            return self.accepted / self.proposed
        return None


@dataclass
class TrainingView:
    """``train/``: ``summary.json`` (:class:`TrainSummary`), the ``log.jsonl`` steps, and the final model."""

    summary: TrainSummary | None = None
    log: list[TrainStep] = field(default_factory=list)
    has_final_model: bool = False

    @property
    def steps(self) -> int | None:
        if self.summary:
            return self.summary.steps
        return self.log[-1].step if self.log else None

    @property
    def seconds(self) -> float | None:
        return self.summary.seconds if self.summary else None

    def _rewards(self) -> list[float]:
        return [s.reward for s in self.log if s.reward is not None]

    @property
    def reward_first(self) -> float | None:
        if self.summary:
            return self.summary.reward_first
        return self._rewards()[0] if self._rewards() else None

    @property
    def reward_last(self) -> float | None:
        if self.summary:
            return self.summary.reward_last
        return self._rewards()[-1] if self._rewards() else None

    @property
    def reward_best(self) -> float | None:
        rewards = self._rewards()
        return max(rewards) if rewards else None

    @property
    def dynamic_sampling(self) -> dict[str, int | float]:
        if self.summary:
            return dict(self.summary.dynamic_sampling)
        return dict(self.log[-1].dynamic) if self.log else {}

    @property
    def reward_failures(self) -> dict[str, int] | None:
        """Completions scored 0 or as errors, by kind (``None``: training did not finish)."""
        return dict(self.summary.reward_failures) if self.summary else None

    @property
    def reward_failures_total(self) -> int | None:
        failures = self.reward_failures
        return None if failures is None else sum(failures.values())

    @property
    def final_depth_success(self) -> dict[int, float]:
        if self.summary:
            return _int_keys(self.summary.final_depth_success)
        for step in reversed(self.log):
            if step.depth_success:
                return _int_keys(step.depth_success)
        return {}

    @property
    def problem_set(self) -> str | None:
        return (self.summary.train_set or None) if self.summary else None


@dataclass
class TtrlView:
    """``ttrl/``: ``summary.json`` (:class:`TtrlSummary`) and the ``results.jsonl`` lines
    (:class:`TtrlProblemResult`); counts come from the lines when there are any."""

    summary: TtrlSummary | None = None
    problems: list[TtrlProblemResult] = field(default_factory=list)

    @property
    def protocol(self) -> str | None:
        return self.summary.protocol if self.summary else None

    @property
    def trained_on_problem(self) -> bool | None:
        if self.summary:
            return self.summary.trained_on_problem
        return any(p.trained_on_problem for p in self.problems) if self.problems else None

    @property
    def reset_weights(self) -> bool | None:
        return self.summary.reset_weights if self.summary else None

    @property
    def attempted(self) -> int | None:
        return len(self.problems) if self.problems else (self.summary.attempted if self.summary else None)

    @property
    def solved(self) -> int | None:
        if self.problems:
            return sum(p.solved for p in self.problems)
        return self.summary.solved if self.summary else None

    @property
    def control_solved(self) -> int | None:
        if self.problems:
            return sum(p.control_solved for p in self.problems)
        return self.summary.control_solved if self.summary else None

    @property
    def skipped_already_solved(self) -> int | None:
        return self.summary.skipped_already_solved if self.summary else None

    @property
    def eval_samples(self) -> int | None:
        return self.summary.eval_samples if self.summary else None

    @property
    def order(self) -> str | None:
        return self.summary.order if self.summary else None

    @property
    def not_attempted(self) -> int | None:
        return self.summary.not_attempted if self.summary else None

    @property
    def seconds(self) -> float | None:
        if self.problems:
            return sum(p.seconds for p in self.problems)
        return self.summary.seconds if self.summary else None


@dataclass
class RunSummary:
    """Everything the report shows, read once from the run directory."""

    run_dir: Path
    model_name: str | None = None
    model_name_or_path: str | None = None
    domain: str | None = None
    train_set: str | None = None
    test_set: str | None = None
    stages_configured: list[str] = field(default_factory=list)
    #: stage -> "done" (DONE.json), "finished" (summary but no DONE.json), "partial", "missing".
    stage_status: dict[str, str] = field(default_factory=dict)
    baseline: EvalView | None = None
    final: EvalView | None = None
    variants: VariantsView | None = None
    training: TrainingView | None = None
    ttrl: TtrlView | None = None
    #: ``baseline/validation`` and ``evaluate/validation`` (evaluation.validation=true).
    validation_baseline: EvalView | None = None
    validation_final: EvalView | None = None
    timings: dict[str, float] = field(default_factory=dict)
    eval_k: list[int] = field(default_factory=list)
    ttrl_eval_samples: int | None = None
    plots_enabled: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def decontamination_variants(self) -> Decontamination | None:
        """Nodes the variants stage dropped as equal to an evaluation problem (see decontaminate.py)."""
        return self.variants.stats.decontamination if self.variants and self.variants.stats else None

    @property
    def decontamination_train(self) -> Decontamination | None:
        """The same check re-run on the nodes training really saw."""
        return self.training.summary.decontamination if self.training and self.training.summary else None

    @property
    def stages_run(self) -> list[str]:
        return [s for s, st in self.stage_status.items() if st in ("done", "finished")]

    @property
    def stages_missing(self) -> list[str]:
        return [s for s, st in self.stage_status.items() if st not in ("done", "finished")]
