"""The report's four PNG plots, drawn with matplotlib's Agg canvas.

matplotlib is imported inside the functions (``import ladder_core.report``
stays cheap), and figures are built with ``matplotlib.figure.Figure`` rather
than pyplot, so no GUI backend is touched and no global figure registry grows.
A plot whose data is missing is skipped with a reason that the markdown shows;
a plot that fails to draw is skipped the same way instead of raising.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ladder_core.report.summary import RunSummary
    from ladder_core.report.metrics import TtrlAccuracy

log = logging.getLogger(__name__)


@dataclass
class PlotResult:
    """One plot: where it was written (relative to the run dir), or why not."""

    name: str
    title: str
    path: str | None = None
    skipped: str | None = None


class _Skip(Exception):
    """The data a plot needs is not in the run directory."""


def _figure(width: float = 7.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _top(values: list[float]) -> float:
    """Upper y limit in percent: room above the largest value, never a 0-100 axis for values of a few percent."""
    peak = max(values, default=0.0)
    if peak <= 0:
        return 5.0
    return min(100.0, peak * 1.25) if peak * 1.25 < 100 else 105.0


def _accuracy(summary: RunSummary, accuracy: TtrlAccuracy) -> Any:
    from ladder_core.report.metrics import solved_accuracy

    groups: list[tuple[str, float | None, float | None]] = []
    if summary.baseline:
        groups.append(("baseline", summary.baseline.pass_at_1, solved_accuracy(summary.baseline)))
    if summary.final:
        groups.append(("after training", summary.final.pass_at_1, solved_accuracy(summary.final)))
    if summary.ttrl and (accuracy.accuracy is not None or accuracy.pass_at_1 is not None):
        # the control first: the same fresh samples without adaptation (the comparison TTRL is judged by)
        groups.append(("TTRL control", accuracy.pass_at_1_control, accuracy.accuracy_control))
        groups.append(("after TTRL", accuracy.pass_at_1, accuracy.accuracy))
    if not groups:
        raise _Skip("no evaluation results (baseline, evaluate and ttrl did not run)")
    fig = _figure()
    ax = fig.add_subplot()
    width = 0.38
    series = (("pass@1", 1, "#4c72b0"), ("solved (greedy)", 2, "#dd8452"))
    plotted: list[float] = []
    for offset, (label, index, color) in zip((-width / 2, width / 2), series):
        xs = [i + offset for i, g in enumerate(groups) if g[index] is not None]
        ys = [100 * g[index] for g in groups if g[index] is not None]
        plotted += ys
        bars = ax.bar(xs, ys, width, label=label, color=color)
        ax.bar_label(bars, fmt="%.1f%%", fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_ylim(0, _top(plotted))
    ax.set_ylabel("test problems (%)")
    ax.set_title(f"Accuracy on {summary.test_set or 'the test set'}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _smooth(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _depth_reward(summary: RunSummary, accuracy: TtrlAccuracy) -> Any:
    steps = summary.training.log if summary.training else []
    if not steps:
        raise _Skip("train/log.jsonl is missing or empty")
    if not any(s.depth_reward or s.depth_success for s in steps):
        raise _Skip("train/log.jsonl has no depth_reward or depth_success entries")
    from matplotlib import colormaps

    depths = sorted({d for s in steps for d in (*s.depth_reward, *s.depth_success)}, key=int)  # "10" after "9"
    cmap = colormaps.get_cmap("viridis")
    color = {d: cmap(i / max(1, len(depths) - 1) * 0.85) for i, d in enumerate(depths)}
    window = max(1, len(steps) // 25)
    fig = _figure(10.0, 4.2)
    ax_r, ax_s = fig.subplots(1, 2, sharex=True)
    for d in depths:
        pts = [(s.step, s.depth_reward[d]) for s in steps if d in s.depth_reward]
        if pts:
            xs, ys = zip(*pts)
            if window > 1:
                ax_r.plot(xs, ys, color=color[d], alpha=0.2, linewidth=0.8)
            ax_r.plot(xs, _smooth(list(ys), window), color=color[d], label=f"depth {d}")
        pts = [(s.step, s.depth_success[d]) for s in steps if d in s.depth_success]
        if pts:
            xs, ys = zip(*pts)
            ax_s.plot(xs, ys, color=color[d], label=f"depth {d}")
    overall = [(s.step, s.reward) for s in steps if s.reward is not None]
    if overall:
        xs, ys = zip(*overall)
        ax_r.plot(xs, _smooth(list(ys), window), color="black", linestyle="--", linewidth=1, label="all")
    smooth_note = f" (moving mean of {window} steps)" if window > 1 else ""
    ax_r.set_title("batch reward by tree depth" + smooth_note, fontsize=10)
    ax_r.set_xlabel("training step")
    ax_r.set_ylabel("mean reward")
    ax_s.set_title("curriculum success estimate by depth", fontsize=10)
    ax_s.set_xlabel("training step")
    ax_s.set_ylabel("estimated success rate")
    ax_s.set_ylim(-0.02, 1.02)
    for ax in (ax_r, ax_s):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False)
    return fig


def _pass_at_k(summary: RunSummary, accuracy: TtrlAccuracy) -> Any:
    series = [(name, r) for name, r in (("baseline", summary.baseline), ("after training", summary.final))
              if r is not None and r.pass_at_k]
    if not series:
        raise _Skip("no pass@k results (baseline/evaluate summary missing)")
    fig = _figure()
    ax = fig.add_subplot()
    ks: set[int] = set()
    plotted: list[float] = []
    for (name, result), marker in zip(series, ("o", "s")):
        xs = sorted(result.pass_at_k)
        ks.update(xs)
        ys = [100 * result.pass_at_k[k] for k in xs]
        plotted += ys
        ax.plot(xs, ys, marker=marker, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(ks), [str(k) for k in sorted(ks)])
    ax.minorticks_off()
    ax.set_ylim(0, _top(plotted))
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("pass@k (%)")
    ax.set_title("pass@k")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return fig


def _ttrl_control(summary: RunSummary, accuracy: TtrlAccuracy) -> Any:
    ttrl = summary.ttrl
    if ttrl is None:
        raise _Skip("TTRL did not run")
    if not ttrl.problems:
        raise _Skip("TTRL attempted no problem")
    probs = ttrl.problems
    fig = _figure()
    ax = fig.add_subplot()
    xs = range(len(probs))
    width = 0.38
    control = [100 * p.control_pass_at_1 for p in probs]
    adapted = [100 * p.adapted_pass_at_1 for p in probs]
    ax.bar([x - width / 2 for x in xs], control, width, label="control (un-adapted, same samples)", color="#8c8c8c")
    ax.bar([x + width / 2 for x in xs], adapted, width, label="adapted (TTRL on variants)", color="#55a868")
    ax.set_xticks(list(xs), [p.problem_id.split("/")[-1] for p in probs], rotation=90 if len(probs) > 12 else 0,
                  fontsize=7)
    ax.set_ylim(0, _top(control + adapted))
    ax.set_ylabel(f"correct samples (%, of {probs[0].samples})")
    ax.set_title(f"TTRL vs control: solved {ttrl.solved} vs {ttrl.control_solved} of {len(probs)}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


#: name -> (title, drawing function), in the order the report shows them.
PLOTS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "accuracy": ("Accuracy before and after training and TTRL", _accuracy),
    "depth_reward": ("Reward and curriculum success by tree depth during training", _depth_reward),
    "pass_at_k": ("pass@k before and after training", _pass_at_k),
    "ttrl_steps": ("TTRL: adapted model vs its control, per problem", _ttrl_control),
}


def make_plots(summary: RunSummary, accuracy: TtrlAccuracy, run_dir: Path) -> list[PlotResult]:
    """Draw every plot into ``run_dir/plots``; paths in the results are relative to ``run_dir``."""
    results = []
    out_dir = Path(run_dir) / "plots"
    for name, (title, draw) in PLOTS.items():
        result = PlotResult(name=name, title=title)
        try:
            fig = draw(summary, accuracy)
            out_dir.mkdir(parents=True, exist_ok=True)
            fig.savefig(out_dir / f"{name}.png", format="png")
            result.path = f"plots/{name}.png"
        except _Skip as skip:
            result.skipped = str(skip)
        except Exception as exc:  # noqa: BLE001 - a plot is never worth crashing the run
            log.warning("report: plot %s failed: %s", name, exc, exc_info=True)
            result.skipped = f"drawing failed ({exc.__class__.__name__}: {exc})"
        results.append(result)
    return results
