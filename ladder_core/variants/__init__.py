"""Variant trees: recursive generation of easier problems, filtered, de-duplicated and resumable.

The pieces, one concern each:

``node``          variant ids (the node record is :class:`ladder_core.records.TreeNode`)
``store``         crash-safe storage under ``<run_dir>/variants/`` and its readers
``builder``       :class:`TreeBuilder` (rounds, filters, dedup, resume)
``llm_generator`` the core's ``llm`` generator (prompted language model)
``resolve``       ``variants.generators``/``mix`` -> generator objects
``stats``         per-tree statistics for the report
``render``        an HTML (and PNG) picture of one tree

Importing this package does not import torch or any backend.
"""

from __future__ import annotations

from ladder_core.variants.builder import BuildResult, TreeBuilder, TreeConfig
from ladder_core.variants.node import UNPARSEABLE_REPLY, variant_id
from ladder_core.variants.resolve import resolve_generators
from ladder_core.variants.stats import GeneratorStats, TreeStats, compute_tree_stats, stats_from_store, summarize
from ladder_core.variants.store import (
    Rejection,
    RoundRecord,
    StoreError,
    VariantStore,
    load_hf_dataset,
    read_nodes,
    read_rejections,
    read_rounds,
)

__all__ = [
    "UNPARSEABLE_REPLY",
    "BuildResult",
    "GeneratorStats",
    "Rejection",
    "RoundRecord",
    "StoreError",
    "TreeBuilder",
    "TreeConfig",
    "TreeStats",
    "VariantStore",
    "compute_tree_stats",
    "load_hf_dataset",
    "read_nodes",
    "read_rejections",
    "read_rounds",
    "resolve_generators",
    "stats_from_store",
    "summarize",
    "variant_id",
]
