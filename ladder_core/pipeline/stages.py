"""The pipeline's stages. Each reads earlier stages' artifacts from the run directory and writes its own.

See ``docs/run-directory.md`` for every file. A stage is resumable: what it
already wrote is kept and not redone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ladder_core.artifacts import (
    Decontamination,
    EvalSummary,
    Report,
    TrainSummary,
    TtrlSummary,
    VariantsStats,
    from_dict,
    write_json,
)
from ladder_core.evaluation.evaluate import EvalSettings, evaluate
from ladder_core.evaluation.splits import validation_problems
from ladder_core.pipeline.context import RunContext
from ladder_core.records import Problem
from ladder_core.records import TreeNode
from ladder_core.variants.decontaminate import Decontaminator, counts_from_rejections, eval_sets_of_run
from ladder_core.variants.grow import grow_trees

log = logging.getLogger(__name__)


# ------------------------------------------------------------------- evaluation
def _evaluate(ctx: RunContext, stage: str, trained: bool) -> EvalSummary:
    """The test set, and the validation set when ``evaluation.validation`` (into ``<stage>/validation/``)."""
    model, tokenizer = ctx.load_model(trained=trained)
    generator = ctx.text_generator(model, tokenizer)
    fmt = ctx.prompt_format
    settings = EvalSettings.from_config(ctx.cfg)
    if ctx.cfg.evaluation.validation:
        valid = validation_problems(ctx.domain, required=True)
        evaluate(ctx.domain, valid, generator.generate, lambda p: fmt.text(ctx.domain, p), settings,
                 ctx.stage_dir(stage) / "validation", label=f"{stage} (validation)",
                 extra={"problem_set": valid[0].source if valid else "", "split": "validation"})
    problems = ctx.test_problems()
    extra: dict[str, Any] = {"problem_set": problems[0].source if problems else "", "split": "test"}
    if not trained:
        extra["trained_on"] = pretraining_overlap(ctx, problems)
    return evaluate(ctx.domain, problems, generator.generate, lambda p: fmt.text(ctx.domain, p),
                    settings, ctx.stage_dir(stage), label=stage, extra=extra)


def pretraining_overlap(ctx: RunContext, problems: list[Problem]) -> list[str] | None:
    """The test problems the base model was trained on, by the domain's check (``None``: it cannot tell; a
    failing check is logged, never fatal); a warning names how many."""
    import sys

    try:
        seen = ctx.domain.pretraining_overlap(problems, str(ctx.cfg.model.name_or_path))
    except Exception as exc:  # noqa: BLE001 - a plugin's check must not stop the run
        log.warning("the domain's pre-training overlap check failed: %s", exc)
        return None
    if seen is None:
        return None
    ids = [p.id for p in problems if p.id in seen]
    if ids:
        print(f"ladder: warning: {len(ids)} of {len(problems)} test problems are in the model's own training data "
              "(the domain's check); results on them measure memory too (report: Results)", file=sys.stderr)
    return ids


def baseline(ctx: RunContext) -> EvalSummary:
    """pass@k of the base model on the test set (and the validation set when asked)."""
    return _evaluate(ctx, "baseline", trained=False)


def evaluate_trained(ctx: RunContext) -> EvalSummary:
    """pass@k of the trained model on the test set (and the validation set when asked)."""
    return _evaluate(ctx, "evaluate", trained=True)


def _set_name(ctx: RunContext, split: str) -> str:
    problems = ctx.domain.load_problems(split)
    return problems[0].source if problems else ""


def decontaminator(ctx: RunContext) -> Decontaminator:
    """Matches against every evaluation set of the run: test (all of it), validation, extra eval sets."""
    sets = eval_sets_of_run(ctx.domain, ctx.domain.load_problems("test"), validation_problems(ctx.domain))
    return Decontaminator(ctx.domain, sets)


def _keep_overlapping_roots(ctx: RunContext) -> bool:
    return bool(ctx.cfg.decontamination.keep_overlapping_roots)


def startup_checks(ctx: RunContext, announce: bool = True) -> None:
    """Before any work: refuse a validation request the domain cannot serve, name overlapping training roots.

(Ranges and types of every key are checked by :mod:`ladder_core.schema` before this.)
"""
    stages = [str(s) for s in ctx.cfg.pipeline.stages]
    if ctx.cfg.evaluation.validation and {"baseline", "evaluate"} & set(stages):
        validation_problems(ctx.domain, required=True)
    if announce and ("variants" in stages or "train" in stages):
        warn_overlapping_roots(ctx)


def warn_overlapping_roots(ctx: RunContext) -> None:
    """At start-up: name the training roots that are evaluation problems, and what happens to them."""
    import sys

    keep = _keep_overlapping_roots(ctx)
    _, counts = decontaminator(ctx).split_roots(ctx.train_problems(), keep=keep)
    if counts.overlapping_roots:
        names = ", ".join(r.describe() for r in counts.overlapping_roots)
        action = ("kept (decontamination.keep_overlapping_roots=true: reproduction of the published split; the "
                  "report labels it)" if keep else "removed from training")
        print(f"ladder: warning: {len(counts.overlapping_roots)} training root(s) are evaluation problems: {names}; "
              f"{action}", file=sys.stderr)


# --------------------------------------------------------------------- variants
def variants(ctx: RunContext) -> VariantsStats:
    """Variant trees of the training problems, decontaminated (resumable: nodes are appended as accepted)."""
    out = ctx.stage_dir("variants")
    decon = decontaminator(ctx)
    roots, counts = decon.split_roots(ctx.train_problems(), keep=_keep_overlapping_roots(ctx))
    nodes, stats = grow_trees(ctx.cfg, ctx.domain, ctx.host, roots, out, max_depth=int(ctx.cfg.variants.max_depth),
                              per_root=int(ctx.cfg.variants.per_root), exclude=decon.rejection_reason)
    counts.merge(counts_from_rejections(stats.get("rejections") or {}))
    record = replace(from_dict(VariantsStats, stats, str(out / "stats.json")), decontamination=counts)
    write_json(out / "stats.json", record)
    _render_first_tree(out, roots)
    return record


def _render_first_tree(out: Path, roots: list[Problem]) -> None:
    try:
        from ladder_core.variants.render import render_tree_html
        from ladder_core.variants.store import read_nodes

        if roots:
            nodes = read_nodes(out)
            safe = roots[0].id.replace("/", "_")
            render_tree_html(nodes, roots[0].id, out / f"tree_{safe}.html")
    except Exception as exc:  # noqa: BLE001 - a picture must not fail the run
        log.warning("could not render a tree picture: %s", exc)


def _load_nodes(ctx: RunContext) -> tuple[list[TreeNode], Decontamination]:
    """The training nodes (the trees, or the roots alone without a variants stage), decontaminated again.

    The variants stage already kept evaluation problems out; this pass also
    covers roots-only training, trees from an older run and a changed test set.
    """
    from ladder_core.variants.store import read_nodes

    path = ctx.run_dir / "variants"
    nodes = read_nodes(path) if (path / "nodes.jsonl").exists() else []
    decon = decontaminator(ctx)
    keep = _keep_overlapping_roots(ctx)
    _, counts = decon.split_roots(ctx.train_problems(), keep=keep)
    if not nodes:  # no variants stage: RL on the roots alone
        nodes = [TreeNode.from_root(p) for p in ctx.train_problems()]
    keep_ids = [r.root_id for r in counts.overlapping_roots] if keep else []
    kept, dropped = decon.filter_nodes(nodes, keep_roots=keep_ids)
    # the roots' overlap as named at start-up; the dropped counts of this pass only (not the builder's rejections)
    dropped.merge(Decontamination(overlapping_roots=counts.overlapping_roots,
                                  kept_overlapping_roots=counts.kept_overlapping_roots))
    return kept, dropped


# --------------------------------------------------------------------- training
def train(ctx: RunContext) -> TrainSummary:
    """GRPO on the variant trees with the curriculum; resumes from the last checkpoint after a kill."""
    from ladder_core.training.run import train_on_nodes

    out = ctx.stage_dir("train")
    nodes, counts = _load_nodes(ctx)
    if not nodes:
        raise ValueError("no training node left after decontamination (every training root is an evaluation "
                         "problem); set decontamination.keep_overlapping_roots=true to reproduce such a split")
    model, tokenizer = ctx.load_model(trained=False)
    result, trainer = train_on_nodes(ctx.cfg, ctx.domain, nodes, model, tokenizer, out, stage="train",
                                     host=ctx.host, run_dir=ctx.run_dir)
    _save_final(trainer, tokenizer, out / "final")
    result.nodes = len(nodes)
    result.train_set = _set_name(ctx, "train")
    result.decontamination = counts
    write_json(out / "summary.json", result)
    return result


def _save_final(trainer: Any, tokenizer: Any, path: Path) -> None:
    model = trainer.model
    if hasattr(model, "merge_and_unload"):  # LoRA: ship a plain model so evaluation loads it like any other
        model = model.merge_and_unload()
    if trainer.accelerator.is_main_process:
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    trainer.accelerator.wait_for_everyone()


# ------------------------------------------------------------------------- TTRL
def ttrl(ctx: RunContext) -> TtrlSummary:
    """Test-time RL by the authors' protocol (see :mod:`ladder_core.ttrl`)."""
    from ladder_core.ttrl import run_ttrl

    return run_ttrl(ctx)


# ----------------------------------------------------------------------- report
def report(ctx: RunContext) -> Report:
    from ladder_core.report import build_report

    return build_report(ctx.run_dir, ctx.cfg)


#: What a stage returns: its summary record (the report stage: the ``report.json`` record).
StageResult = EvalSummary | VariantsStats | TrainSummary | TtrlSummary | Report

STAGES: dict[str, Callable[[RunContext], StageResult]] = {
    "baseline": baseline,
    "variants": variants,
    "train": train,
    "evaluate": evaluate_trained,
    "ttrl": ttrl,
    "report": report,
}
