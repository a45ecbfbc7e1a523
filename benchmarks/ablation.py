"""The paper's ablation at tiny scale: base, RL on the roots only, LADDER (tree + uniform or adaptive
sampling), and TTRL on top, with the same training compute, over several seeds, with intervals.

Protocol. Tune on the validation split, report the test split once:

    python benchmarks/ablation.py --split validation --seeds 0 1 2 3 4      # tuning: any number of times
    python benchmarks/ablation.py --split test --seeds 0 1 2 3 4 --ttrl-seeds 0 --write-docs   # once, at the end

``--split validation`` evaluates every arm on the domain's validation set (``domain.test_set`` is pointed
at it; for the tiny model ``tiny_hard_validation``); ``--split test`` on the configured test set. The
JSON and the docs say which split the numbers come from.

For each seed, the adaptive arm does baseline evaluation and builds the (decontaminated) variant trees;
the other arms reuse those artifacts (copied run directories) and differ only in ``curriculum.mode``.
Numbers: the mean over seeds with a Student-t 95% interval, for pass@1 and greedy; paired tests between
arms over (seed, problem) pairs (paired bootstrap interval and sign-flip p-value) and over seeds
(exact sign flip on per-seed means: with 5 seeds the smallest two-sided p is 1/16, so no 5-seed lift
can be significant there); TTRL against its control (the un-adapted model, same samples). Results: a
table on stdout, ``benchmarks/results/ablation.json``, and with ``--write-docs`` the table and
``docs/img/ablation.png`` in ``docs/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as `python benchmarks/ablation.py` or via runpy: find the helper
    sys.path.insert(0, str(HERE))
from _report import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ablation.json"
ARMS = {
    "base": "base model (no training)",
    "roots_only": "RL on the roots only (no variants)",
    "uniform": "LADDER, uniform sampling over the tree",
    "adaptive": "LADDER, adaptive tree curriculum",
}
#: Paired comparisons reported (after, before).
PAIRS = [("adaptive", "base"), ("uniform", "base"), ("roots_only", "base"), ("adaptive", "roots_only"),
         ("uniform", "roots_only"), ("adaptive", "uniform")]
METRICS = ("pass@1", "greedy")


def run_arm(run_dir: Path, overrides: list[str], stages: list[str], host: Any = None) -> Any:
    """One arm's run; returns its report record (``ladder_core.artifacts.Report``, None without a report stage)."""
    from ladder_core.cli import run
    from ladder_core.plugins import get_host
    from ladder_core.testing.compose import compose_config

    host = host or get_host()
    cfg = compose_config(host, [f"pipeline.stages=[{','.join(stages)}]", *overrides], run_dir=run_dir)
    return run(cfg, host)


def stage_seconds(run_dir: Path) -> float:
    """Wall seconds of the run's stages (``timings.json``), 0 if it has none; the report is left out, as every
    re-read of a finished run (``--analyse-only``) writes it again."""
    from ladder_core.artifacts import StageTimings, read_json

    path = run_dir / "timings.json"
    seconds = read_json(path, StageTimings).seconds if path.exists() else {}
    return sum(v for stage, v in seconds.items() if stage != "report")


def per_problem(run_dir: Path, stage: str) -> dict[str, dict[str, float]]:
    """``{problem_id: {"pass@1": share of samples correct, "greedy": 1/0}}`` from ``<stage>/results.jsonl``."""
    from ladder_core.evaluation.evaluate import read_results

    out = {}
    for r in read_results(run_dir / stage / "results.jsonl"):
        row = {"pass@1": r.n_correct / r.n if r.n else 0.0}
        if r.greedy_correct is not None:
            row["greedy"] = float(r.greedy_correct)
        out[r.problem_id] = row
    return out


def split_overrides(split: str, host: Any, domain_args: Sequence[str]) -> list[str]:
    """``--split validation`` points the run's test set at the domain's validation set."""
    if split == "test":
        return []
    from ladder_core.domain import DomainContext

    from ladder_core.evaluation.splits import validation_problems
    from ladder_core.testing.compose import compose_config

    cfg = compose_config(host, list(domain_args), run_dir=Path("."))
    spec = host.domain(str(cfg.domain.name))
    domain = spec.factory(cfg.domain, DomainContext(model_scale=str(cfg.model.get("scale", "full"))))
    try:
        problems = validation_problems(domain, required=True)
        name = domain.problem_set_name("validation") if hasattr(domain, "problem_set_name") else problems[0].source
    finally:
        domain.close()
    return [f"domain.test_set={name}"]


def run_seed(seed: int, args: argparse.Namespace, extra: list[str], host: Any) -> dict[str, Any]:
    common = [f"+domain={args.domain}", f"seed={seed}", *extra, *args.overrides]
    seed_dir = args.out / args.split / f"seed{seed}"
    adaptive_dir = seed_dir / "adaptive"
    with_ttrl = not args.no_ttrl and (args.ttrl_seeds is None or seed in args.ttrl_seeds)
    stages = ["baseline", "variants", "train", "evaluate"] + (["ttrl"] if with_ttrl else []) + ["report"]
    report = run_arm(adaptive_dir, [*common, "curriculum.mode=adaptive"], stages, host)
    row: dict[str, Any] = {"seed": seed, "problems": {"base": per_problem(adaptive_dir, "baseline"),
                                                      "adaptive": per_problem(adaptive_dir, "evaluate")}}
    for arm in ("uniform", "roots_only"):
        arm_dir = seed_dir / arm
        if not (arm_dir / "evaluate" / "DONE.json").exists():
            shutil.rmtree(arm_dir, ignore_errors=True)
            arm_dir.mkdir(parents=True)
            for stage in ("baseline", "variants"):
                shutil.copytree(adaptive_dir / stage, arm_dir / stage)
        run_arm(arm_dir, [*common, f"curriculum.mode={arm}"], ["train", "evaluate", "report"], host)
        row["problems"][arm] = per_problem(arm_dir, "evaluate")
    ttrl = report.ttrl if report is not None else None
    if ttrl is not None and ttrl.problems:
        from ladder_core.artifacts import to_dict

        row["ttrl"] = {"accuracy": ttrl.accuracy, "accuracy_control": ttrl.accuracy_control,
                       "pass@1": ttrl.pass_at_1, "pass@1_control": ttrl.pass_at_1_control,
                       "attempted": ttrl.attempted, "solved": ttrl.solved, "control_solved": ttrl.control_solved,
                       "vs_control": to_dict(ttrl.vs_control) if ttrl.vs_control else None,
                       "problems": [{"problem_id": p.problem_id, "pass@1": p.adapted_pass_at_1,
                                     "pass@1_control": p.control_pass_at_1, "solved": float(p.solved),
                                     "solved_control": float(p.control_solved)} for p in ttrl.problems]}
    row["means"] = {arm: _means(probs) for arm, probs in row["problems"].items()}
    row["train"] = {arm: signal(seed_dir / arm) for arm in ("adaptive", "uniform", "roots_only")}
    # compute time from the stages' own timings, so re-reading finished seeds (--analyse-only) keeps it
    row["seconds"] = round(sum(stage_seconds(seed_dir / arm) for arm in ("adaptive", "uniform", "roots_only")), 1)
    return row


def signal(arm_dir: Path) -> dict[str, float | int]:
    """Training signal of one arm from ``train/summary.json``: groups with non-zero reward variance
    (the only ones GRPO learns from) and how many of them per second of training."""
    from ladder_core.artifacts import TrainSummary, read_json

    summary = read_json(arm_dir / "train" / "summary.json", TrainSummary)
    seen = int(summary.dynamic_sampling.get("groups_seen", 0))
    useful = seen - int(summary.dynamic_sampling.get("zero_variance", 0))
    return {"groups": seen, "useful_groups": useful, "seconds": summary.seconds,
            "useful_groups_per_s": useful / summary.seconds if summary.seconds else 0.0,
            "zero_variance_rate": 1 - useful / seen if seen else 0.0}


def _means(problems: dict[str, dict[str, float]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for metric in METRICS:
        values = [p[metric] for p in problems.values() if metric in p]
        out[metric] = sum(values) / len(values) if values else None
    return out


def paired_grid(rows: list[dict[str, Any]], after: str, before: str, metric: str,
                keep: Callable[[str], bool] | None = None) -> tuple[list[list[float]], list[list[float]]]:
    """``metric`` of two arms as seeds x problems grids ``(after, before)``: the seeds that ran both arms, the
    problems every one of those seeds has for both (and ``keep`` accepts), in a fixed order."""
    seeds = [r for r in rows if r["problems"].get(after) and r["problems"].get(before)]
    common: set[str] | None = None
    for r in seeds:
        pa, pb = r["problems"][after], r["problems"][before]
        ids = {pid for pid in pb if pid in pa and metric in pa[pid] and metric in pb[pid]
               and pa[pid][metric] is not None and pb[pid][metric] is not None and (keep is None or keep(pid))}
        common = ids if common is None else common & ids
    order = sorted(common or ())
    if not order:
        return [], []
    return ([[r["problems"][after][pid][metric] for pid in order] for r in seeds],
            [[r["problems"][before][pid][metric] for pid in order] for r in seeds])


def analyse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and t interval over seeds per arm and metric; paired tests between arms; TTRL vs control."""
    from ladder_core.evaluation.intervals import (
        crossed_paired_comparison,
        paired_comparison,
        sign_flip_p_value,
        t_interval,
    )

    import numpy as np

    arms: dict[str, Any] = {}
    for arm in ARMS:
        arms[arm] = {}
        for metric in METRICS:
            values = [r["means"][arm][metric] for r in rows if arm in r["means"] and r["means"][arm][metric] is not None]
            ci = t_interval(values)
            arms[arm][metric] = {**ci.to_dict(), "per_seed": values} if ci else None
    pairs: dict[str, Any] = {}
    for after, before in PAIRS:
        for metric in METRICS:
            a, b = paired_grid(rows, after, before, metric)
            if not a:
                continue
            crossed = crossed_paired_comparison(a, b)
            d = np.asarray(a).mean(axis=1) - np.asarray(b).mean(axis=1)
            pairs[f"{after} vs {before} ({metric})"] = {
                "over_seeds_and_problems": crossed.to_dict() if crossed else None,
                "over_seeds": {"delta": float(d.mean()), "p_value": sign_flip_p_value(d), "n": int(d.size),
                               "method": "exact sign flip over per-seed means"}}
    train: dict[str, Any] = {}
    for arm in ("adaptive", "uniform", "roots_only"):
        for key in ("useful_groups_per_s", "zero_variance_rate"):
            values = [r["train"][arm][key] for r in rows if arm in r.get("train", {})]
            ci = t_interval(values)
            if ci:
                train.setdefault(arm, {})[key] = {**ci.to_dict(), "per_seed": values}
    ttrl_rows = [r["ttrl"] for r in rows if r.get("ttrl")]
    ttrl = None
    if ttrl_rows:
        ttrl = {key: t_interval([t[key] for t in ttrl_rows if t.get(key) is not None]).to_dict()  # type: ignore[union-attr]
                for key in ("accuracy", "accuracy_control", "pass@1", "pass@1_control")
                if any(t.get(key) is not None for t in ttrl_rows)}
        ttrl["per_seed_vs_control"] = [t.get("vs_control") for t in ttrl_rows]
        ttrl["seeds"] = len(ttrl_rows)
        attempted = [p for t in ttrl_rows for p in t.get("problems") or []]
        if attempted:  # adapted minus the un-adapted control, paired over distinct problems
            by_problem: dict[str, list[dict[str, float]]] = {}
            for p in attempted:  # a problem attempted under several seeds counts once: the mean of its attempts
                by_problem.setdefault(p["problem_id"], []).append(p)

            def per_problem_mean(key: str) -> list[float]:
                return [sum(a[key] for a in attempts) / len(attempts) for attempts in by_problem.values()]

            ttrl["attempted"] = {
                "n": len(attempted), "distinct_problems": len(by_problem),
                "solved": int(sum(p["solved"] for p in attempted)),
                "solved_control": int(sum(p["solved_control"] for p in attempted)),
                "paired": {metric: paired_comparison(per_problem_mean(metric),
                                                     per_problem_mean(f"{metric}_control")).to_dict()
                           for metric in ("pass@1", "solved")}}
    return {"arms": arms, "pairs": pairs, "ttrl": ttrl, "train": train}


def _pct_ci(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "-"
    low, high = entry["ci95"]
    return f"{100 * entry['mean']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def summarise(analysis: dict[str, Any], split: str, n_seeds: int, test_note: str | None = None) -> str:
    """The markdown tables; ``test_note`` replaces the default description of how the test split was used."""
    note = (test_note or "evaluated once, after tuning on validation") if split == "test" else \
        "tuning numbers; not a test result"
    lines = [f"Split: **{split}** ({note})", "",
             f"| arm | pass@1 %, mean [95% t interval] over {n_seeds} seed(s) | greedy % | useful groups/s "
             "(non-zero reward variance) | zero-variance share |", "|---|---|---|---|---|"]
    for arm, label in ARMS.items():
        entry = analysis["arms"].get(arm) or {}
        train = (analysis.get("train") or {}).get(arm) or {}
        ups, zv = train.get("useful_groups_per_s"), train.get("zero_variance_rate")
        ups_s = f"{ups['mean']:.2f} [{ups['ci95'][0]:.2f}, {ups['ci95'][1]:.2f}]" if ups else "-"
        lines.append(f"| {label} | {_pct_ci(entry.get('pass@1'))} | {_pct_ci(entry.get('greedy'))} | {ups_s} | "
                     f"{_pct_ci(zv)} |")
    ttrl = analysis.get("ttrl")
    if ttrl:
        lines.append(f"| LADDER adaptive + TTRL ({ttrl['seeds']} seed(s)) | {_pct_ci(ttrl.get('pass@1'))} | "
                     f"solved: {_pct_ci(ttrl.get('accuracy'))} |")
        lines.append(f"| control: same samples, no adaptation | {_pct_ci(ttrl.get('pass@1_control'))} | "
                     f"solved: {_pct_ci(ttrl.get('accuracy_control'))} |")
        att = ttrl.get("attempted")
        if att:
            p1, solved = att["paired"]["pass@1"], att["paired"]["solved"]
            distinct = att.get("distinct_problems", att["n"])
            lines += ["", f"TTRL on the problems it attempted, over seeds ({att['n']} attempts of {distinct} distinct "
                      f"problems): solved **{att['solved']} of {att['n']}**, control {att['solved_control']} of "
                      f"{att['n']} (paired over the distinct problems, each the mean of its attempts: "
                      f"{100 * solved['delta']:+.1f} points [{100 * solved['ci95'][0]:+.1f}, "
                      f"{100 * solved['ci95'][1]:+.1f}], p = {solved['p_value']:.2g}); pass@1 adapted minus control "
                      f"{100 * p1['delta']:+.1f} points [{100 * p1['ci95'][0]:+.1f}, {100 * p1['ci95'][1]:+.1f}], "
                      f"p = {p1['p_value']:.2g}."]
    lines += ["", "Paired comparisons (after minus before, points; 95% interval of a two-way bootstrap over seeds "
              "and problems; p: sign flip of the per-problem deltas averaged over seeds, and exact sign flip of the "
              "per-seed means):", "", "| comparison | delta [95% CI] | p (problems) | p (seeds) |", "|---|---|---|---|"]
    for name, entry in analysis["pairs"].items():
        crossed, seeds = entry["over_seeds_and_problems"], entry["over_seeds"]
        low, high = crossed["ci95"]
        lines.append(f"| {name} | {100 * crossed['delta']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] | "
                     f"{crossed['p_value']:.3g} | {seeds['p_value']:.3g} |")
    return "\n".join(lines)


def plot(analysis: dict[str, Any], path: Path, split: str, title: str | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(label.replace("LADDER, ", "LADDER\n"), analysis["arms"].get(arm) or {}) for arm, label in ARMS.items()]
    ttrl = analysis.get("ttrl") or {}
    if ttrl:  # greedy = solved: TTRL is judged against its control (same fresh samples, no adaptation)
        groups += [("TTRL control", {"pass@1": ttrl.get("pass@1_control"), "greedy": ttrl.get("accuracy_control")}),
                   ("LADDER adaptive\n+ TTRL", {"pass@1": ttrl.get("pass@1"), "greedy": ttrl.get("accuracy")})]
    fig, ax = plt.subplots(figsize=(8 + 1.5 * (len(groups) - len(ARMS)), 4))
    width = 0.38
    for offset, metric, color in ((-width / 2, "pass@1", "#4c72b0"), (width / 2, "greedy", "#dd8452")):
        for i, (_, entries) in enumerate(groups):
            entry = entries.get(metric)
            if not entry:
                continue
            mean, (low, high) = 100 * entry["mean"], entry["ci95"]
            ax.bar(i + offset, mean, width, color=color, alpha=0.8, label=metric if i == 0 else None,
                   yerr=[[mean - 100 * low], [100 * high - mean]], capsize=3)
            seeds = entry.get("per_seed") or []
            ax.scatter([i + offset] * len(seeds), [100 * v for v in seeds], color="black", s=8, zorder=3)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    ax.set_ylabel(f"{split} problems (%)")
    ax.set_title(title or f"Tiny-model ablation on the {split} split: mean and 95% interval over seeds")
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def write_docs(table: str, command: str, name: str = "ablation") -> None:
    """Replace the ``<!-- NAME:start -->`` .. ``<!-- NAME:end -->`` block of docs/results.md."""
    path = ROOT / "docs" / "results.md"
    text = path.read_text() if path.exists() else "# Results\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\nCommand: `{command}`\n\n{table}\n\n![{name}](img/{name}.png)\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    path.write_text(text)


def main(argv: Sequence[str] | None = None, host: Any = None, results: Path = RESULTS, name: str = "ablation",
         extend: Any = None, prog: str = "benchmarks/ablation.py", command: str | None = None,
         title: str | None = None, test_note: str | None = None) -> dict[str, Any]:
    """Run (or resume: finished stages are kept) every seed and arm, analyse, print, write JSON.

    ``name`` names the docs block and the plot (``docs/img/<name>.png``); ``extend(rows, analysis)``
    may add sections (a caller's extra breakdowns) and returns extra markdown for the table.
    """
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("validation", "test"), default="validation",
                        help="validation for tuning (default); test once, at the end")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--domain", default="integration")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--overrides", nargs="*", default=[])
    parser.add_argument("--no-ttrl", action="store_true")
    parser.add_argument("--ttrl-seeds", type=int, nargs="*", default=None,
                        help="run TTRL on top of the adaptive arm only for these seeds (default: every seed); "
                             "TTRL is the longest stage on a CPU")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--analyse-only", action="store_true",
                        help="only read finished seeds (run each seed in its own process first, e.g. in parallel)")
    args = parser.parse_args(argv)
    if args.write_docs and args.split != "test":
        parser.error("--write-docs publishes results: use it with --split test (after tuning on validation)")
    from ladder_core.plugins import get_host

    host = host or get_host()
    extra = split_overrides(args.split, host, [f"+domain={args.domain}", *args.overrides])
    rows = []
    for seed in args.seeds:
        if args.analyse_only and not (args.out / args.split / f"seed{seed}" / "roots_only" / "evaluate" / "DONE.json").exists():
            parser.error(f"--analyse-only: seed {seed} is not finished under {args.out / args.split}")
        rows.append(run_seed(seed, args, extra, host))
    for row in rows:
        print(json.dumps({"seed": row["seed"], "means": row["means"], "seconds": row["seconds"]}))
    analysis = analyse(rows)
    table = summarise(analysis, args.split, len(rows), test_note)
    if extend is not None:
        table += "\n\n" + extend(rows, analysis)
    print(table)
    # paths inside the checkout are stored relative to it, so the file reads the same from any clone
    overrides = [o.replace(f"{ROOT}{os.sep}", "") for o in args.overrides]
    payload = {"split": args.split, "seeds": args.seeds, "overrides": overrides, "analysis": analysis, "rows": rows}
    write_json(results, payload)
    if args.write_docs:
        plot(analysis, ROOT / "docs" / "img" / f"{name}.png", args.split, title)
        command = command or f"python {prog} " + " ".join(argv if argv is not None else sys.argv[1:])
        write_docs(table, command, name)
    return payload


if __name__ == "__main__":
    main()
