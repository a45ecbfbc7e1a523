"""Difficulty control: per-node success estimates, the tree-aware curriculum, dynamic sampling.

Domain-agnostic: nodes are ids in a forest (roots = real problems, children =
easier variants); rewards arrive as numbers. See ``docs/benchmarks.md``
("Curriculum") for the simulation that compares the sampling modes.
"""

from ladder_core.difficulty.config import MODES, CurriculumConfig
from ladder_core.difficulty.dynamic_sampling import (
    BatchPlan,
    BatchResult,
    DynamicSampler,
    DynamicSamplingStats,
    GroupRef,
    group_successes,
    total_rewards,
    zero_variance_groups,
)
from ladder_core.difficulty.estimator import BetaEstimate, SuccessEstimator
from ladder_core.difficulty.sampler import (
    CurriculumSampler,
    NodeStatus,
    learnability_weight,
    nodes_from_records,
)

__all__ = [
    "MODES", "BatchPlan", "BatchResult", "BetaEstimate", "CurriculumConfig",
    "CurriculumSampler", "DynamicSampler", "DynamicSamplingStats", "total_rewards", "GroupRef", "NodeStatus",
    "SuccessEstimator", "group_successes", "learnability_weight", "nodes_from_records", "zero_variance_groups",
]
