"""Simulation benchmark of the curriculum sampler: steps until every root is mastered.

No model is trained here. A synthetic learner stands in for the policy so the
sampling modes can be compared over many trees and seeds in seconds.

Learner model (chosen before looking at results, and not tuned afterwards):

* Forest. ``roots`` problems, each the root of a variant tree of depth
  ``depth`` whose nodes have 3-5 children (about 85 nodes per root, 850 in all).
* Difficulty. Each node has a difficulty ``d`` on the logit scale. A root has
  ``d ~ N(root_difficulty, root_sd)``; a child is easier than its parent by
  ``depth_step`` with node noise, ``d_child = d_parent - depth_step + N(0, node_sd)``.
  Defaults (root_difficulty 7 ± 1, depth_step 2.6) put the untrained learner
  at a median of about 0.1% on roots, 1% one level down, 14% at depth 2 and
  70% on leaves. Calibration: the paper's base model had pass@1 1% and pass@10
  2% on its test roots, i.e. most roots near 0% and a few solvable; a 1%-each
  regime is run as a sensitivity setting.
* Success. The learner has a latent skill ``theta`` per node (0 at the start);
  one completion for node ``n`` is correct with ``p_n = sigmoid(theta_n - d_n)``.
* Practice. A step is one batch of ``k`` prompts (tree nodes), each answered
  ``group_size`` times: successes ~ Binomial(group_size, p). As in GRPO, a
  group whose rewards are all equal has zero advantage and teaches nothing, so
  practice on a node the learner never (or always) solves is wasted. A group
  with empirical success rate q teaches in proportion to its reward standard
  deviation, ``signal = 2 sqrt(q (1 - q))`` (1 for a 50/50 group).
* Transfer. The signal raises the skill of every node of the same tree,
  damped by the tree distance: ``theta_n += lr * signal * transfer ** dist(m, n)``
  (parent, children: one edge; siblings, grandparent: two; ...). Nothing
  transfers across roots. Learning on easy leaves therefore slowly makes
  their ancestors, and finally the root, learnable, which is the LADDER premise;
  the strength of that premise is the ``transfer`` parameter, swept below.
* Updates of one batch are applied together (one optimiser step). Skill never
  decreases (no forgetting), so "mastered" is permanent and curves are monotone.

A root is mastered when its true ``p >= mastery`` (0.9). The score of a run is
the first step at which all roots are mastered (``max_steps`` if never). Every
method sees the same forest, difficulties and learner per seed (paired
comparison); methods differ only in the sampler's ``mode`` (and dynamic
sampling, whose extra generation rounds are counted as generations, not steps).

Run: ``python benchmarks/curriculum.py`` (writes ``benchmarks/results/curriculum.json``,
``docs/img/curriculum_sim.png`` and the "Curriculum" section of ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _path in (str(REPO), str(REPO / "benchmarks")):  # the checkout's ladder_core; the shared _report helper
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ladder_core.difficulty import CurriculumConfig, CurriculumSampler, DynamicSampler  # noqa: E402
from ladder_core.records import TreeNode  # noqa: E402

from _report import replace_markdown_section, write_json  # noqa: E402

SECTION = "## Curriculum (difficulty control)"
CURVE_STRIDE = 5


@dataclass(frozen=True)
class SimConfig:
    roots: int = 10
    depth: int = 3
    min_children: int = 3
    max_children: int = 5
    root_difficulty: float = 7.0
    root_sd: float = 1.0
    depth_step: float = 2.6
    node_sd: float = 0.5
    lr: float = 0.1
    transfer: float = 0.5
    k: int = 32
    group_size: int = 8
    mastery: float = 0.9
    max_steps: int = 3000


@dataclass(frozen=True)
class Method:
    name: str
    mode: str
    dynamic_sampling: bool = False


METHODS = (
    Method("adaptive", "adaptive"),
    Method("uniform", "uniform"),
    Method("roots_only", "roots_only"),
    Method("adaptive + dynamic sampling", "adaptive", True),
    Method("uniform + dynamic sampling", "uniform", True),
)


class Forest:
    """Random variant forest with difficulties and the tree-distance transfer matrix."""

    def __init__(self, sim: SimConfig, rng: np.random.Generator) -> None:
        self.nodes: list[TreeNode] = []
        parent: list[int] = []
        difficulty: list[float] = []
        for r in range(sim.roots):
            root_idx = len(self.nodes)
            rid = f"r{r}"
            self.nodes.append(TreeNode(rid, None, 0, rid))
            parent.append(-1)
            difficulty.append(rng.normal(sim.root_difficulty, sim.root_sd))
            frontier = [root_idx]
            for depth in range(1, sim.depth + 1):
                nxt = []
                for p in frontier:
                    for c in range(int(rng.integers(sim.min_children, sim.max_children + 1))):
                        idx = len(self.nodes)
                        self.nodes.append(TreeNode(f"{self.nodes[p].id}.{c}", self.nodes[p].id, depth, rid))
                        parent.append(p)
                        difficulty.append(difficulty[p] - sim.depth_step + rng.normal(0.0, sim.node_sd))
                        nxt.append(idx)
                frontier = nxt
        self.parent = np.array(parent)
        self.difficulty = np.array(difficulty)
        self.index = {n.id: i for i, n in enumerate(self.nodes)}
        self.roots = np.array([i for i, n in enumerate(self.nodes) if n.parent_id is None])
        self.kernel = self._kernel(sim.transfer)

    def _kernel(self, transfer: float) -> np.ndarray:
        """K[n, m] = transfer ** dist(n, m) within a tree, 0 across trees."""
        n = len(self.nodes)
        ancestors = []
        for i in range(n):
            chain, j = {}, i
            d = 0
            while j >= 0:
                chain[j] = d
                j = self.parent[j]
                d += 1
            ancestors.append(chain)
        depth = np.array([nd.depth for nd in self.nodes])
        kernel = np.zeros((n, n))
        by_root: dict[str, list[int]] = {}
        for i, nd in enumerate(self.nodes):
            by_root.setdefault(nd.root_id, []).append(i)
        for members in by_root.values():
            for a in members:
                anc_a = ancestors[a]
                for b in members:
                    # distance through the lowest common ancestor
                    j = b
                    while j not in anc_a:
                        j = self.parent[j]
                    dist = anc_a[j] + (depth[b] - depth[j])
                    kernel[a, b] = transfer ** dist
        return kernel


_FORESTS: dict[tuple, Forest] = {}


def forest_for(sim: SimConfig, seed: int) -> Forest:
    """The same forest for every method of a seed (cached: the kernel takes a moment to build)."""
    key = (sim.roots, sim.depth, sim.min_children, sim.max_children, sim.root_difficulty, sim.root_sd,
           sim.depth_step, sim.node_sd, sim.transfer, seed)
    if key not in _FORESTS:
        _FORESTS.clear()
        _FORESTS[key] = Forest(sim, np.random.default_rng(seed))
    return _FORESTS[key]


def simulate(sim: SimConfig, method: Method, seed: int, cur: CurriculumConfig) -> dict:
    """One run; returns the per-step fraction of mastered roots and the cost to master all."""
    forest = forest_for(sim, seed)
    learner_rng = np.random.default_rng(10_000 + seed)
    cfg = replace(cur, mode=method.mode, dynamic_sampling=method.dynamic_sampling)
    sampler = CurriculumSampler(forest.nodes, cfg, seed=seed)
    dyn = DynamicSampler.from_config(sampler, cfg, sim.group_size)
    theta = np.zeros(len(forest.nodes))
    mastered_at = np.full(forest.roots.size, -1)
    curve = []
    generations = 0
    done_step = None
    for step in range(1, sim.max_steps + 1):
        p = 1.0 / (1.0 + np.exp(-(theta - forest.difficulty)))
        plan = dyn.new_batch()

        def play(ids: list[str]) -> list[float]:
            idx = np.array([forest.index[i] for i in ids])
            wins = learner_rng.binomial(sim.group_size, p[idx])
            rewards = []
            for w in wins:
                rewards += [1.0] * int(w) + [0.0] * (sim.group_size - int(w))
            return rewards

        ids = sampler.sample(sim.k)
        plan.observe(ids, play(ids))
        generations += sim.k * sim.group_size
        while more := plan.next_prompts():
            plan.observe(more, play(more))
            generations += len(more) * sim.group_size
        result = plan.finish()
        groups = [g for g in result.keep if not g.zero_variance]
        if groups:
            cols = np.array([forest.index[g.node_id] for g in groups])
            q = np.array([g.successes / sim.group_size for g in groups])
            signal = 2.0 * np.sqrt(q * (1.0 - q))
            theta += sim.lr * forest.kernel[:, cols] @ signal
        p_roots = 1.0 / (1.0 + np.exp(-(theta[forest.roots] - forest.difficulty[forest.roots])))
        newly = (p_roots >= sim.mastery) & (mastered_at < 0)
        mastered_at[newly] = step
        curve.append(float((mastered_at >= 0).mean()))
        if done_step is None and (mastered_at >= 0).all():
            done_step = step
            break
    curve += [curve[-1]] * (sim.max_steps - len(curve))
    half = next((i + 1 for i, frac in enumerate(curve) if frac >= 0.5), sim.max_steps)
    return {
        "steps": done_step if done_step is not None else sim.max_steps,
        "steps_to_half": half,
        "revisits": sampler.summary()["revisits"],
        "solved": done_step is not None,
        "generations": generations,
        "roots_mastered": int((mastered_at >= 0).sum()),
        "curve": curve,
        "dynamic_sampling": dyn.stats.as_dict(),
    }


def describe(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "min": float(a.min()), "q25": float(np.percentile(a, 25)), "median": float(np.median(a)),
            "q75": float(np.percentile(a, 75)), "max": float(a.max())}


def run_methods(sim: SimConfig, cur: CurriculumConfig, seeds: list[int], methods=METHODS) -> dict:
    by_method: dict[str, list[dict]] = {m.name: [] for m in methods}
    for s in seeds:  # seed-major, so each forest is built once
        for method in methods:
            by_method[method.name].append(simulate(sim, method, s, cur))
    out = {}
    for method in methods:
        runs = by_method[method.name]
        curves = np.array([r["curve"] for r in runs])
        out[method.name] = {
            "mode": method.mode,
            "dynamic_sampling": method.dynamic_sampling,
            "steps": describe([r["steps"] for r in runs]),
            "steps_to_half": describe([r["steps_to_half"] for r in runs]),
            "revisits": describe([r["revisits"] for r in runs]),
            "generations": describe([r["generations"] for r in runs]),
            "solved_runs": sum(r["solved"] for r in runs),
            "roots_mastered": describe([r["roots_mastered"] for r in runs]),
            "per_seed_steps": [r["steps"] for r in runs],
            "zero_variance_rate": describe([r["dynamic_sampling"]["zero_variance_rate"] for r in runs]),
            "curve_mean": curves.mean(axis=0).round(3).tolist(),
            "curve_min": curves.min(axis=0).round(3).tolist(),
            "curve_max": curves.max(axis=0).round(3).tolist(),
        }
    return out


def table(results: dict, sim: SimConfig, runs: int) -> str:
    lines = [
        "| method | steps to all roots mastered: mean ± std | median [IQR] | min-max | runs finished "
        "| roots mastered at the end | steps to half the roots: mean ± std | generations (M) mean "
        "| zero-variance groups |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        s, g = r["steps"], r["generations"]
        lines.append(
            f"| {name} | {s['mean']:.0f} ± {s['std']:.0f} | {s['median']:.0f} [{s['q25']:.0f}-{s['q75']:.0f}] "
            f"| {s['min']:.0f}-{s['max']:.0f} | {r['solved_runs']}/{runs} "
            f"| {r['roots_mastered']['mean']:.1f}/{sim.roots} "
            f"| {r['steps_to_half']['mean']:.0f} ± {r['steps_to_half']['std']:.0f} | {g['mean'] / 1e6:.2f} "
            f"| {100 * r['zero_variance_rate']['mean']:.0f}% |")
    return "\n".join(lines)


def sweep_table(rows: list[tuple[str, dict]], runs: int) -> str:
    names = list(rows[0][1])
    head = "| setting | " + " | ".join(f"{n}: mean steps (finished)" for n in names) + " |"
    lines = [head, "|---|" + "---|" * len(names)]
    for label, res in rows:
        cells = [f"{res[n]['steps']['mean']:.0f} ({res[n]['solved_runs']}/{runs})" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict, sim: SimConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    steps = np.arange(1, sim.max_steps + 1)
    for name, r in results.items():
        style = "--" if r["dynamic_sampling"] else "-"
        line, = ax.plot(steps, r["curve_mean"], style, label=name)
        ax.fill_between(steps, r["curve_min"], r["curve_max"], color=line.get_color(), alpha=0.12)
    ax.set_xlabel(f"training step ({sim.k} prompts x {sim.group_size} samples)")
    ax.set_ylabel(f"fraction of roots with true p >= {sim.mastery}")
    ax.set_title("Curriculum simulation: root mastery (mean, band = min/max over seeds)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--max-steps", type=int, default=SimConfig.max_steps)
    ap.add_argument("--no-sweep", action="store_true", help="skip the sensitivity sweep")
    ap.add_argument("--no-write", action="store_true", help="print only; write no JSON, plot or docs")
    args = ap.parse_args(argv)

    sim = SimConfig(max_steps=args.max_steps)
    cur = CurriculumConfig()  # the shipped defaults of conf/config.yaml
    seeds = list(range(args.seeds))
    t0 = time.perf_counter()
    results = run_methods(sim, cur, seeds)
    main_table = table(results, sim, len(seeds))
    print(main_table)
    sweep_rows = []
    knob_rows = []
    if not args.no_sweep:
        core = METHODS[:3]
        for label, variant, methods in (
            # Roots only never touches the tree, so transfer cannot change it: reuse the main runs.
            ("transfer 0.3 (weak)", replace(sim, transfer=0.3), core[:2]),
            ("transfer 0.7 (strong)", replace(sim, transfer=0.7), core[:2]),
            ("roots near 1% each (root_difficulty 4.6 ± 0.5, depth_step 1.8)",
             replace(sim, root_difficulty=4.6, root_sd=0.5, depth_step=1.8), core),
            ("k = 64 prompts a step", replace(sim, k=64), core),
        ):
            res = run_methods(variant, cur, seeds, methods)
            res.setdefault("roots_only", results["roots_only"])
            sweep_rows.append((label, res))
            print(f"{label}: " + ", ".join(f"{n} {r['steps']['mean']:.0f} ({r['solved_runs']}/{len(seeds)})"
                                           for n, r in res.items()))
        knob_rows.append(("shipped defaults", {"adaptive": results["adaptive"]}))
        for label, knobs in (
            ("root_probe_rate 0", replace(cur, root_probe_rate=0.0)),
            ("root_probe_rate 0.3", replace(cur, root_probe_rate=0.3)),
            ("decay 1.0 (no forgetting)", replace(cur, decay=1.0)),
            ("decay 0.9", replace(cur, decay=0.9)),
            ("band 0.3-0.7", replace(cur, band_low=0.3, band_high=0.7)),
        ):
            res = run_methods(sim, knobs, seeds, METHODS[:1])
            knob_rows.append((label, res))
            r = res["adaptive"]
            print(f"adaptive, {label}: {r['steps']['mean']:.0f} ± {r['steps']['std']:.0f}")
    elapsed = time.perf_counter() - t0
    print(f"{len(seeds)} seeds, {elapsed:.1f} s")
    if args.no_write:
        return 0

    out = REPO / "benchmarks" / "results" / "curriculum.json"
    payload = {
        "sim": asdict(sim), "curriculum": cur.to_dict(), "seeds": seeds, "seconds": round(elapsed, 1),
        "curve_stride": CURVE_STRIDE,  # curves: fraction of roots mastered after steps 1, 1+stride, ...
        "results": {n: {k: (v[::CURVE_STRIDE] if k.startswith("curve") else v) for k, v in r.items()}
                    for n, r in results.items()},
        "sweep": [{"setting": label, "results": {n: {k: v for k, v in r.items() if not k.startswith("curve")}
                                                  for n, r in res.items()}} for label, res in sweep_rows],
        "knob_sweep": [{"setting": label, "results": {n: {k: v for k, v in r.items() if not k.startswith("curve")}
                                                       for n, r in res.items()}} for label, res in knob_rows],
    }
    write_json(out, payload, indent=1)
    plot(results, sim, REPO / "docs" / "img" / "curriculum_sim.png")
    body = docs_body(results, sim, cur, seeds, main_table, sweep_rows, knob_rows, elapsed)
    replace_markdown_section(REPO / "docs" / "benchmarks.md", SECTION, body)
    print(f"wrote {out.relative_to(REPO)}, docs/img/curriculum_sim.png, docs/benchmarks.md")
    return 0


def docs_body(results, sim, cur, seeds, main_table, sweep_rows, knob_rows, seconds) -> str:
    """The markdown of this benchmark's section; the findings are computed, not hand-written."""
    r = results
    mean = {name: res["steps"]["mean"] for name, res in r.items()}
    gens = {name: res["generations"]["mean"] for name, res in r.items()}
    n = len(seeds)
    ds_a, ds_u = "adaptive + dynamic sampling", "uniform + dynamic sampling"
    findings = [
        f"- Adaptive vs uniform over the tree: {mean['adaptive']:.0f} vs {mean['uniform']:.0f} steps "
        f"({mean['uniform'] / mean['adaptive']:.1f}x fewer), and {gens['uniform'] / gens['adaptive']:.1f}x fewer "
        f"generations. Adaptive finished first on {_wins(r, 'adaptive', 'uniform')}/{n} seeds.",
        f"- Roots only finished {r['roots_only']['solved_runs']}/{n} runs within {sim.max_steps} steps "
        f"(mean {mean['roots_only']:.0f}, capped runs counted at the cap, so a lower bound); "
        f"{100 * r['roots_only']['zero_variance_rate']['mean']:.0f}% of its groups had zero variance. "
        "Roots that start near 0% give GRPO almost no signal, as in the paper's RL-without-variants ablation.",
    ]
    if ds_a in r and ds_u in r:
        findings.append(
            f"- Dynamic sampling (up to {cur.replacement_budget} replacement rounds) cuts steps for both samplers "
            f"(adaptive {mean['adaptive']:.0f} -> {mean[ds_a]:.0f}, uniform {mean['uniform']:.0f} -> {mean[ds_u]:.0f}) "
            f"but not generations (adaptive {gens['adaptive'] / 1e6:.2f}M -> {gens[ds_a] / 1e6:.2f}M, "
            f"uniform {gens['uniform'] / 1e6:.2f}M -> {gens[ds_u] / 1e6:.2f}M): it trades generation for "
            "optimiser steps, worth it where the step (not generation) is the expensive part.")
    regime = next((res for label, res in sweep_rows if label.startswith("roots near 1%")), None)
    if regime is not None:
        a, ro, u = (regime[m]["steps"]["mean"] for m in ("adaptive", "roots_only", "uniform"))
        verdict = ("roots only is competitive" if ro <= 1.25 * a else "the tree still helps")
        findings.append(
            f"- The picture depends on the regime: when every root starts near 1% (not near 0%), groups on the roots "
            f"already carry signal and {verdict} (adaptive {a:.0f}, roots only {ro:.0f}, uniform {u:.0f} steps). "
            "The variant tree pays off where the real problems are out of reach, which is LADDER's setting.")
    knob_text = []
    if knob_rows:
        knob_text = ["Adaptive sampler knobs (one change at a time from the shipped defaults, same seeds):", "",
                     "| knobs | steps to all roots: mean ± std | generations (M) |", "|---|---|---|"]
        for label, res in knob_rows:
            a = res["adaptive"]
            knob_text.append(f"| {label} | {a['steps']['mean']:.0f} ± {a['steps']['std']:.0f} "
                             f"| {a['generations']['mean'] / 1e6:.3f} |")
        knob_text.append("")
    return "\n".join([
        "Simulation, no model: `python benchmarks/curriculum.py` "
        f"({seconds:.0f} s wall-clock on the shared 2-core machine; raw numbers in `benchmarks/results/curriculum.json`). "
        "It compares the curriculum modes of `ladder_core.difficulty` on a synthetic learner "
        "(documented in the script's docstring): a latent skill per tree node, logistic success, learning only "
        "from groups with mixed rewards (as in GRPO: all-equal groups teach nothing), transfer of practice to "
        "tree neighbours damped by `transfer ** distance`, none across roots, no forgetting.",
        "",
        f"Setup: {n} seeds, each a fresh forest of {sim.roots} roots, depth {sim.depth}, "
        f"{sim.min_children}-{sim.max_children} children per node (about 850 nodes). Root difficulty on the logit "
        f"scale N({sim.root_difficulty}, {sim.root_sd}): most roots start well under 1% (the paper's base model: "
        f"pass@1 1%, pass@10 2%), each level is {sim.depth_step} easier, leaves start near 70%. A step is "
        f"{sim.k} prompts x {sim.group_size} samples; learning rate {sim.lr}, transfer {sim.transfer}; "
        f"a root is mastered at true p >= {sim.mastery}; cap {sim.max_steps} steps. Curriculum knobs are the shipped "
        "defaults of `conf/config.yaml`. Every method sees the same forests and learner per seed.",
        "",
        main_table,
        "",
        "![fraction of roots mastered vs training step, per method](img/curriculum_sim.png)",
        "",
        "Findings:",
        "",
        *findings,
        "",
        *(["Sensitivity to the simulator (same seeds; mean steps to all roots, runs finished within the cap; "
           "roots only never touches the tree, so its transfer rows repeat the main runs):", "",
           sweep_table(sweep_rows, n), ""] if sweep_rows else []),
        *knob_text,
        f"Limits: this is a model of the premise, not evidence for it. Adaptive needs fewer steps than uniform in "
        f"{_count_order(results, sweep_rows, 'adaptive', 'uniform')}, and fewer than roots only in "
        f"{_count_order(results, sweep_rows, 'adaptive', 'roots_only')}; the absolute step counts are set by the "
        "learner's learning rate and transfer, which no real run has measured yet (the tiny-model GRPO runs are "
        "the test). "
        "Zero-variance groups stay common for the adaptive sampler (root probes on out-of-reach roots, and "
        "batches of distinct prompts padded with settled nodes once the frontier is small), which is what "
        "dynamic sampling is for.",
    ])


def _count_order(results: dict, sweep_rows: list, a: str, b: str) -> str:
    """'k of n settings' (main + sweep) where method a's mean steps are below method b's."""
    settings = [results] + [res for _, res in sweep_rows]
    k = sum(res[a]["steps"]["mean"] < res[b]["steps"]["mean"] for res in settings if a in res and b in res)
    return f"{k} of {len(settings)} simulator settings"


def _wins(results: dict, a: str, b: str) -> int:
    return sum(x < y for x, y in zip(results[a]["per_seed_steps"], results[b]["per_seed_steps"]))


if __name__ == "__main__":
    raise SystemExit(main())
