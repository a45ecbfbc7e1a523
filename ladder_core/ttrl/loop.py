"""The TTRL loop, following the authors' code (see docs/ladder-method.md, section 4).

For each test problem the trained model still fails (the one "solved" rule of
:mod:`ladder_core.evaluation.solved`), nearest misses first when ``ttrl.max_problems``
caps the run (``ttrl.order``):

1. grow a variant tree rooted at the problem (``ttrl.max_depth``, ``ttrl.variants_per_problem``);
2. decontaminate it: the problem itself, anything equal to it (canonical form
   or the domain's equivalence key) and anything equal to another evaluation
   problem leave the tree, so training sees variants only;
3. run GRPO on the variants (``ttrl.max_steps``; no early stop, since the
   problem is not in training and peeking at it would select on the test);
4. evaluate the problem with the adapted model: ``ttrl.eval_samples`` samples and greedy;
5. restore the weights (``ttrl.reset_weights``; false adapts continually).

The control is the model before adaptation given the same samples, drawn
before any adaptation, so the report shows what adaptation added beyond
sampling. ``ttrl.train_on_problem=true`` keeps the problem as a training
prompt and stops at its first verified rollout: verifier-filtered best-of-N,
reported under that name, not as TTRL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ladder_core.artifacts import (
    TtrlProblemResult,
    TtrlSummary,
    append_jsonl,
    cut_torn_tail,
    read_jsonl,
    write_json,
    write_jsonl,
)
from ladder_core.evaluation.evaluate import read_results
from ladder_core.evaluation.solved import is_solved
from ladder_core.records import Problem
from ladder_core.schema import TTRLConfig
from ladder_core.ttrl.weights import WeightSnapshot, plain_model

log = logging.getLogger(__name__)

PROTOCOL_VARIANTS_ONLY = "variants_only (authors' protocol: the test problem and its equivalents excluded)"
PROTOCOL_ON_PROBLEM = ("train_on_problem (NOT the authors' protocol: the test problem is a training prompt; "
                       "a verified rollout stops training; verifier-filtered best-of-N)")


@dataclass(frozen=True)
class Attempt:
    """``n`` sampled answers (``correct`` verified) and the greedy answer's verdict for one problem."""

    n: int
    correct: int
    greedy: bool | None


def problems_to_adapt(ctx: Any, settings: TTRLConfig) -> tuple[list[Problem], int, int, str | None]:
    """Test problems to attempt: the still-failed ones in ``ttrl.order``, at most ``ttrl.max_problems``; how many
    the model TTRL starts from solves; how many still-failed ones the cap left out; which stage said so.

    ``closest`` puts first the problems with the most correct samples in that stage's evaluation (the
    nearest misses: a capped CPU run spends its budget where adaptation can change the answer), ties in
    test-file order. Which problems were attempted is in ``ttrl/results.jsonl`` and the report.
    """
    problems = ctx.test_problems()
    results, stage = {}, None
    for candidate in ("evaluate", "baseline"):
        results = {r.problem_id: r for r in read_results(ctx.run_dir / candidate / "results.jsonl")}
        if results:
            stage = candidate
            break
    failed = [p for p in problems
              if not (p.id in results and is_solved(results[p.id].greedy_correct, results[p.id].n,
                                                      results[p.id].n_correct))]
    if settings.order == "closest":
        failed.sort(key=lambda p: -(results[p.id].n_correct if p.id in results else 0))  # stable: file order
    limit = settings.max_problems
    chosen = failed[:limit] if limit is not None else failed
    return chosen, len(problems) - len(failed), len(failed) - len(chosen), stage


def attempt(ctx: Any, model: Any, tokenizer: Any, problems: list[Problem], n: int) -> list[Attempt]:
    """Sample ``n`` answers and the greedy answer for each problem, verified."""
    if not problems:
        return []
    generator = ctx.text_generator(model, tokenizer)
    texts = [ctx.prompt_format.text(ctx.domain, p) for p in problems]
    max_new = int(ctx.cfg.model.max_completion_length)
    sampled = generator.generate(texts, n=n, temperature=float(ctx.cfg.evaluation.temperature),
                                 max_new_tokens=max_new)
    greedy = generator.generate(texts, n=1, temperature=0.0, max_new_tokens=max_new)
    flat_p = [p for p, comps in zip(problems, sampled, strict=True) for _ in comps] + list(problems)
    flat_c = [c for comps in sampled for c in comps] + [g[0] for g in greedy]
    from ladder_core.training.rewards import checked_verdicts  # under the core's deadlines

    verdicts = checked_verdicts(ctx.domain, flat_p, flat_c)
    out, cursor = [], 0
    for comps in sampled:
        out.append([v.correct for v in verdicts[cursor:cursor + len(comps)]])
        cursor += len(comps)
    return [Attempt(n=len(ok), correct=sum(ok), greedy=verdicts[cursor + i].correct) for i, ok in enumerate(out)]


def run_ttrl(ctx: Any) -> TtrlSummary:
    """The ttrl stage: writes ``ttrl/results.jsonl`` (one line per problem) and ``ttrl/summary.json``."""
    from tqdm.auto import tqdm

    from ladder_core.evaluation.splits import validation_problems
    from ladder_core.generation.engine import resync_policy_engine
    from ladder_core.training.run import train_on_nodes
    from ladder_core.variants.decontaminate import Decontaminator, eval_sets_of_run
    from ladder_core.variants.grow import grow_trees

    settings = TTRLConfig.of(ctx.cfg)
    out = ctx.stage_dir("ttrl")
    results_path = out / "results.jsonl"
    cut_torn_tail(results_path)  # a kill's half line goes before appending
    done = {r.problem_id: r for r in read_jsonl(results_path, TtrlProblemResult)}
    failed, already_solved, left_out, start_stage = problems_to_adapt(ctx, settings)
    todo = [p for p in failed if p.id not in done]
    model, tokenizer = ctx.load_model(trained=True)
    controls = dict(zip([p.id for p in todo], attempt(ctx, model, tokenizer, todo, settings.eval_samples),
                        strict=True))
    decontaminator = Decontaminator(ctx.domain, eval_sets_of_run(ctx.domain, ctx.domain.load_problems("test"),
                                                                 validation_problems(ctx.domain)))
    snapshot = WeightSnapshot(model) if settings.reset_weights else None
    bar = tqdm(todo, desc="ttrl", unit="problem")
    for problem in bar:
        begin = time.monotonic()
        own = decontaminator.with_problem("ttrl_problem", problem)
        tree_dir = out / "trees" / problem.id.replace("/", "_")
        nodes, _ = grow_trees(ctx.cfg, ctx.domain, ctx.host, [problem], tree_dir, max_depth=settings.max_depth,
                              per_root=settings.variants_per_problem, exclude=own.rejection_reason, progress=False)
        keep = [problem.id] if settings.train_on_problem else []
        nodes, counts = own.filter_nodes(nodes, keep_roots=keep)
        write_jsonl(tree_dir / "training_nodes.jsonl", nodes)  # what was trained on, for audits
        steps, steps_to_solve, policy = 0, None, model
        if nodes:
            result, trainer = train_on_nodes(ctx.cfg, ctx.domain, nodes, model, tokenizer, tree_dir, stage="ttrl",
                                             max_steps=settings.max_steps, host=ctx.host, watch=keep,
                                             resume=False, save_checkpoints=False, run_dir=ctx.run_dir,
                                             problem_id=problem.id)
            policy, steps = trainer.model, result.steps
            steps_to_solve = result.first_solved_step.get(problem.id)
        adapted = attempt(ctx, policy, tokenizer, [problem], settings.eval_samples)[0]
        control = controls[problem.id]
        record = TtrlProblemResult(
            problem_id=problem.id, trained_on_problem=settings.train_on_problem,
            variants=sum(1 for n in nodes if n.id != problem.id), steps=steps, samples=adapted.n,
            adapted_correct=adapted.correct, adapted_greedy=adapted.greedy,
            control_correct=control.correct, control_greedy=control.greedy,
            solved=is_solved(adapted.greedy, adapted.n, adapted.correct),
            control_solved=is_solved(control.greedy, control.n, control.correct),
            steps_to_solve=steps_to_solve, decontamination=counts,
            seconds=round(time.monotonic() - begin, 2))
        ctx.host.ttrl_problem_end(record)
        append_jsonl(results_path, [record])
        done[problem.id] = record
        model = snapshot.restore(policy) if snapshot is not None else plain_model(policy)
        resync_policy_engine(model)  # the next tree samples from the restored (or continued) weights
        bar.set_postfix(solved=sum(r.solved for r in done.values()))
    rows = [done[p.id] for p in failed if p.id in done]
    summary = TtrlSummary(
        protocol=PROTOCOL_ON_PROBLEM if settings.train_on_problem else PROTOCOL_VARIANTS_ONLY,
        trained_on_problem=settings.train_on_problem,
        reset_weights=settings.reset_weights,
        start_stage=start_stage,
        attempted=len(rows),
        solved=sum(r.solved for r in rows),
        control_solved=sum(r.control_solved for r in rows),
        skipped_already_solved=already_solved,
        order=settings.order,
        not_attempted=left_out,
        eval_samples=settings.eval_samples,
        seconds=round(sum(r.seconds for r in rows), 2),
    )
    write_json(out / "summary.json", summary)
    return summary

