"""Grow variant trees for a run: the one path the variants stage and TTRL share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ladder_core.records import Problem, TreeNode


def grow_trees(cfg: Any, domain: Any, host: Any, roots: Sequence[Problem], out_dir: Path, *, max_depth: int,
               per_root: int, exclude: Callable[[Problem], str | None] | None = None,
               progress: bool = True) -> tuple[list[TreeNode], dict[str, Any]]:
    """Build (or resume) the trees of ``roots`` in ``out_dir``; their nodes (what the trainer samples) and the summary.

    ``exclude`` rejects candidates equal to an evaluation problem (decontamination).
    """
    from ladder_core.variants.builder import TreeBuilder, TreeConfig
    from ladder_core.variants.resolve import resolve_generators

    config = TreeConfig.from_cfg(cfg, max_depth=max_depth, per_root=per_root)
    generators = resolve_generators(cfg, domain, host)
    builder = TreeBuilder(domain, generators, out_dir, config, host=host, progress=progress, exclude=exclude)
    try:
        result = builder.build(roots)
    finally:  # an LLM generator may hold a model: free it before training
        for generator, _ in generators:
            close = getattr(generator, "close", None)
            if callable(close):
                close()
    return list(result.nodes), result.summary()

