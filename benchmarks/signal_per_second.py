"""Signal per second: useful GRPO groups trained per second, ladder's trainer vs plain TRL, in one run.

A group is *useful* when it reaches the loss with a non-zero advantage (its
completions' total rewards differ); a zero-variance group costs a generation
and teaches nothing. Every arm trains the embedded integration model on the
same variant forest (built once by the pipeline's ``variants`` stage), with
the same ``GRPOConfig`` (batch, group size, learning rate, seed) and the domain
reward, for ``--steps`` steps, one after the other in this process:

* ``trl``: TRL's ``GRPOTrainer`` over the forest, shuffled (what a user gets without ladder);
* ``ladder_nodyn``: ladder's trainer (curriculum sampler), dynamic sampling off;
* ``ladder``: ladder's trainer as shipped (curriculum + dynamic sampling).

Per arm: seconds per step, useful groups per step and per second, the
zero-variance share of generated groups, completions generated per trained
one, and where a step's time goes (generation, reward, log-prob forward,
the rest = loss/backward/optimizer). Prints a table, writes
``benchmarks/results/signal.json``; ``--write-docs`` updates the "Signal per
second" section of ``docs/benchmarks.md``. The machine is shared and noisy:
compare ratios within one run.

    python benchmarks/signal_per_second.py --steps 20 --write-docs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from _report import replace_markdown_section, write_json  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "results" / "signal.json"
ARMS = ("trl", "ladder_nodyn", "ladder")
PHASES = {"_generate": "generate", "_calculate_rewards": "reward",
          "_get_per_token_logps_and_entropies": "logprob_forward"}


def build_forest(overrides: list[str], run_dir: Path) -> tuple[Any, Any, list[Any]]:
    from ladder_core.config import register_plugin_configs
    from ladder_core.pipeline.context import RunContext
    from ladder_core.pipeline.runner import run_pipeline
    from ladder_core.pipeline.stages import _load_nodes
    from ladder_core.plugins import PluginHost, create_plugin_manager
    from ladder_core.testing.compose import compose_config

    host = PluginHost(create_plugin_manager())
    register_plugin_configs(host)
    cfg = compose_config(host, ["+domain=integration", "pipeline.stages=[variants]", *overrides], run_dir=run_dir)
    run_pipeline(cfg, host)
    ctx = RunContext(cfg=cfg, host=host, run_dir=run_dir)
    return cfg, ctx, _load_nodes(ctx)


def counting(base: type) -> type:
    """``base`` plus counters: useful groups in what reaches the loss, completions generated, phase times."""

    class Counting(base):  # type: ignore[misc, valid-type]
        def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
            output = super()._generate_and_score_completions(inputs)
            if self.model.training:
                group = self.num_generations
                adv = output["advantages"].view(-1, group)
                mask = output["completion_mask"].view(adv.shape[0], group, -1).sum(dim=(1, 2))
                # equal rewards leave float noise (~1e-4 after std scaling); a real spread gives |adv| >~ 0.3
                self.bench["useful_groups"] += int(((adv.abs().amax(dim=1) > 1e-2) & (mask > 0)).sum())
                self.bench["trained_groups"] += adv.shape[0]
            return output

    return Counting


def time_phases(trainer: Any) -> None:
    for method, phase in PHASES.items():
        original = getattr(trainer, method)

        def timed(*args: Any, _original: Any = original, _phase: str = phase, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                trainer.bench[f"seconds_{_phase}"] += time.perf_counter() - start
                if _phase == "generate":
                    trainer.bench["completions_generated"] += len(args[0]) if args else 0

        setattr(trainer, method, timed)


def run_arm(arm: str, cfg: Any, ctx: Any, nodes: list[Any], steps: int, out: Path) -> dict[str, Any]:
    import torch
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from ladder_core.models import load_policy
    from ladder_core.prompting import PromptFormat
    from ladder_core.records import Problem
    from ladder_core.training.grpo import LadderGRPOTrainer, TrainingMonitor, build_dataset, grpo_config
    from ladder_core.training.rewards import DomainReward, RewardValues
    from ladder_core.training.run import make_curriculum

    torch.manual_seed(int(cfg.seed))
    if cfg.trainer.get("torch_threads"):
        torch.set_num_threads(int(cfg.trainer.torch_threads))
    domain = ctx.domain
    model, tokenizer = load_policy(cfg.model, device="cpu")
    fmt = PromptFormat.from_config(cfg)
    dataset = build_dataset(nodes, lambda n: fmt.trl_prompt(domain, Problem(id=n.id, text=n.text)))
    args = grpo_config(cfg, out / arm, max_steps=steps)
    args.save_strategy = "no"
    args.report_to = []
    args.disable_tqdm = True
    curriculum = make_curriculum(cfg, nodes, seed=int(cfg.seed))
    monitor = TrainingMonitor(curriculum=curriculum, depth_of={n.id: n.depth for n in nodes})
    reward = DomainReward(domain, RewardValues.from_config(cfg.reward), observers=[monitor])
    step_times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            step_times.append(time.perf_counter() - self.t)

    common = dict(model=model, reward_funcs=[reward], args=args, train_dataset=dataset, processing_class=tokenizer,
                  callbacks=[Timer()])
    if arm == "trl":
        args.shuffle_dataset = True
        trainer = counting(GRPOTrainer)(**common)
    else:
        trainer = counting(LadderGRPOTrainer)(
            **common, curriculum=curriculum, monitor=monitor, dynamic_sampling=arm == "ladder",
            replacement_budget=int(cfg.curriculum.replacement_budget),
            max_prompt_length=cfg.model.get("max_prompt_length"))
    trainer.bench = defaultdict(float)
    time_phases(trainer)
    trainer.train()
    seconds = sum(step_times)
    b = trainer.bench
    generated_groups = b["completions_generated"] / int(cfg.trainer.num_generations)
    row: dict[str, Any] = {
        "arm": arm, "steps": len(step_times), "seconds": round(seconds, 2),
        "seconds_per_step": seconds / max(1, len(step_times)),
        "useful_groups": int(b["useful_groups"]), "trained_groups": int(b["trained_groups"]),
        "useful_groups_per_s": b["useful_groups"] / seconds if seconds else 0.0,
        "useful_share_trained": b["useful_groups"] / max(1, b["trained_groups"]),
        "generated_per_trained": generated_groups / max(1, b["trained_groups"]),
        "phase_seconds": {p: round(b[f"seconds_{p}"], 2) for p in PHASES.values()},
    }
    row["phase_seconds"]["rest"] = round(seconds - sum(row["phase_seconds"].values()), 2)
    if arm != "trl":
        row["dynamic_sampling"] = trainer.ladder_counters.as_dict()
    return row


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    base = next(r for r in rows if r["arm"] == "trl")
    lines = [
        f"Measured with `{command}` (CPU, 2 shared cores; ratios within one run).",
        "",
        "| arm | s/step | useful groups/step | useful groups/s | x TRL | useful share | generated/trained "
        "| generate | reward | logprob fwd | rest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ph = r["phase_seconds"]
        total = max(1e-9, r["seconds"])
        lines.append(
            f"| {r['arm']} | {r['seconds_per_step']:.2f} | {r['useful_groups'] / max(1, r['steps']):.2f} "
            f"| {r['useful_groups_per_s']:.3f} "
            f"| {r['useful_groups_per_s'] / max(1e-9, base['useful_groups_per_s']):.2f} "
            f"| {r['useful_share_trained']:.0%} | {r['generated_per_trained']:.2f} | "
            + " | ".join(f"{100 * ph[p] / total:.0f}%" for p in ("generate", "reward", "logprob_forward", "rest"))
            + " |")
    ladder = next((r for r in rows if r["arm"] == "ladder"), None)
    gen = [100 * r["phase_seconds"]["generate"] / max(1e-9, r["seconds"]) for r in rows]
    lines += [
        "",
        "A *useful* group reaches the loss with a non-zero advantage (its completions' total rewards differ). "
        "Every arm trains the embedded model on the same variant forest with the same `GRPOConfig` "
        "(`trainer=cpu`: 8 prompts x 8 completions a step) and the domain reward: `trl` is plain TRL "
        "`GRPOTrainer` over the forest, shuffled; `ladder_nodyn` is ladder's trainer (curriculum) without "
        "dynamic sampling; `ladder` is the shipped trainer. \"generated/trained\" counts completions "
        "generated (replacement rounds included) per completion trained on. The last four columns split the "
        "step time: generation, reward (verification), log-prob forward passes (reference model, old policy), "
        "and the rest (loss forward/backward, optimizer).",
        "",
        f"Generation dominates every step ({min(gen):.0f}-{max(gen):.0f}% of the time, HF `generate` of 64 "
        "completions of up to 48 tokens by a 3.5M-parameter model on two shared cores); the reward (verification) "
        "is a few percent at most. Not profiled below the method level.",
    ]
    if ladder is not None:
        ds = ladder.get("dynamic_sampling", {})
        lines += [
            "",
            f"Dynamic sampling: {ds.get('zero_variance', 0):.0f} of {ds.get('groups_seen', 0):.0f} generated groups "
            f"had zero variance; {ds.get('replaced', 0):.0f} slots were refilled and "
            f"{ds.get('dropped_unreplaced', 0):.0f} dropped from the loss, for {ds.get('extra_generations', 0):.0f} "
            "extra completions. Replacement rounds generate only the replacement prompts, in one batch per round, "
            "and skip nodes that came back zero-variance in the last two batches.",
        ]
    lines += [
        "",
        "Note: TRL's own `frac_reward_zero_std` undercounts dead groups when rewards are not exactly "
        "representable (1.05 for a verified answer): float32 noise leaves a std near 1e-7, which "
        "`torch.isclose(std, 0)` does not call zero, and such groups get advantages of about 1e-3 "
        "instead of 0. The counts above use the advantages (|adv| > 0.01) and, for dynamic sampling, exact "
        "equality of the total rewards.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--overrides", nargs="*", default=[], help="extra Hydra overrides for every arm")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    command = "python benchmarks/signal_per_second.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        cfg, ctx, nodes = build_forest(list(args.overrides), Path(tmp) / "run")
        rows = []
        for arm in [a for a in args.arms.split(",") if a]:
            rows.append(run_arm(arm, cfg, ctx, nodes, args.steps, Path(tmp)))
            print(f"{arm}: {rows[-1]}", file=sys.stderr)
        ctx.close()
    write_json(RESULTS, {"command": command, "nodes": len(nodes), "rows": rows})
    table = markdown(rows, command) if any(r["arm"] == "trl" for r in rows) else str(rows)
    print(table)
    if args.write_docs:
        replace_markdown_section(ROOT / "docs" / "benchmarks.md", "## Signal per second", table)


if __name__ == "__main__":
    main()
