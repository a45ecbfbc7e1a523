"""The typed records the report is built from, one per stage plus the whole-run summary.

Filled by :mod:`ladder_core.report.collect`; every field that an artifact may
lack is optional, so "not measured" (None) is never confused with zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ProblemOutcome:
    """One test problem's evaluation: samples drawn, samples correct, greedy result."""

    problem_id: str
    n: int
    n_correct: int
    greedy_correct: bool | None = None

    @property
    def pass_at_1(self) -> float:
        return self.n_correct / self.n if self.n else 0.0


@dataclass
class EvalResult:
    """``baseline/`` or ``evaluate/``: the summary, completed from the per-problem lines when missing."""

    stage: str
    problem_set: str | None = None
    n_problems: int | None = None
    samples: int | None = None
    temperature: float | None = None
    pass_at_k: dict[int, float] = field(default_factory=dict)
    greedy_accuracy: float | None = None
    seconds: float | None = None
    problems: dict[str, ProblemOutcome] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    #: True when the numbers were recomputed from results.jsonl because summary.json was missing.
    recomputed: bool = False

    @property
    def pass_at_1(self) -> float | None:
        return self.pass_at_k.get(1)


@dataclass
class VariantsResult:
    """``variants/``: how many candidates were proposed, how many nodes each depth got, why others died."""

    proposed: int | None = None
    accepted: int | None = None
    roots: int | None = None
    per_depth: dict[int, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    duplicates: int | None = None
    per_generator: dict[str, Any] = field(default_factory=dict)
    tree_html: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float | None:
        if self.proposed and self.accepted is not None:
            return self.accepted / self.proposed
        return None


@dataclass
class TrainStep:
    """One line of ``train/log.jsonl`` with depths as integers."""

    step: int
    reward: float | None = None
    reward_std: float | None = None
    frac_zero_std: float | None = None
    depth_reward: dict[int, float] = field(default_factory=dict)
    depth_success: dict[int, float] = field(default_factory=dict)
    roots_mastered: int | None = None
    dynamic: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingResult:
    """``train/``: the summary plus the per-step log that the depth plot needs."""

    steps: int | None = None
    seconds: float | None = None
    reward_first: float | None = None
    reward_last: float | None = None
    dynamic_sampling: dict[str, Any] = field(default_factory=dict)
    reward_failures: Any = None
    final_depth_success: dict[int, float] = field(default_factory=dict)
    log: list[TrainStep] = field(default_factory=list)
    has_final_model: bool = False
    problem_set: str | None = None

    @property
    def reward_best(self) -> float | None:
        rewards = [s.reward for s in self.log if s.reward is not None]
        return max(rewards) if rewards else None

    @property
    def reward_failures_total(self) -> int | None:
        """Failures as one number whether the stage wrote a count or a per-kind mapping."""
        value = self.reward_failures
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return int(value)
        if isinstance(value, Mapping):
            nums = [v for v in value.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            return int(sum(nums)) if nums else None
        return None


@dataclass
class TtrlProblem:
    """One line of ``ttrl/results.jsonl``: the adapted model and its control on one problem."""

    problem_id: str
    trained_on_problem: bool
    samples: int
    adapted_correct: int
    control_correct: int
    adapted_greedy: bool | None = None
    control_greedy: bool | None = None
    solved: bool = False
    control_solved: bool = False
    steps: int | None = None
    steps_to_solve: int | None = None
    variants: int | None = None
    seconds: float | None = None

    @property
    def adapted_pass_at_1(self) -> float:
        return self.adapted_correct / self.samples if self.samples else 0.0

    @property
    def control_pass_at_1(self) -> float:
        return self.control_correct / self.samples if self.samples else 0.0


@dataclass
class TtrlResult:
    """``ttrl/``: the summary, completed from the per-problem lines."""

    protocol: str | None = None
    trained_on_problem: bool | None = None
    reset_weights: bool | None = None
    attempted: int | None = None
    solved: int | None = None
    control_solved: int | None = None
    skipped_already_solved: int | None = None
    eval_samples: int | None = None
    seconds: float | None = None
    problems: list[TtrlProblem] = field(default_factory=list)


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
    baseline: EvalResult | None = None
    final: EvalResult | None = None
    variants: VariantsResult | None = None
    training: TrainingResult | None = None
    ttrl: TtrlResult | None = None
    #: ``baseline/validation`` and ``evaluate/validation`` (evaluation.validation=true).
    validation_baseline: EvalResult | None = None
    validation_final: EvalResult | None = None
    #: Nodes dropped as equal to an evaluation problem (variants stage + train stage), see decontaminate.py.
    decontamination: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    eval_k: list[int] = field(default_factory=list)
    ttrl_eval_samples: int | None = None
    plots_enabled: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def stages_run(self) -> list[str]:
        return [s for s, st in self.stage_status.items() if st in ("done", "finished")]

    @property
    def stages_missing(self) -> list[str]:
        return [s for s, st in self.stage_status.items() if st not in ("done", "finished")]
