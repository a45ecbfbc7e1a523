"""One GRPO run on a set of tree nodes: used by the training stage and by each TTRL problem."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ladder_core.artifacts import RewardFaultsCheckpoint, TrainStep, TrainSummary, read_jsonl, write_json
from ladder_core.console import install_console_progress
from ladder_core.deadlines import PluginDeadlines
from ladder_core.domain import Domain
from ladder_core.hookspecs import TrainStepInfo
from ladder_core.plugins import PluginHost
from ladder_core.prompting import PromptFormat
from ladder_core.records import Problem, TreeNode
from ladder_core.training.grpo import (
    LadderCallback,
    LadderGRPOTrainer,
    TrainingMonitor,
    build_dataset,
    grpo_config,
    restore_curriculum,
    truncate_log,
)
from ladder_core.training.checkpoints import AttemptLedger, latest_valid_checkpoint, read_checkpoint_json
from ladder_core.training.rewards import DomainReward, RewardValues

REWARD_FAULTS_FILE = "ladder_reward_faults.json"

log = logging.getLogger(__name__)


def make_curriculum(cfg: Any, nodes: Sequence[TreeNode], seed: int, mode: str | None = None) -> Any:
    from ladder_core.difficulty.config import CurriculumConfig
    from ladder_core.difficulty.sampler import CurriculumSampler

    config = CurriculumConfig.from_cfg(cfg.curriculum)
    if mode is not None:
        config = CurriculumConfig.from_dict({**config.to_dict(), "mode": mode})
    return CurriculumSampler(nodes, config, seed=seed)


def extra_reward_functions(cfg: Any, domain: Domain, host: PluginHost | None) -> tuple[list[Any], list[float]]:
    names = list(cfg.reward.get("extra") or [])
    if not names:
        return [], []
    specs = (host.reward_functions() if host else {})
    funcs, weights = [], []
    for name in names:
        if name not in specs:
            raise ValueError(f"unknown reward function {name!r}; installed: {', '.join(sorted(specs)) or '(none)'}")
        if specs[name].domains and domain.name not in specs[name].domains:
            log.warning("reward function %r is restricted to domain(s) %s: not applied to this %r run",
                        name, ", ".join(specs[name].domains), domain.name)
            continue
        funcs.append(specs[name].factory(domain, cfg.reward))
        weights.append(float((cfg.reward.get("weights") or {}).get(name, 1.0)))
    return funcs, weights


def train_on_nodes(
    cfg: Any,
    domain: Domain,
    nodes: Sequence[TreeNode],
    model: Any,
    tokenizer: Any,
    out_dir: Path,
    *,
    stage: str = "train",
    max_steps: int | None = None,
    host: PluginHost | None = None,
    watch: Sequence[str] = (),
    resume: bool = True,
    save_checkpoints: bool = True,
    curriculum_mode: str | None = None,
    on_step: Callable[[int, TrainStep], None] | None = None,
    run_dir: Path | None = None,
    problem_id: str | None = None,
) -> tuple[TrainSummary, Any]:
    """Run GRPO on ``nodes`` with the curriculum; write ``log.jsonl`` and checkpoints under ``out_dir``.

    Returns the result record and the trainer (whose ``model`` holds the
    trained weights, peft-wrapped when LoRA is on).

    ``watch``: node ids (TTRL: the test problem itself) whose first verified
    solve is recorded and stops training early. ``run_dir`` and
    ``problem_id`` (TTRL: the test problem) are passed on to observer plugins.
    """
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out_dir / "checkpoints"
    log_path = out_dir / "log.jsonl"
    fmt = PromptFormat.from_config(cfg)
    dataset = build_dataset(nodes, lambda n: fmt.trl_prompt(domain, Problem(id=n.id, text=n.text)))
    curriculum = make_curriculum(cfg, nodes, seed=int(cfg.seed), mode=curriculum_mode)

    from accelerate.utils import gather_object

    from ladder_core.training.distributed import process_state

    state = process_state(cfg)
    monitor = TrainingMonitor(
        curriculum=curriculum, depth_of={n.id: n.depth for n in nodes},
        gather=(lambda rows: gather_object(rows)) if state.num_processes > 1 else (lambda rows: rows),
        watch=set(watch),
    )
    reward = DomainReward(domain, RewardValues.from_config(cfg.reward), observers=[monitor],
                          deadlines=PluginDeadlines.of(cfg))
    extra_funcs, extra_weights = extra_reward_functions(cfg, domain, host)
    extra_funcs = [reward.guard(f) for f in extra_funcs]
    args = grpo_config(cfg, ckpt_dir, num_processes=state.num_processes, max_steps=max_steps)
    if not save_checkpoints:
        args.save_strategy = "no"
    if extra_funcs:
        args.reward_weights = [1.0, *extra_weights]
    if cfg.trainer.get("torch_threads"):
        torch.set_num_threads(int(cfg.trainer.torch_threads))

    trainer = LadderGRPOTrainer(
        model=model,
        reward_funcs=[reward, *extra_funcs],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft(cfg),
        curriculum=curriculum,
        monitor=monitor,
        dynamic_sampling=bool(cfg.curriculum.dynamic_sampling),
        replacement_budget=int(cfg.curriculum.replacement_budget),
        max_prompt_length=cfg.model.get("max_prompt_length"),
    )

    def notify(step: int, record: TrainStep) -> None:
        if host is not None:
            host.train_step_end(TrainStepInfo(stage=stage, step=step, log=record,
                                              run_dir=run_dir if run_dir is not None else out_dir,
                                              problem_id=problem_id))
        if on_step is not None:
            on_step(step, record)

    callback = LadderCallback(stage=stage, log_path=log_path, monitor=monitor, curriculum=curriculum,
                              counters=lambda: trainer.ladder_counters, on_step=notify,
                              stop_when_watched_solved=bool(watch), faults=reward.faults.take_step)
    trainer.add_callback(callback)
    trainer.ladder_checkpoint_writers = [
        callback.write_checkpoint_state,
        lambda path: write_json(path / REWARD_FAULTS_FILE, RewardFaultsCheckpoint(
            faults=reward.faults.totals(), checks=reward.stats.checks))]
    install_console_progress(trainer, desc=stage)

    if float(cfg.trainer.anchor_weight) > 0:
        from ladder_core.training.anchor import ANCHOR_FILE, build_anchor

        if not resume and (out_dir / ANCHOR_FILE).exists():
            (out_dir / ANCHOR_FILE).unlink()
        trainer.ladder_anchor = build_anchor(trainer, domain, nodes, out_dir / ANCHOR_FILE,
                                             weight=float(cfg.trainer.anchor_weight),
                                             batch=int(cfg.trainer.anchor_batch), seed=int(cfg.seed),
                                             deadlines=PluginDeadlines.of(cfg))
    checkpoint = latest_valid_checkpoint(ckpt_dir) if resume else None
    if checkpoint:
        restore_curriculum(checkpoint, curriculum, trainer.ladder_counters)
        saved = read_checkpoint_json(checkpoint, REWARD_FAULTS_FILE, RewardFaultsCheckpoint)
        if saved is not None:
            reward.faults.restore(saved.faults)
            reward.stats.checks += saved.checks
        truncate_log(log_path, int(checkpoint.name.split("-")[-1]))
        log.info("resuming %s from %s", stage, checkpoint)
    elif log_path.exists():
        log_path.unlink()
    ledger = AttemptLedger(out_dir / "train_attempts.json")
    ledger.start(fresh=not resume)
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:
        seconds = ledger.stop()
    rewards = [r.reward for r in read_jsonl(log_path, TrainStep) if r.reward is not None]
    result = TrainSummary(
        steps=int(trainer.state.global_step),
        seconds=round(seconds, 2),
        reward_first=rewards[0] if rewards else None,
        reward_last=rewards[-1] if rewards else None,
        dynamic_sampling=trainer.ladder_counters.as_dict(),
        reward_failures=reward.faults.totals(),
        reward_checks=reward.stats.checks,
        attempts=ledger.attempts,
        final_depth_success={str(k): v for k, v in curriculum.depth_success().items()},
        first_solved_step=dict(monitor.first_solved_step),
        solved_nodes=sorted(monitor.solved_nodes),
        anchor_examples=len(trainer.ladder_anchor) if trainer.ladder_anchor is not None else 0,
    )
    return result, trainer


def _peft(cfg: Any) -> Any:
    from ladder_core.models import lora_config

    return lora_config(cfg.model)
