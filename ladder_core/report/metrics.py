"""Numbers the report derives from the artifacts, with their definitions in words.

The definitions live next to the code (``DEFINITIONS``) and are copied into
both ``report.md`` and ``report.json``, so that a reader of a number never has
to guess how it was counted. The TTRL accuracies follow the paper: a problem
the trained model still fails counts as solved once test-time RL finds a
verified correct answer to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ladder_core.evaluation.passk import pass_at_k as _unbiased_pass_at_k

if TYPE_CHECKING:
    from ladder_core.report.summary import EvalResult, ProblemOutcome, TtrlResult

DEFINITIONS: dict[str, str] = {
    "pass@k": "unbiased estimate 1 - C(n-c, k)/C(n, k) per problem (n samples, c correct), averaged over "
              "the test problems; pass@1 is the mean fraction of correct samples.",
    "greedy_accuracy": "fraction of test problems whose greedy (temperature 0) answer is verified correct.",
    "solved": "a test problem counts as solved by a model when its greedy answer is verified correct; when "
              "greedy decoding was off, when at least half of its samples are correct.",
    "paper_metric_accuracy": "fraction of test problems that are solved by the trained model, or for which "
                             "TTRL produced a verified correct answer at any step (the paper's count).",
    "final_model_accuracy": "as paper_metric_accuracy, but a TTRL problem counts only if the model at the end "
                            "of its TTRL run solves it (solved_final): no credit for a lucky sample mid-run.",
    "ttrl_pass@1": "mean over test problems of pass@1, using final_pass (share of ttrl.eval_samples samples "
                   "correct after TTRL on that problem) for the problems TTRL attempted and the trained "
                   "model's pass@1 for the others.",
}


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator for one problem (0 without samples; k capped at n)."""
    if n <= 0:
        return 0.0
    return _unbiased_pass_at_k(n, c, min(k, n))


def pass_at_k_table(problems: Iterable[ProblemOutcome], ks: Iterable[int]) -> dict[int, float]:
    """Mean pass@k over problems for each k not larger than the smallest sample count."""
    problems = [p for p in problems if p.n > 0]
    if not problems:
        return {}
    n_min = min(p.n for p in problems)
    given = {int(k) for k in ks if int(k) > 0}
    wanted = sorted(given | {1}) if given else [2**i for i in range(int(math.log2(n_min)) + 1)]
    return {k: sum(pass_at_k(p.n, p.n_correct, k) for p in problems) / len(problems)
            for k in wanted if k <= n_min}


def solved(outcome: ProblemOutcome) -> bool:
    """``DEFINITIONS["solved"]``."""
    if outcome.greedy_correct is not None:
        return outcome.greedy_correct
    return outcome.n > 0 and outcome.n_correct / outcome.n >= 0.5


def solved_accuracy(result: EvalResult) -> float | None:
    """Share of problems ``solved`` (greedy accuracy when greedy ran)."""
    if result.greedy_accuracy is not None:
        return result.greedy_accuracy
    if result.problems:
        return sum(solved(p) for p in result.problems.values()) / len(result.problems)
    return None


@dataclass
class TtrlAccuracy:
    """Accuracy of the whole system (trained model + per-problem TTRL) on the test set."""

    base_stage: str | None = None
    n_problems: int | None = None
    solved_before: int | None = None
    paper_metric_accuracy: float | None = None
    final_model_accuracy: float | None = None
    pass_at_1: float | None = None
    notes: list[str] = field(default_factory=list)


def ttrl_accuracy(base: EvalResult | None, ttrl: TtrlResult | None) -> TtrlAccuracy:
    """Combine the model TTRL started from (``evaluate``, else ``baseline``) with TTRL's per-problem results."""
    out = TtrlAccuracy(base_stage=base.stage if base else None)
    if base is None or ttrl is None:
        if ttrl is not None:
            out.notes.append("no evaluation of the model TTRL started from; combined accuracies unavailable")
        return out
    if base.problems:
        ids = set(base.problems)
        before = {pid for pid, p in base.problems.items() if solved(p)}
        any_time = {p.problem_id for p in ttrl.problems if p.solved_any_time}
        final = {p.problem_id for p in ttrl.problems if p.solved_final}
        unknown = (any_time | {p.problem_id for p in ttrl.problems}) - ids
        if unknown:
            out.notes.append(f"{len(unknown)} TTRL problem id(s) are not in {base.stage}/results.jsonl; "
                             "they are counted on top of the evaluated problems")
        n = max(base.n_problems or 0, len(ids | unknown))
        out.n_problems = n
        out.solved_before = len(before)
        out.paper_metric_accuracy = len(before | any_time) / n if n else None
        out.final_model_accuracy = len(before | final) / n if n else None
        pass1 = {pid: p.pass_at_1 for pid, p in base.problems.items()}
        for p in ttrl.problems:
            if p.final_pass is not None:
                pass1[p.problem_id] = p.final_pass
        out.pass_at_1 = sum(pass1.values()) / n if n else None
        return out
    # Only the summaries exist: assume, as the TTRL stage does, that it attempted only unsolved problems.
    accuracy = solved_accuracy(base)
    n = base.n_problems
    out.n_problems = n
    out.notes.append(f"{base.stage}/results.jsonl missing: combined accuracies assume TTRL attempted only "
                     "problems the model had not solved")
    if accuracy is None or not n:
        return out
    out.solved_before = round(accuracy * n)
    out.paper_metric_accuracy = min(1.0, (out.solved_before + (ttrl.solved_any_time or 0)) / n)
    out.final_model_accuracy = min(1.0, (out.solved_before + (ttrl.solved_final or 0)) / n)
    return out
