"""Evaluation: pass@k with the unbiased estimator, per-problem results saved as they are produced."""

from ladder_core.evaluation.passk import pass_at_k, mean_pass_at_k

__all__ = ["pass_at_k", "mean_pass_at_k"]
