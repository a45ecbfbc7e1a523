"""Numbers the report derives from the artifacts, with their definitions in words.

The definitions live next to the code (``DEFINITIONS``) and are copied into
both ``report.md`` and ``report.json``, so that a reader of a number never has
to guess how it was counted. TTRL follows the authors' protocol: the adapted
model is evaluated on the problem after training on its variants only, and is
compared with the un-adapted model given the same number of samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ladder_core.evaluation.passk import pass_at_k as _unbiased_pass_at_k
from ladder_core.evaluation.solved import DEFINITION as SOLVED_DEFINITION
from ladder_core.evaluation.solved import is_solved

if TYPE_CHECKING:
    from ladder_core.artifacts import EvalProblemResult
    from ladder_core.report.summary import EvalView, TtrlView

DEFINITIONS: dict[str, str] = {
    "pass@k": "unbiased estimate 1 - C(n-c, k)/C(n, k) per problem (n samples, c correct), averaged over "
              "the test problems; pass@1 is the mean fraction of correct samples.",
    "greedy_accuracy": "fraction of test problems whose greedy (temperature 0) answer is verified correct.",
    "solved": SOLVED_DEFINITION,
    "ci95": "95% percentile bootstrap interval over problems (2000 resamples); over seeds (ablation): Student t.",
    "paired": "after minus before on the same problems: delta = mean difference, ci95 = paired bootstrap "
              "interval, p_value = two-sided sign-flip permutation test (exact up to 16 items).",
    "ttrl": "for each test problem the trained model does not solve: train on its variant tree with the problem "
            "and its equivalents removed, then draw ttrl.eval_samples answers and the greedy answer from the "
            "adapted model (adapted) and, as the control, from the model before adaptation (control).",
    "ttrl_accuracy": "share of all test problems solved by the trained model or, for the problems TTRL "
                     "attempted, by the adapted model; the control counts the un-adapted model's samples instead.",
    "ttrl_pass@1": "mean over test problems of pass@1, with the adapted model's samples for the problems TTRL "
                   "attempted and the trained model's pass@1 for the others; the control uses the un-adapted "
                   "model's samples for the attempted problems.",
}


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator for one problem (0 without samples; k capped at n)."""
    if n <= 0:
        return 0.0
    return _unbiased_pass_at_k(n, c, min(k, n))


def pass_at_k_table(problems: Iterable[EvalProblemResult], ks: Iterable[int]) -> dict[int, float]:
    """Mean pass@k over problems for each k not larger than the smallest sample count."""
    problems = [p for p in problems if p.n > 0]
    if not problems:
        return {}
    n_min = min(p.n for p in problems)
    given = {int(k) for k in ks if int(k) > 0}
    wanted = sorted(given | {1}) if given else [2**i for i in range(int(math.log2(n_min)) + 1)]
    return {k: sum(pass_at_k(p.n, p.n_correct, k) for p in problems) / len(problems)
            for k in wanted if k <= n_min}


def solved(outcome: EvalProblemResult) -> bool:
    """``DEFINITIONS["solved"]`` (:func:`ladder_core.evaluation.solved.is_solved`)."""
    return is_solved(outcome.greedy_correct, outcome.n, outcome.n_correct)


def solved_accuracy(result: EvalView) -> float | None:
    """Share of problems ``solved`` (greedy accuracy when greedy ran)."""
    if result.greedy_accuracy is not None:
        return result.greedy_accuracy
    if result.problems:
        return sum(solved(p) for p in result.problems.values()) / len(result.problems)
    return None


@dataclass
class TtrlAccuracy:
    """The whole system (trained model + per-problem TTRL) on the test set, and its control, per problem.

    The ``*_per_problem`` lists are aligned on ``problem_ids`` (every evaluated
    test problem), so that intervals and paired tests can be computed from them.
    """

    base_stage: str | None = None
    n_problems: int | None = None
    solved_before: int | None = None
    problem_ids: list[str] = field(default_factory=list)
    solved_per_problem: list[float] = field(default_factory=list)
    solved_control_per_problem: list[float] = field(default_factory=list)
    pass1_per_problem: list[float] = field(default_factory=list)
    pass1_control_per_problem: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        return _mean(self.solved_per_problem)

    @property
    def accuracy_control(self) -> float | None:
        return _mean(self.solved_control_per_problem)

    @property
    def pass_at_1(self) -> float | None:
        return _mean(self.pass1_per_problem)

    @property
    def pass_at_1_control(self) -> float | None:
        return _mean(self.pass1_control_per_problem)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ttrl_accuracy(base: EvalView | None, ttrl: TtrlView | None) -> TtrlAccuracy:
    """Combine the model TTRL started from (``evaluate``, else ``baseline``) with TTRL's per-problem results."""
    out = TtrlAccuracy(base_stage=base.stage if base else None)
    if base is None or ttrl is None:
        if ttrl is not None:
            out.notes.append("no evaluation of the model TTRL started from; combined accuracies unavailable")
        return out
    if not base.problems:
        out.notes.append(f"{base.stage}/results.jsonl missing: combined accuracies need per-problem results")
        return out
    attempted = {p.problem_id: p for p in ttrl.problems}
    unknown = set(attempted) - set(base.problems)
    if unknown:
        out.notes.append(f"{len(unknown)} TTRL problem id(s) are not in {base.stage}/results.jsonl; ignored")
    out.n_problems = len(base.problems)
    out.solved_before = sum(solved(p) for p in base.problems.values())
    for pid, p in base.problems.items():
        out.problem_ids.append(pid)
        t = attempted.get(pid)
        if t is None:
            out.solved_per_problem.append(float(solved(p)))
            out.solved_control_per_problem.append(float(solved(p)))
            out.pass1_per_problem.append(p.pass_at_1)
            out.pass1_control_per_problem.append(p.pass_at_1)
            continue
        out.solved_per_problem.append(float(solved(p) or t.solved))
        out.solved_control_per_problem.append(float(solved(p) or t.control_solved))
        out.pass1_per_problem.append(t.adapted_pass_at_1)
        out.pass1_control_per_problem.append(t.control_pass_at_1)
    return out
