"""The paper's ablation at tiny scale: base, RL on the roots only, LADDER (tree + adaptive sampler),
LADDER with uniform sampling, and TTRL on top, with the same training compute, over several seeds.

For each seed, one run does baseline evaluation and builds the variant trees;
the other arms reuse those artifacts (copied run directories, so every arm
starts from the same baseline numbers and the same trees) and differ only in
``curriculum.mode``. Every arm trains for the same number of steps with the
same prompts per step and group size. Results: a table on stdout,
``benchmarks/results/ablation.json``, and with ``--write-docs`` the table and
``docs/img/ablation.png`` in ``docs/results.md``.

    python benchmarks/ablation.py --seeds 0 1 2 3 4 --ttrl-seeds 0 --write-docs
    python benchmarks/ablation.py --seeds 0 --overrides trainer.max_steps=10   # quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as `python benchmarks/ablation.py` or via runpy: find the helper
    sys.path.insert(0, str(HERE))
from _report import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ablation.json"
ARMS = {
    "roots_only": "RL on the roots only (no variants)",
    "uniform": "LADDER, uniform sampling over the tree",
    "adaptive": "LADDER, adaptive tree curriculum",
}


def run_arm(run_dir: Path, overrides: list[str], stages: list[str]) -> dict[str, Any]:
    from ladder_core.cli import run
    from ladder_core.plugins import get_host
    from ladder_core.testing.compose import compose_config

    host = get_host()
    cfg = compose_config(host, ["+domain=integration", f"pipeline.stages=[{','.join(stages)}]", *overrides],
                         run_dir=run_dir)
    return run(cfg, host)


def pass1(run_dir: Path, stage: str) -> float | None:
    path = run_dir / stage / "summary.json"
    if not path.exists():
        return None
    summary = json.loads(path.read_text())
    return summary["pass_at_k"].get("1")


def greedy(run_dir: Path, stage: str) -> float | None:
    path = run_dir / stage / "summary.json"
    return json.loads(path.read_text()).get("greedy_accuracy") if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    parser.add_argument("--overrides", nargs="*", default=[])
    parser.add_argument("--no-ttrl", action="store_true")
    parser.add_argument("--ttrl-seeds", type=int, nargs="*", default=None,
                        help="run TTRL on top of the adaptive arm only for these seeds (default: every seed); "
                             "TTRL is the longest stage on a CPU")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        common = [f"seed={seed}", *args.overrides]
        seed_dir = args.out / f"seed{seed}"
        t0 = time.monotonic()
        adaptive_dir = seed_dir / "adaptive"
        with_ttrl = not args.no_ttrl and (args.ttrl_seeds is None or seed in args.ttrl_seeds)
        stages = ["baseline", "variants", "train", "evaluate"] + (["ttrl"] if with_ttrl else []) + ["report"]
        report = run_arm(adaptive_dir, [*common, "curriculum.mode=adaptive"], stages)
        row: dict[str, Any] = {"seed": seed, "base_pass@1": pass1(adaptive_dir, "baseline"),
                               "base_greedy": greedy(adaptive_dir, "baseline"),
                               "adaptive_pass@1": pass1(adaptive_dir, "evaluate"),
                               "adaptive_greedy": greedy(adaptive_dir, "evaluate")}
        ttrl = (report or {}).get("ttrl") or {}
        row["ttrl_paper_metric"] = ttrl.get("paper_metric_accuracy")
        row["ttrl_pass@1"] = ttrl.get("pass@1")
        for arm in ("uniform", "roots_only"):
            arm_dir = seed_dir / arm
            if not (arm_dir / "evaluate" / "DONE.json").exists():
                shutil.rmtree(arm_dir, ignore_errors=True)
                arm_dir.mkdir(parents=True)
                for stage in ("baseline", "variants"):
                    shutil.copytree(adaptive_dir / stage, arm_dir / stage)
            run_arm(arm_dir, [*common, f"curriculum.mode={arm}"], ["train", "evaluate", "report"])
            row[f"{arm}_pass@1"] = pass1(arm_dir, "evaluate")
            row[f"{arm}_greedy"] = greedy(arm_dir, "evaluate")
        row["seconds"] = round(time.monotonic() - t0, 1)
        rows.append(row)
        print(json.dumps(row))
    table = summarise(rows) + "\n\nPer seed, pass@1 % (greedy % in brackets):\n\n" + per_seed_table(rows)
    print(table)
    write_json(RESULTS, {"seeds": args.seeds, "overrides": args.overrides, "rows": rows})
    if args.write_docs:
        plot(rows, ROOT / "docs" / "img" / "ablation.png")
        write_docs(table, args)


COLUMNS = [("base", "base_pass@1"), ("RL on roots only", "roots_only_pass@1"),
           ("LADDER uniform", "uniform_pass@1"), ("LADDER adaptive", "adaptive_pass@1"),
           ("LADDER adaptive + TTRL", "ttrl_pass@1"),
           ("LADDER adaptive + TTRL, paper metric (solved by greedy or by TTRL at any step)", "ttrl_paper_metric")]


def _stats(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * spread:.1f} (min {100 * min(values):.1f}, max {100 * max(values):.1f})"


def summarise(rows: list[dict[str, Any]]) -> str:
    lines = ["| arm | pass@1 on the held-out hard test set, % (mean ± std over seeds) | greedy, % |", "|---|---|---|"]
    for label, key in COLUMNS:
        greedy_key = key.replace("pass@1", "greedy")
        greedy_vals = [r.get(greedy_key) for r in rows] if greedy_key != key else []
        lines.append(f"| {label} | {_stats([r.get(key) for r in rows])} | {_stats(greedy_vals)} |")
    return "\n".join(lines)


def per_seed_table(rows: list[dict[str, Any]]) -> str:
    """One line per seed: every arm's pass@1 (greedy in brackets), so the spread is visible."""
    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        greedy_key = key.replace("pass@1", "greedy")
        greedy_value = row.get(greedy_key) if greedy_key != key else None
        return f"{100 * value:.2f}" + (f" ({100 * greedy_value:.0f})" if greedy_value is not None else "")

    header = "| seed | " + " | ".join(label for label, _ in COLUMNS) + " |"
    lines = [header, "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row['seed']} | " + " | ".join(cell(row, key) for _, key in COLUMNS) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, means, errs, points = [], [], [], []
    for label, key in COLUMNS:
        values = [r[key] for r in rows if r.get(key) is not None]
        if not values:
            continue
        labels.append("LADDER + TTRL\npaper metric\n(not pass@1)" if key == "ttrl_paper_metric"
                      else label.replace("LADDER ", "LADDER\n"))
        means.append(100 * statistics.fmean(values))
        errs.append(100 * (statistics.stdev(values) if len(values) > 1 else 0.0))
        points.append([100 * v for v in values])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(range(len(labels)), means, yerr=errs, capsize=4, color="#4c72b0", alpha=0.8)
    for i, pts in enumerate(points):
        ax.scatter([i] * len(pts), pts, color="black", s=12, zorder=3)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("pass@1 on held-out hard integrals (%)")
    ax.set_title(f"Tiny-model ablation, {len(rows)} seed(s), same training compute")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def write_docs(table: str, args: argparse.Namespace) -> None:
    path = ROOT / "docs" / "results.md"
    text = path.read_text() if path.exists() else "# Results\n"
    start, end = "<!-- ablation:start -->", "<!-- ablation:end -->"
    cmd = f"python benchmarks/ablation.py --seeds {' '.join(map(str, args.seeds))}"
    if args.no_ttrl:
        cmd += " --no-ttrl"
    elif args.ttrl_seeds is not None:
        cmd += " --ttrl-seeds " + " ".join(map(str, args.ttrl_seeds))
    if args.overrides:
        cmd += " --overrides " + " ".join(args.overrides)
    block = f"{start}\nCommand: `{cmd} --write-docs`\n\n{table}\n\n![ablation](img/ablation.png)\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
