"""Evaluate a model on a problem set: sample, verify, save per-problem results, summarise pass@k.

Results are appended to ``results.jsonl`` one chunk of problems at a time, so
an interrupted evaluation resumes from the last finished chunk and nothing
already generated and verified is lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class ProblemResult:
    problem_id: str
    problem: str
    completions: list[str]
    statuses: list[str]
    n: int
    n_correct: int
    greedy_completion: str | None = None
    greedy_correct: bool | None = None


def read_results(path: Path) -> list[ProblemResult]:
    """Results saved so far (a truncated last line, left by a kill, is ignored)."""
    if not path.exists():
        return []
    results = []
    for line in path.read_text().splitlines():
        try:
            results.append(ProblemResult(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            break
    return results


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
) -> dict[str, Any]:
    """Sample ``settings.samples`` completions per problem, verify them, and write results and a summary.

    ``generate(prompts, n=, temperature=, max_new_tokens=)`` returns ``n``
    completions per prompt (a :class:`ladder_core.generation.TextGenerator`'s
    ``generate``). ``extra`` fields are added to the summary. Returns the summary written to ``summary.json``.
    """
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.jsonl"
    done = read_results(results_path)
    with results_path.open("w") as f:  # rewrite the readable prefix, dropping a torn line
        for r in done:
            f.write(json.dumps(asdict(r)) + "\n")
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
        with results_path.open("a") as f:
            for problem, comps, greedy_out in zip(chunk, sampled, greedy):
                vs = verdicts[cursor:cursor + len(comps)]
                cursor += len(comps)
                result = ProblemResult(
                    problem_id=problem.id, problem=problem.text, completions=list(comps),
                    statuses=[v.status.value for v in vs], n=len(comps), n_correct=sum(v.correct for v in vs),
                    greedy_completion=greedy_out[0] if settings.greedy else None,
                )
                done.append(result)
            if settings.greedy:
                for result, verdict in zip(done[-len(chunk):], verdicts[cursor:]):
                    result.greedy_correct = verdict.correct
            for result in done[-len(chunk):]:
                f.write(json.dumps(asdict(result)) + "\n")
            f.flush()
        bar.update(len(chunk))
    bar.close()
    by_id = {r.problem_id: r for r in done}
    ordered = [by_id[p.id] for p in problems if p.id in by_id]
    summary = summarise(ordered, settings)
    summary["seconds"] = round(time.monotonic() - start, 2)
    summary.update(extra or {})
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def summarise(results: Sequence[ProblemResult], settings: EvalSettings) -> dict[str, Any]:
    counts = [(r.n, r.n_correct) for r in results if r.n > 0]
    greedy = [r.greedy_correct for r in results if r.greedy_correct is not None]
    return {
        "n_problems": len(results),
        "samples": settings.samples,
        "temperature": settings.temperature,
        "pass_at_k": mean_pass_at_k(counts, settings.ks),
        "greedy_accuracy": (sum(greedy) / len(greedy)) if greedy else None,
        "solved_any_sample": sum(1 for r in results if r.n_correct > 0),
    }
