"""Evaluate a model on a problem set: sample, verify, save per-problem results, summarise pass@k.

Results are appended to ``results.jsonl`` one chunk of problems at a time, so
an interrupted evaluation resumes from the last finished chunk and nothing
already generated and verified is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ladder_core.artifacts import (
    EvalProblemResult,
    EvalSummary,
    append_jsonl,
    cut_torn_tail,
    read_jsonl,
    write_json,
)
from ladder_core.domain import Domain
from ladder_core.evaluation.passk import mean_pass_at_k
from ladder_core.records import Problem


@dataclass(frozen=True)
class EvalSettings:
    samples: int = 8
    ks: tuple[int, ...] = (1, 2, 4, 8)
    temperature: float = 1.0
    greedy: bool = True
    max_new_tokens: int = 64
    chunk: int = 32

    @classmethod
    def from_config(cls, cfg: Any) -> EvalSettings:
        ev = cfg.evaluation
        return cls(samples=int(ev.samples), ks=tuple(int(k) for k in ev.k), temperature=float(ev.temperature),
                   greedy=bool(ev.greedy), max_new_tokens=int(cfg.model.max_completion_length),
                   chunk=int(ev.get("batch_size", 32)))


def read_results(path: Path) -> list[EvalProblemResult]:
    """Results saved so far (read under the run directory's torn-line rule: a torn last line is dropped)."""
    return read_jsonl(path, EvalProblemResult)


def evaluate(
    domain: Domain,
    problems: Sequence[Problem],
    generate: Callable[..., list[list[str]]],
    render_prompt: Callable[[Problem], str],
    settings: EvalSettings,
    out_dir: Path,
    *,
    label: str = "evaluate",
    progress: bool = True,
    extra: dict[str, Any] | None = None,
) -> EvalSummary:
    """Sample ``settings.samples`` completions per problem, verify them, and write results and a summary.

    ``generate(prompts, n=, temperature=, max_new_tokens=)`` returns ``n``
    completions per prompt (a :class:`ladder_core.generation.TextGenerator`'s
    ``generate``). ``extra`` sets further :class:`EvalSummary` fields (``problem_set``). Returns the summary
    written to ``summary.json``.
    """
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.jsonl"
    cut_torn_tail(results_path)  # a kill's half line goes before appending
    done = read_results(results_path)
    done_ids = {r.problem_id for r in done}
    todo = [p for p in problems if p.id not in done_ids]
    start = time.monotonic()
    bar = tqdm(total=len(problems), initial=len(problems) - len(todo), desc=label, disable=not progress, unit="problem")
    for i in range(0, len(todo), settings.chunk):
        chunk = todo[i:i + settings.chunk]
        prompts = [render_prompt(p) for p in chunk]
        sampled = generate(prompts, n=settings.samples, temperature=settings.temperature,
                           max_new_tokens=settings.max_new_tokens) if settings.samples else [[] for _ in chunk]
        greedy = (generate(prompts, n=1, temperature=0.0, max_new_tokens=settings.max_new_tokens)
                  if settings.greedy else [[None] for _ in chunk])
        flat_problems = [p for p, comps in zip(chunk, sampled) for _ in comps]
        flat_completions = [c for comps in sampled for c in comps]
        if settings.greedy:
            flat_problems += chunk
            flat_completions += [g[0] for g in greedy]
        from ladder_core.training.rewards import checked_verdicts

        verdicts = checked_verdicts(domain, flat_problems, flat_completions)  # plugin faults -> error verdicts
        cursor = 0
        for problem, comps, greedy_out in zip(chunk, sampled, greedy):
            vs = verdicts[cursor:cursor + len(comps)]
            cursor += len(comps)
            result = EvalProblemResult(
                problem_id=problem.id, problem=problem.text, completions=list(comps),
                statuses=[v.status.value for v in vs], n=len(comps), n_correct=sum(v.correct for v in vs),
                greedy_completion=greedy_out[0] if settings.greedy else None,
            )
            done.append(result)
        if settings.greedy:
            for result, verdict in zip(done[-len(chunk):], verdicts[cursor:]):
                result.greedy_correct = verdict.correct
        append_jsonl(results_path, done[-len(chunk):])
        bar.update(len(chunk))
    bar.close()
    by_id = {r.problem_id: r for r in done}
    ordered = [by_id[p.id] for p in problems if p.id in by_id]
    summary = replace(summarise(ordered, settings), seconds=round(time.monotonic() - start, 2),
                      **(extra or {}))
    write_json(out_dir / "summary.json", summary)
    return summary


def summarise(results: Sequence[EvalProblemResult], settings: EvalSettings) -> EvalSummary:
    counts = [(r.n, r.n_correct) for r in results if r.n > 0]
    greedy = [r.greedy_correct for r in results if r.greedy_correct is not None]
    return EvalSummary(
        n_problems=len(results),
        samples=settings.samples,
        temperature=settings.temperature,
        pass_at_k=mean_pass_at_k(counts, settings.ks),
        greedy_accuracy=(sum(greedy) / len(greedy)) if greedy else None,
        solved_any_sample=sum(1 for r in results if r.n_correct > 0),
    )
