"""The pipeline's stages. Each reads earlier stages' artifacts from the run directory and writes its own.

See ``docs/run-directory.md`` for every file. A stage is resumable: what it
already wrote is kept and not redone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ladder_core.evaluation.evaluate import EvalSettings, evaluate, read_results
from ladder_core.hookspecs import TTRLProblemResult
from ladder_core.pipeline.context import RunContext
from ladder_core.records import Problem
from ladder_core.training.grpo import TrainingNode

log = logging.getLogger(__name__)


# ------------------------------------------------------------------- evaluation
def _evaluate(ctx: RunContext, stage: str, trained: bool) -> dict[str, Any]:
    model, tokenizer = ctx.load_model(trained=trained)
    generator = ctx.text_generator(model, tokenizer)
    fmt = ctx.prompt_format
    problems = ctx.test_problems()
    return evaluate(ctx.domain, problems, generator.generate, lambda p: fmt.text(ctx.domain, p),
                    EvalSettings.from_config(ctx.cfg), ctx.stage_dir(stage), label=stage,
                    extra={"problem_set": problems[0].source if problems else ""})


def baseline(ctx: RunContext) -> dict[str, Any]:
    """pass@k of the base model on the test set."""
    return _evaluate(ctx, "baseline", trained=False)


def evaluate_trained(ctx: RunContext) -> dict[str, Any]:
    """pass@k of the trained model on the test set."""
    return _evaluate(ctx, "evaluate", trained=True)


def _set_name(ctx: RunContext, split: str) -> str:
    problems = ctx.domain.load_problems(split)
    return problems[0].source if problems else ""


# --------------------------------------------------------------------- variants
def _build_trees(ctx: RunContext, roots: list[Problem], out_dir: Path, *, max_depth: int, per_root: int,
                 progress: bool = True) -> tuple[list[TrainingNode], dict[str, Any]]:
    from ladder_core.variants.builder import TreeBuilder, TreeConfig
    from ladder_core.variants.resolve import resolve_generators

    config = TreeConfig.from_cfg(ctx.cfg, max_depth=max_depth, per_root=per_root)
    generators = resolve_generators(ctx.cfg, ctx.domain, ctx.host)
    builder = TreeBuilder(ctx.domain, generators, out_dir, config, host=ctx.host, progress=progress)
    try:
        result = builder.build(roots)
    finally:  # an LLM generator may hold a model: free it before training
        for generator, _ in generators:
            close = getattr(generator, "close", None)
            if callable(close):
                close()
    nodes = [TrainingNode(id=n.id, parent_id=n.parent_id, depth=n.depth, root_id=n.root_id, text=n.text)
             for n in result.nodes]
    return nodes, result.summary()


def variants(ctx: RunContext) -> dict[str, Any]:
    """Variant trees of the training problems (resumable: nodes are appended as they are accepted)."""
    out = ctx.stage_dir("variants")
    roots = ctx.train_problems()
    nodes, stats = _build_trees(ctx, roots, out, max_depth=int(ctx.cfg.variants.max_depth),
                                per_root=int(ctx.cfg.variants.per_root))
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    _render_first_tree(out, roots)
    return {"nodes": len(nodes), "roots": len(roots)}


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


def _load_nodes(ctx: RunContext) -> list[TrainingNode]:
    from ladder_core.variants.store import read_nodes

    path = ctx.run_dir / "variants"
    nodes = read_nodes(path) if (path / "nodes.jsonl").exists() else []
    if not nodes:  # no variants stage: RL on the roots alone
        return [TrainingNode(p.id, None, 0, p.id, p.text) for p in ctx.train_problems()]
    return [TrainingNode(id=n.id, parent_id=n.parent_id, depth=n.depth, root_id=n.root_id, text=n.text)
            for n in nodes]


# --------------------------------------------------------------------- training
def train(ctx: RunContext) -> dict[str, Any]:
    """GRPO on the variant trees with the curriculum; resumes from the last checkpoint after a kill."""
    from ladder_core.training.run import train_on_nodes

    out = ctx.stage_dir("train")
    nodes = _load_nodes(ctx)
    model, tokenizer = ctx.load_model(trained=False)
    result, trainer = train_on_nodes(ctx.cfg, ctx.domain, nodes, model, tokenizer, out, stage="train",
                                     host=ctx.host)
    _save_final(trainer, tokenizer, out / "final")
    summary = result.to_dict()
    summary["nodes"] = len(nodes)
    summary["train_set"] = _set_name(ctx, "train")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _save_final(trainer: Any, tokenizer: Any, path: Path) -> None:
    model = trainer.model
    if hasattr(model, "merge_and_unload"):  # LoRA: ship a plain model so evaluation loads it like any other
        model = model.merge_and_unload()
    if trainer.accelerator.is_main_process:
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    trainer.accelerator.wait_for_everyone()


# ------------------------------------------------------------------------- TTRL
def _still_failed(ctx: RunContext) -> tuple[list[Problem], int]:
    problems = ctx.test_problems()
    for stage in ("evaluate", "baseline"):
        results = {r.problem_id: r for r in read_results(ctx.run_dir / stage / "results.jsonl")}
        if results:
            break
    failed = []
    for p in problems:
        r = results.get(p.id)
        solved = r is not None and (r.greedy_correct if r.greedy_correct is not None else r.n_correct > 0)
        if not solved:
            failed.append(p)
    limit = ctx.cfg.ttrl.get("max_problems")
    return (failed[: int(limit)] if limit else failed), len(problems) - len(failed)


def ttrl(ctx: RunContext) -> dict[str, Any]:
    """Test-time RL on each test problem the trained model still fails, restoring the weights after each."""
    from tqdm.auto import tqdm

    from ladder_core.training.run import train_on_nodes

    out = ctx.stage_dir("ttrl")
    results_path = out / "results.jsonl"
    done = {r["problem_id"]: r for r in _read_jsonl(results_path)}
    failed, already_solved = _still_failed(ctx)
    model, tokenizer = ctx.load_model(trained=True)
    snapshot = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    cfg = ctx.cfg
    bar = tqdm(failed, desc="ttrl", unit="problem")
    for problem in bar:
        if problem.id in done:
            continue
        start = time.monotonic()
        tree_dir = out / "trees" / problem.id.replace("/", "_")
        nodes, _ = _build_trees(ctx, [problem], tree_dir, max_depth=int(cfg.ttrl.max_depth),
                                per_root=int(cfg.ttrl.variants_per_problem), progress=False)
        result, trainer = train_on_nodes(cfg, ctx.domain, nodes, model, tokenizer, tree_dir, stage="ttrl",
                                         max_steps=int(cfg.ttrl.max_steps), host=ctx.host, watch=[problem.id],
                                         resume=False, save_checkpoints=False)
        policy = trainer.model
        final_pass, greedy_ok = _final_check(ctx, policy, tokenizer, problem)
        solved_step = result.first_solved_step.get(problem.id)
        record = TTRLProblemResult(problem_id=problem.id, solved_any_time=solved_step is not None or greedy_ok,
                                   solved_final=greedy_ok, steps=result.steps,
                                   steps_to_solve=solved_step, variants=len(nodes) - 1)
        ctx.host.ttrl_problem_end(record)
        line = {**asdict(record), "final_pass": final_pass, "seconds": round(time.monotonic() - start, 2)}
        with results_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        done[problem.id] = line
        model = _restore(policy, model, snapshot)
        bar.set_postfix(solved=sum(r["solved_any_time"] for r in done.values()))
    rows = [done[p.id] for p in failed if p.id in done]
    summary = {
        "attempted": len(rows),
        "solved_any_time": sum(r["solved_any_time"] for r in rows),
        "solved_final": sum(r["solved_final"] for r in rows),
        "skipped_already_solved": already_solved,
        "steps_to_solve": [r["steps_to_solve"] for r in rows if r["steps_to_solve"] is not None],
        "seconds": round(sum(r["seconds"] for r in rows), 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _final_check(ctx: RunContext, model: Any, tokenizer: Any, problem: Problem) -> tuple[float, bool]:
    """After TTRL: fraction of sampled answers correct, and whether the greedy answer is."""
    generator = ctx.text_generator(model, tokenizer)
    text = ctx.prompt_format.text(ctx.domain, problem)
    n = int(ctx.cfg.ttrl.eval_samples)
    max_new = int(ctx.cfg.model.max_completion_length)
    sampled = generator.generate([text], n=n, temperature=float(ctx.cfg.evaluation.temperature),
                                 max_new_tokens=max_new)[0]
    greedy = generator.generate([text], n=1, temperature=0.0, max_new_tokens=max_new)[0]
    from ladder_core.training.rewards import checked_verdicts

    verdicts = checked_verdicts(ctx.domain, [problem] * (len(sampled) + 1), [*sampled, *greedy])
    return sum(v.correct for v in verdicts[:-1]) / max(1, len(sampled)), verdicts[-1].correct


def _restore(policy: Any, model: Any, snapshot: dict[str, Any]) -> Any:
    """The pre-TTRL weights again: drop a LoRA adapter, or load the saved tensors back."""
    if hasattr(policy, "unload"):
        model = policy.unload()
    model.load_state_dict(snapshot)
    return model


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return rows


# ----------------------------------------------------------------------- report
def report(ctx: RunContext) -> dict[str, Any]:
    from ladder_core.report import build_report

    return build_report(ctx.run_dir, ctx.cfg)


STAGES: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "baseline": baseline,
    "variants": variants,
    "train": train,
    "evaluate": evaluate_trained,
    "ttrl": ttrl,
    "report": report,
}
