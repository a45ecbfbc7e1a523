"""How many greedy answers does training flip, against weight changes of the same size that learned nothing?

Issue #13: after GRPO the tiny model's greedy accuracy falls on held-out problems while pass@1 rises.
A trained model gains some greedy answers and loses others; whether that churn is what *any* change
of the weights does, or what *this* training did, needs a control. For each finished training run
this evaluates, greedily on the same problems:

* the base model and the trained model (``RUN/train/final``);
* ``--controls`` random directions: every weight tensor moved by Gaussian noise scaled to the norm of
  that tensor's training update (same size per tensor, no learning in it);
* the reversed update (base minus the update): same size, same tensors, the opposite direction;
* with ``--scales``, the update scaled (0.5 = the weights halfway from base to trained).

Problems equal to a node of the run's variant trees are left out. The table gives, per model, greedy
answers right, gained and lost against the base model. Validation only: point ``--problems`` at a
validation file (default ``benchmarks/data/validation_600.jsonl``), never at a test set.

    python benchmarks/greedy_churn.py RUN_DIR [RUN_DIR ...] [--controls 3] [--threads 1]

Each evaluation is ``ladder +domain=integration 'pipeline.stages=[baseline]' evaluation.samples=1`` on
one model (the base model once for all runs; finished ones are reused, so keep one ``--out`` per base
model). Results: a table on stdout and ``benchmarks/results/greedy_churn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROBLEMS = HERE / "data" / "validation_600.jsonl"
RESULTS = HERE / "results" / "greedy_churn.json"


def _embedded() -> Path:
    from ladder_integration.plugin import TINY_WEIGHTS

    return Path(TINY_WEIGHTS)


def perturbed(base: Path, trained: Path, out: Path, *, kind: str, seed: int = 0, scale: float = 1.0) -> Path:
    """``base`` moved per tensor by the update's norm: ``random`` (Gaussian direction) or ``reversed``;
    or by ``scale`` x the update (``scaled``: 0.5 = halfway between base and trained)."""
    import torch
    from transformers import AutoModelForCausalLM

    if (out / "config.json").exists():
        return out
    base_model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    trained_sd = AutoModelForCausalLM.from_pretrained(trained, dtype=torch.float32).state_dict()
    gen = torch.Generator().manual_seed(seed)
    seen: set[int] = set()
    with torch.no_grad():
        for name, param in base_model.state_dict().items():
            if param.data_ptr() in seen:  # tied weights (embedding and output layer): move them once
                continue
            seen.add(param.data_ptr())
            delta = trained_sd[name] - param
            if kind == "reversed":
                param -= delta
            elif kind == "scaled":
                param += scale * delta
            else:
                noise = torch.randn(param.shape, generator=gen)
                param += noise * (delta.norm() / noise.norm().clamp(min=1e-12))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    base_model.save_pretrained(tmp)
    for f in base.iterdir():  # tokenizer and generation config
        if f.is_file() and not (tmp / f.name).exists() and f.suffix in (".json", ".txt", ".model"):
            shutil.copy(f, tmp / f.name)
    tmp.rename(out)
    return out


def greedy(model: Path, problems: Path, run_dir: Path, threads: int) -> dict[str, bool]:
    """Problem id -> greedy answer verified, from a baseline-only run of the main job on ``model``."""
    from ladder_core.artifacts import EvalProblemResult, read_jsonl

    if not (run_dir / "baseline" / "DONE.json").exists():
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "ladder_core.cli", "+domain=integration", "pipeline.stages=[baseline]",
               f"domain.test_set={problems}", "evaluation.samples=1", "evaluation.k=[1]",
               f"trainer.torch_threads={threads}", f"model.name_or_path={model}", f"run_dir={run_dir}"]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = read_jsonl(run_dir / "baseline" / "results.jsonl", EvalProblemResult)
    return {r.problem_id: bool(r.greedy_correct) for r in rows}


def _key(text: str) -> str:
    return text.replace(" ", "")


def churn(run: Path, *, base: Path, base_greedy: dict[str, bool], problems: Path, out: Path, controls: int,
          threads: int, scales: list[float] = ()) -> dict[str, Any]:
    """Greedy answers right, gained and lost against ``base_greedy`` (the base model's, evaluated once for all
    runs) for the run's trained model and its controls, on the problems that are not one of its tree nodes."""
    trained = run / "train" / "final"
    if not trained.exists():
        raise SystemExit(f"{run}: no train/final (run the train stage first)")
    from ladder_core.variants.store import read_nodes
    from ladder_integration.problem_sets import load_problem_set

    nodes = {_key(n.text) for n in read_nodes(run / "variants")}
    raw = {p.id: _key(p.text) for p in load_problem_set(str(problems))}
    keep = sorted(pid for pid, text in raw.items() if text not in nodes)
    work = out / run.name
    models = {"trained": trained, "reversed update": perturbed(base, trained, work / "reversed", kind="reversed")}
    for k in range(controls):
        models[f"random direction {k}"] = perturbed(base, trained, work / f"random{k}", kind="random", seed=k)
    for scale in scales:
        models[f"update x{scale:g}"] = perturbed(base, trained, work / f"scaled{scale:g}", kind="scaled", scale=scale)
    evals = {"base": base_greedy, **{name: greedy(path, problems, work / "eval" / name.replace(" ", "_"), threads)
                                     for name, path in models.items()}}
    right_base = {p for p in keep if evals["base"][p]}
    rows = {}
    for name, by_problem in evals.items():
        right = {p for p in keep if by_problem[p]}
        rows[name] = {"right": len(right), "gained": len(right - right_base), "lost": len(right_base - right)}
    return {"run": str(run), "problems": len(keep), "left_out_tree_nodes": len(raw) - len(keep), "models": rows}


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| run | model | greedy right | gained | lost | net |", "|---|---|---|---|---|---|"]
    for r in results:
        name = Path(r["run"]).name
        for model, m in r["models"].items():
            lines.append(f"| {name} ({r['problems']} problems) | {model} | {m['right']} | {m['gained']} | "
                         f"{m['lost']} | {m['gained'] - m['lost']:+d} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="finished training runs (train/final, variants/)")
    parser.add_argument("--problems", type=Path, default=PROBLEMS, help="a validation file (never a test set)")
    parser.add_argument("--base", type=Path, default=None, help="the model the runs started from (default: "
                        "the embedded tiny model)")
    parser.add_argument("--controls", type=int, default=3, help="random-direction models per run")
    parser.add_argument("--scales", type=float, nargs="*", default=[], help="also the update scaled by these")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "greedy_churn")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if "test" in args.problems.name or "heldout" in args.problems.name:
        raise SystemExit(f"--problems {args.problems}: a test or held-out file; this probe is for validation")
    base = args.base or _embedded()
    problems = args.problems.resolve()
    base_greedy = greedy(base, problems, args.out / "base_eval", args.threads)
    results = [churn(run.resolve(), base=base, base_greedy=base_greedy, problems=problems, out=args.out,
                     controls=args.controls, threads=args.threads, scales=args.scales) for run in args.runs]
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"problems_file": str(args.problems), "results": results}, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
