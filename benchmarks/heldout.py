"""The default job on held-out problems nobody tuned on: every arm, several seeds, paired intervals (issue #13).

The held-out file ``benchmarks/data/heldout4_tiny_products.jsonl`` (``benchmarks/heldout_set.py``, a seed
drawn in session 18 and used for nothing else) is the test set; the arms are :mod:`ablation`'s (base, RL on the roots only,
LADDER uniform, LADDER adaptive = the default job, + TTRL on top) at equal training compute (same
steps, prompts and group size), each seed with its own baseline, variant trees and TTRL run. On top of
the ablation's table it reports, per arm, the useful groups per second of training (groups with
non-zero reward variance, the only ones GRPO learns from) and the result on the two parts of the file:
the 400 hard problems (drawn like the test set, the held-out claim) and the 20 single products of
rung 2 (coefficient 1; the validation probe tuned on coefficient != 1 ones, never these).

    python benchmarks/heldout.py --seeds 0 1 2 3 4 --write-docs              # everything, one process
    python benchmarks/heldout.py --seeds 0 1 --threads 1 &  python benchmarks/heldout.py --seeds 2 3 4 --threads 1 &  wait
    python benchmarks/heldout.py --seeds 0 1 2 3 4 --analyse-only --write-docs   # then the table

Finished stages are kept, so an interrupted run resumes. Results: a table on stdout,
``benchmarks/results/heldout.json``, and with ``--write-docs`` the block ``heldout`` of
``docs/results.md`` and ``docs/img/heldout.png``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as `python benchmarks/heldout.py` or via runpy: find the sibling scripts
    sys.path.insert(0, str(HERE))
import ablation  # noqa: E402  (benchmarks/ablation.py: the arms, runs and analysis this benchmark extends)
import heldout_set  # noqa: E402  (benchmarks/heldout_set.py: the held-out files, listed once)

ROOT = HERE.parent
RESULTS = HERE / "results" / "heldout.json"
#: TTRL problems per seed: the default job's 10 (15-17 min per seed with five seeds sharing 2 cores; 50 attempts, enough for
#: a sign-flip test against the control to reach p < 0.05, which session 17's 25 attempts could not).
TTRL_PROBLEMS = 10
#: How this file has been used so far (shown with the table; docs/results.md tells the story).
TEST_USE = ("touched once: every stage, in session 18, the shipped default job unchanged since session 17 (a "
            "replication on a fresh, larger file, planned before the run), after all tuning on validation files (the earlier "
            "held-out files are retired: heldout_tiny_products.jsonl was the test set of sessions 12-14, "
            "heldout2_tiny_products.jsonl of session 16, heldout3_tiny_products.jsonl of session 17)")


#: The current held-out file (the last one benchmarks/heldout_set.py drew).
HELDOUT = heldout_set.PATHS[-1]
#: The file's two parts: its hard problems come first, then the 20 rung-2 products.
N_HARD = heldout_set.n_hard()
TITLE = f"The default job on {N_HARD + 20} held-out problems: mean and 95% interval over seeds"


#: The previous held-out file's stored benchmark (session 17), whose hard part is also analysed together with this one's.
EARLIER = HERE / "results" / "heldout_v3.json"


def part(problem_id: str) -> str:
    """``hard`` for a held-out file's hard problems, ``rung2`` for its 20 single products (the id's prefix names
    the file: ``heldout/`` the first, ``heldoutN/`` the N-th)."""
    prefix, index = problem_id.rsplit("/", 1)
    version = int(prefix.removeprefix("heldout") or 1)
    return "hard" if int(index) < heldout_set.n_hard(version) else "rung2"


def _pair_cells(rows: list[dict[str, Any]], after: str, before: str, keep: Any, entry: dict[str, Any]) -> list[str]:
    """Two-way paired comparison of two arms for each metric on the problems ``keep`` accepts: table cells."""
    from ladder_core.evaluation.intervals import crossed_paired_comparison

    cells = []
    for metric in ablation.METRICS:
        a, b = ablation.paired_grid(rows, after, before, metric, keep=keep)
        crossed = crossed_paired_comparison(a, b) if a else None
        entry[f"{after} vs {before} ({metric})"] = crossed.to_dict() if crossed else None
        cells.append(f"{100 * crossed.delta:+.1f} [{100 * crossed.low:+.1f}, {100 * crossed.high:+.1f}], "
                     f"p = {crossed.p_value:.3g}" if crossed else "-")
    return cells


def pooled_with_earlier(rows: list[dict[str, Any]], analysis: dict[str, Any], earlier: Path = EARLIER) -> str:
    """The hard parts of this file and of the previous one (``earlier``, its stored benchmark) together: per seed,
    the two runs' problems side by side in one seed x problem grid, so that a claim does not rest on whichever
    of two draws came out better. Empty if the earlier file was not benchmarked with any of these seeds."""
    stored = {r["seed"]: r for r in json.loads(earlier.read_text())["rows"]} if earlier.exists() else {}
    merged = [{"seed": r["seed"], "problems": {arm: {**stored[r["seed"]]["problems"].get(arm, {}), **problems}
                                               for arm, problems in r["problems"].items()}}
              for r in rows if r["seed"] in stored]
    if not merged:
        return ""
    hard = lambda pid: part(pid) == "hard"  # noqa: E731
    n_hard = dict(sorted(Counter(pid.rsplit("/", 1)[0] for pid in merged[0]["problems"]["base"] if hard(pid)).items()))
    entry: dict[str, Any] = {"earlier": earlier.name, "seeds": [r["seed"] for r in merged], "hard_problems": n_hard}
    lines = [f"Hard problems of this file and of the previous one together ({' + '.join(f'{n} {p}' for p, n in n_hard.items())}; "
             f"`{earlier.name}`, seeds {', '.join(str(r['seed']) for r in merged)}; paired: two-way bootstrap over "
             "seeds and problems):", "", "| pair of arms | pass@1, points | greedy, points |", "|---|---|---|"]
    for after, before in ablation.PAIRS:
        cells = _pair_cells(merged, after, before, hard, entry)
        lines.append(f"| {after} minus {before} | {cells[0]} | {cells[1]} |")
    analysis["pooled_with_earlier"] = entry
    return "\n".join(lines)


def seen_in_pretraining(heldout: Path = HELDOUT) -> set[str]:
    """Ids of held-out problems whose integrand the embedded model was trained on (its easy or exposure
    stage; :mod:`ladder_integration.tinymodel.pretraining`): a result on them measures memory too."""
    from ladder_integration.problem_sets import load_problem_set
    from ladder_integration.tinymodel.pretraining import seen_in_pretraining as seen

    return set(seen((p.id, p.text) for p in load_problem_set(str(heldout))))


def by_part(rows: list[dict[str, Any]], analysis: dict[str, Any]) -> str:
    """Per part of the file: mean over seeds per arm, and every pair of arms the ablation compares, paired over
    (seed, problem); the hard part also split by whether the embedded model saw the integrand in its own training."""
    from ladder_core.evaluation.intervals import t_interval

    seen = seen_in_pretraining()
    analysis["parts"] = {}
    analysis["seen_in_pretraining"] = sorted(seen)
    n_hard_seen = sum(part(p) == "hard" for p in seen)
    n_rung2_seen = sum(part(p) == "rung2" for p in seen)
    parts = {"hard": lambda pid: part(pid) == "hard", "rung2": lambda pid: part(pid) == "rung2"}
    if n_hard_seen:  # the held-out claim is then the hard part the model never saw
        parts["hard, unseen in pre-training"] = lambda pid: part(pid) == "hard" and pid not in seen
        parts["hard, seen in pre-training"] = lambda pid: part(pid) == "hard" and pid in seen
    claim = (f"The held-out claim is the hard part *unseen in pre-training* ({N_HARD - n_hard_seen} problems)."
             if n_hard_seen else "None of the hard problems was: the held-out claim is the whole hard part.")
    lines = [f"**Contamination of this file by the embedded model's own training data** "
             f"(`python -m ladder_integration.tinymodel.pretraining`): {len(seen)} of its problems are integrands the "
             f"tiny model was trained on before any LADDER run ({n_hard_seen} of the {N_HARD} hard problems; "
             f"{n_rung2_seen} of the 20 rung-2 products). {claim}", "",
             "Per part of the held-out file (mean over seeds [95% t interval]; paired: after minus before, "
             "points, two-way bootstrap over seeds and problems, p from the per-problem sign flip):", "",
             "| part | arm, or pair of arms | pass@1 % | greedy % |", "|---|---|---|---|"]
    for name, keep in parts.items():
        entry: dict[str, Any] = {}
        for arm in ablation.ARMS:
            cell = []
            for metric in ablation.METRICS:
                means = [ablation._means({pid: v for pid, v in r["problems"].get(arm, {}).items()
                                          if keep(pid)})[metric] for r in rows]
                ci = t_interval([m for m in means if m is not None])
                entry.setdefault(arm, {})[metric] = ci.to_dict() if ci else None
                cell.append(ablation._pct_ci(entry[arm][metric]))
            lines.append(f"| {name} | {ablation.ARMS[arm]} | {cell[0]} | {cell[1]} |")
        for after, before in ablation.PAIRS:
            cells = _pair_cells(rows, after, before, keep, entry)
            lines.append(f"| {name} | {after} minus {before} | {cells[0]} | {cells[1]} |")
        analysis["parts"][name] = entry
    pooled = pooled_with_earlier(rows, analysis)
    return "\n".join(lines) + (f"\n\n{pooled}" if pooled else "")


def main(argv: list[str] | None = None, host: Any = None, results: Path = RESULTS,
         heldout: Path = HELDOUT) -> dict[str, Any]:
    given = list(sys.argv[1:] if argv is None else argv)
    if "--overrides" in given:
        raise SystemExit("benchmarks/heldout.py: pass overrides through benchmarks/ablation.py; this benchmark "
                         "runs the default job as shipped")
    args, overrides = list(given), [f"domain.test_set={heldout}", f"ttrl.max_problems={TTRL_PROBLEMS}"]
    if "--threads" in args:  # a speed setting only: seeds run side by side share the cores without oversubscribing
        i = args.index("--threads")
        overrides.append(f"trainer.torch_threads={int(args[i + 1])}")
        del args[i:i + 2]
    out = [] if "--out" in args else ["--out", str(ROOT / "runs" / "heldout")]
    return ablation.main(["--split", "test", *out, *args, "--overrides", *overrides], host=host,
                            results=results, name="heldout", extend=by_part, prog="benchmarks/heldout.py",
                            command="python benchmarks/heldout.py " + " ".join(given), title=TITLE,
                            test_note=TEST_USE)

if __name__ == "__main__":
    main()
