"""GRPO on a variant tree with TRL's ``GRPOTrainer``, plus what TRL lacks.

TRL gives us generation (HF, continuous batching or vLLM), the GRPO loss, KL,
LoRA, checkpoints and multi-GPU through accelerate. We add, by subclassing
rather than forking:

* a curriculum: the train sampler asks :class:`~ladder_core.difficulty.sampler.CurriculumSampler`
  which tree nodes to train on next, and the reward function feeds every
  group's successes back to it (gathered across ranks, so every rank's sampler
  stays identical);
* dynamic sampling (DAPO): groups whose rewards are all equal carry no
  advantage; they are replaced by freshly generated groups for other nodes,
  within ``curriculum.replacement_budget`` extra generation rounds, and the
  rest are dropped from the loss. Counted in the logs;
* a reward that never stops training (see :mod:`ladder_core.training.rewards`);
* a JSONL step log, observer hooks and curriculum state saved in checkpoints.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Sampler
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from ladder_core.artifacts import CurriculumCheckpoint, TrainStep, append_jsonl, read_jsonl, write_json, write_jsonl
from ladder_core.difficulty.dynamic_sampling import DynamicSamplingStats
from ladder_core.records import TreeNode
from ladder_core.training.anchor import GreedyAnchor
from ladder_core.training.checkpoints import AtomicCheckpointMixin, read_checkpoint_json
from ladder_core.training.distributed import timeout_seconds
from ladder_core.training.rewards import ScoredBatch

log = logging.getLogger(__name__)

CURRICULUM_STATE_FILE = "ladder_curriculum.json"
_CHECKPOINTING_ARG = ("activation_checkpointing" if "activation_checkpointing" in GRPOConfig.__dataclass_fields__
                      else "gradient_checkpointing")


def grpo_config(cfg: Any, output_dir: Path, *, num_processes: int = 1, max_steps: int | None = None) -> GRPOConfig:
    """Translate ``cfg.trainer`` and ``cfg.model`` into a ``GRPOConfig``, with a clear batch-size error."""
    tr = cfg.trainer
    group = int(tr.num_generations)
    prompts_per_step = int(tr.prompts_per_step)
    completions = prompts_per_step * group
    per_device = min(int(tr.get("per_device_batch_size", completions)), completions)
    if per_device % group and group % per_device:
        raise ValueError(f"trainer.per_device_batch_size={per_device} must be a multiple or a divisor of "
                         f"trainer.num_generations={group}")
    denominator = per_device * num_processes
    if completions % denominator:
        raise ValueError(
            f"trainer.prompts_per_step * trainer.num_generations = {completions} completions per step must be "
            f"divisible by per_device_batch_size * processes = {per_device} * {num_processes}; "
            f"change trainer.per_device_batch_size or trainer.prompts_per_step")
    device = str(tr.get("device", "auto"))
    extra = dict(tr.get("extra") or {})
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        max_steps=int(max_steps if max_steps is not None else tr.max_steps),
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=completions // denominator,
        num_generations=group,
        max_completion_length=int(cfg.model.max_completion_length),
        learning_rate=float(tr.learning_rate),
        beta=float(tr.beta),
        temperature=float(tr.temperature),
        loss_type=str(tr.loss_type),
        scale_rewards=str(tr.scale_rewards),
        num_iterations=int(tr.get("num_iterations", 1)),
        mask_truncated_completions=bool(tr.get("mask_truncated_completions", False)),
        bf16=bool(tr.bf16),
        use_vllm=bool(tr.use_vllm),
        vllm_mode=str(tr.vllm_mode),
        vllm_gpu_memory_utilization=float(tr.vllm_gpu_memory_utilization),
        use_transformers_continuous_batching=bool(tr.get("use_transformers_continuous_batching", False)),
        save_steps=int(tr.save_steps),
        save_total_limit=int(tr.save_total_limit) if tr.get("save_total_limit") else None,
        logging_steps=int(tr.logging_steps),
        report_to=list(tr.report_to) if tr.report_to else "none",
        seed=int(cfg.seed),
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        ignore_data_skip=True,  # the curriculum sampler is stateful; skipping batches on resume would be wrong
        remove_unused_columns=False,
        shuffle_dataset=False,
        disable_tqdm=False,
        save_only_model=False,
        ddp_timeout=timeout_seconds(cfg),
    )
    # transformers 5 renamed the argument (the old name raises a FutureWarning); 4.x knows only the old one.
    kwargs[_CHECKPOINTING_ARG] = bool(tr.gradient_checkpointing)
    kwargs.update(extra)
    return GRPOConfig(**kwargs)


def build_dataset(nodes: Sequence[TreeNode], render_prompt: Callable[[TreeNode], Any]) -> Any:
    """A ``datasets.Dataset`` of every trainable node; the sampler picks rows by node id."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": render_prompt(n), "node_id": n.id, "problem_id": n.id, "problem_text": n.text, "depth": n.depth}
        for n in nodes
    ])


class CurriculumRepeatSampler(Sampler[int]):
    """TRL's ``RepeatSampler`` layout, with prompts chosen by the curriculum instead of a shuffle.

    For each generation batch it asks the curriculum for ``prompts`` node ids,
    then yields each row ``num_generations`` times, the whole chunk
    ``repeat_count`` times (TRL reuses a generation batch across gradient
    accumulation steps and ``num_iterations``). Infinite: training length is
    ``max_steps``.
    """

    def __init__(self, curriculum: Any, row_of: dict[str, int], prompts: int, num_generations: int,
                 repeat_count: int) -> None:
        self.curriculum = curriculum
        self.row_of = row_of
        self.prompts = prompts
        self.num_generations = num_generations
        self.repeat_count = repeat_count

    def __iter__(self) -> Iterator[int]:
        while True:
            rows = [self.row_of[i] for i in self.curriculum.sample(self.prompts)]
            for _ in range(self.repeat_count):
                for row in rows:
                    for _ in range(self.num_generations):
                        yield row


@dataclass
class TrainingMonitor:
    """Observer of every scored batch: feeds the curriculum, keeps per-step statistics."""

    curriculum: Any
    depth_of: dict[str, int]
    gather: Callable[[list[Any]], list[Any]] = field(default=lambda x: x)
    step_rewards: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    solved_nodes: set[str] = field(default_factory=set)
    watch: set[str] = field(default_factory=set)  # node ids whose first solve stops training (TTRL)
    first_solved_step: dict[str, int] = field(default_factory=dict)
    step: int = 0

    def __call__(self, batch: ScoredBatch) -> None:
        rows = self.gather(list(zip(batch.node_ids, batch.correct, batch.rewards)))
        successes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for node_id, ok, reward in rows:
            successes[node_id][0] += int(ok)
            successes[node_id][1] += 1
            self.step_rewards[self.depth_of.get(node_id, 0)].append(float(reward))
            if ok:
                self.solved_nodes.add(node_id)
                if node_id in self.watch and node_id not in self.first_solved_step:
                    self.first_solved_step[node_id] = self.step + 1
        for node_id, (ok, n) in successes.items():
            self.curriculum.update(node_id, ok, n)

    def pop_step_stats(self) -> dict[str, float]:
        stats = {str(d): sum(v) / len(v) for d, v in sorted(self.step_rewards.items()) if v}
        self.step_rewards.clear()
        return stats

    @property
    def watched_solved(self) -> bool:
        return bool(self.watch) and self.watch <= set(self.first_solved_step)


def _pad_to(t: torch.Tensor, width: int, left: bool, value: float) -> torch.Tensor:
    extra = width - t.shape[1]
    if extra <= 0:
        return t
    pad = torch.full((t.shape[0], extra, *t.shape[2:]), value, dtype=t.dtype, device=t.device)
    return torch.cat([pad, t] if left else [t, pad], dim=1)


_LEFT_PADDED = {"prompt_ids", "prompt_mask"}
_RIGHT_PADDED = {"completion_ids", "completion_mask", "old_per_token_logps", "ref_per_token_logps",
                 "sampling_per_token_logps", "importance_sampling_ratio", "tool_mask"}
_PER_ROW = {"advantages"}


def splice_rows(base: dict[str, Any], repl: dict[str, Any], base_rows: list[int], repl_rows: list[int],
                pad_token_id: int) -> dict[str, Any] | None:
    """Copy rows ``repl_rows`` of ``repl`` over rows ``base_rows`` of ``base`` (re-padding as needed).

    Returns ``None`` when a key is not understood (multimodal inputs...), in
    which case the caller falls back to dropping groups.
    """
    out = dict(base)
    for key, value in base.items():
        if key == "num_items_in_batch":
            continue
        if not isinstance(value, torch.Tensor) or key not in (_LEFT_PADDED | _RIGHT_PADDED | _PER_ROW):
            return None
        other = repl.get(key)
        if other is None:
            return None
        if key in _PER_ROW:
            merged = value.clone()
        else:
            width = max(value.shape[1], other.shape[1])
            fill = pad_token_id if key.endswith("_ids") else (1.0 if key == "importance_sampling_ratio" else 0)
            left = key in _LEFT_PADDED
            merged = _pad_to(value, width, left, fill).clone()
            other = _pad_to(other, width, left, fill)
        merged[base_rows] = other[repl_rows].to(merged.dtype)
        out[key] = merged
    return out


class LadderGRPOTrainer(AtomicCheckpointMixin, GRPOTrainer):
    """``GRPOTrainer`` with a curriculum sampler and dynamic sampling (see module docstring).

    Dynamic sampling is :class:`~ladder_core.difficulty.dynamic_sampling.DynamicSampler`,
    fed explicitly with the weighted total reward of every completion of the
    *global* batch (TRL gathers rewards across ranks before computing
    advantages; we read them from that same call), so every rank takes the same
    decision. The private TRL methods overridden here are guarded by
    ``tests/test_trl_contract.py``; the checkpoint ones by ``tests/test_checkpoints.py``.
    """

    def __init__(self, *args: Any, curriculum: Any, monitor: TrainingMonitor,
                 dynamic_sampling: bool = True, replacement_budget: int = 2, max_prompt_length: int | None = None,
                 **kwargs: Any) -> None:
        from ladder_core.difficulty.dynamic_sampling import DynamicSampler

        if max_prompt_length is not None and int(max_prompt_length) < 1:
            raise ValueError(f"model.max_prompt_length must be >= 1 or null, got {max_prompt_length}")
        self.ladder_max_prompt_length = int(max_prompt_length) if max_prompt_length else None
        self.ladder_truncated_prompts = 0
        self.ladder_curriculum = curriculum
        self.ladder_monitor = monitor
        self._ladder_captured: list[torch.Tensor] | None = None
        args_ = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        if args_ is not None and args_.use_vllm and args_.vllm_mode == "colocate":
            # One engine per process: every trainer of the run (TTRL builds one per problem) reuses it.
            from ladder_core.generation.engine import reuse_engine_for_trl

            with reuse_engine_for_trl():
                super().__init__(*args, **kwargs)
        else:
            super().__init__(*args, **kwargs)
        # The curriculum's estimates are fed by the monitor (domain verdicts), not by reward thresholds.
        self.ladder_dynamic = DynamicSampler(curriculum, self.num_generations, replacement_budget=replacement_budget,
                                             enabled=dynamic_sampling, update_estimates=False)
        self.ladder_row_of = {row["node_id"]: i for i, row in enumerate(self.train_dataset)}
        #: set by :func:`ladder_core.training.run.train_on_nodes` when ``trainer.anchor_weight`` > 0
        self.ladder_anchor: GreedyAnchor | None = None
        self._ladder_anchor_calls = 0

    @property
    def ladder_counters(self) -> DynamicSamplingStats:
        return self.ladder_dynamic.stats

    # ---------------------------------------------------------------- sampling
    def _get_train_sampler(self, dataset: Any = None) -> Sampler:
        prompts = self.args.generation_batch_size // self.num_generations
        return CurriculumRepeatSampler(
            self.ladder_curriculum, self.ladder_row_of, prompts, self.num_generations,
            repeat_count=self.num_iterations * self.args.steps_per_generation,
        )

    def _tokenize_prompts(self, prompts: list) -> Any:
        """TRL's tokenization, then prompts longer than ``model.max_prompt_length`` tokens are cut from the left.

        The left cut keeps the end of the prompt (the question and the generation prompt), as TRL did
        before it dropped its own ``max_prompt_length``.
        """
        prompt_ids, images, multimodal_fields = super()._tokenize_prompts(prompts)
        limit = self.ladder_max_prompt_length
        if limit is not None and any(len(ids) > limit for ids in prompt_ids):
            if multimodal_fields:
                raise ValueError("model.max_prompt_length cannot cut multimodal prompts; set it to null")
            cut = sum(len(ids) > limit for ids in prompt_ids)
            if not self.ladder_truncated_prompts:
                log.warning("prompts longer than model.max_prompt_length=%d tokens are cut from the left", limit)
            self.ladder_truncated_prompts += cut
            prompt_ids = [list(ids)[-limit:] for ids in prompt_ids]
        return prompt_ids, images, multimodal_fields

    # ------------------------------------------------------------ the anchor
    def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        """TRL's GRPO loss, plus ``anchor_weight`` x the greedy anchor's NLL (:mod:`ladder_core.training.anchor`)."""
        loss = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                    num_items_in_batch=num_items_in_batch)
        anchor = self.ladder_anchor
        if anchor is None or not len(anchor) or not model.training:
            return loss
        self._ladder_anchor_calls += 1
        key = f"{self.state.global_step}:{self._ladder_anchor_calls}:{self.accelerator.process_index}"
        pad = self.processing_class.pad_token_id
        nll = anchor.nll(model, anchor.draw(key), pad if pad is not None else 0)
        self._metrics["train"]["anchor_nll"].append(float(nll.detach()))
        return loss + anchor.weight * nll

    # ------------------------------------------------------- dynamic sampling
    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if self._ladder_captured is not None:
            self._ladder_captured.append(rewards_per_func)
        return rewards_per_func

    def _score_round(self, inputs: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str], list[float]]:
        """TRL's generate-and-score on local ``inputs``; plus, for the global batch, one node id per group
        and the weighted total reward of every completion."""
        from accelerate.utils import gather_object

        from ladder_core.difficulty.dynamic_sampling import total_rewards

        self._ladder_captured = []
        try:
            output = super()._generate_and_score_completions(inputs)
            captured = self._ladder_captured
        finally:
            self._ladder_captured = None
        if len(captured) != 1:
            raise RuntimeError(f"TRL called _calculate_rewards {len(captured)} times in one "
                               "_generate_and_score_completions (expected once): the installed TRL is outside the "
                               "range ladder supports (see pyproject.toml and tests/test_trl_contract.py)")
        per_func = captured[0].detach().float().cpu().tolist()
        weights = self.reward_weights.detach().float().cpu().tolist()
        node_ids = [row["node_id"] for row in inputs]
        if self.accelerator.num_processes > 1:
            node_ids = gather_object(node_ids)
        group = self.num_generations
        if any(len(set(node_ids[g:g + group])) != 1 for g in range(0, len(node_ids), group)):
            raise RuntimeError("a group of completions mixes prompts: TRL's sampler layout changed")
        return output, node_ids[::group], total_rewards(per_func, weights, group)

    def _log_snapshot(self) -> tuple[dict[str, int], dict[str, Any]]:
        """What TRL has logged so far (metric list lengths, completion tables), to roll replacement rounds back."""
        metrics = {k: len(v) for k, v in self._metrics["train"].items() if k != "num_tokens"}
        tables = {k: ({kk: list(vv) for kk, vv in v.items()} if isinstance(v, dict) else list(v))
                  for k, v in self._logs.items()}
        return metrics, tables

    def _restore_logs(self, snapshot: tuple[dict[str, int], dict[str, Any]]) -> None:
        """Keep replacement rounds out of TRL's logged reward and completion tables (the batch as first drawn).

        ``num_tokens`` keeps counting them: those tokens were really generated.
        """
        metrics, tables = snapshot
        for key, values in self._metrics["train"].items():
            if key != "num_tokens":
                del values[metrics.get(key, 0):]
        for key, value in self._logs.items():
            saved = tables.get(key, {} if isinstance(value, dict) else [])
            if isinstance(value, dict):
                for sub, deq in value.items():
                    deq.clear()
                    deq.extend(saved.get(sub, []))
            else:
                value.clear()
                value.extend(saved)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if not self.model.training:
            return super()._generate_and_score_completions(inputs)
        group = self.num_generations
        processes = self.accelerator.num_processes
        rank = self.accelerator.process_index
        output, node_ids, totals = self._score_round(inputs)
        # Replacements fill slots on their own rank only, so each rank must own whole groups.
        whole_groups = len(inputs) % group == 0
        plan = self.ladder_dynamic.new_batch(shards=processes if whole_groups else 1,
                                             replace=whole_groups or processes == 1)
        plan.observe(node_ids, totals)
        snapshot = self._log_snapshot() if self.ladder_dynamic.enabled else None
        rounds: dict[int, dict[str, Any]] = {}
        while more := plan.next_prompts():
            per_rank = len(more) // processes
            mine = more[rank * per_rank:(rank + 1) * per_rank]
            repl_inputs = [self.train_dataset[self.ladder_row_of[i]] for i in mine for _ in range(group)]
            repl_output, repl_ids, repl_totals = self._score_round(repl_inputs)
            if repl_ids != more:
                raise RuntimeError("replacement round gathered out of order across ranks")
            plan.observe(more, repl_totals)
            rounds[plan.rounds_used] = repl_output
        if rounds and snapshot is not None:
            self._restore_logs(snapshot)
        result = plan.finish()
        if not self.ladder_dynamic.enabled:
            return output
        local_groups = len(inputs) // group if whole_groups else 0
        for round_index, repl_output in rounds.items():
            local_repl = len(repl_output["advantages"]) // group
            pairs = [(slot - rank * local_groups, ref.index - rank * local_repl)
                     for slot, ref in result.assignments if ref.round == round_index
                     and plan.shard_of(ref) == rank]
            if not pairs:
                continue
            base_rows = [s * group + j for s, _ in pairs for j in range(group)]
            repl_rows = [r * group + j for _, r in pairs for j in range(group)]
            merged = splice_rows(output, repl_output, base_rows, repl_rows, self.processing_class.pad_token_id)
            if merged is None:
                raise RuntimeError(f"cannot splice replacement rows into TRL's batch (keys {sorted(output)}); "
                                   "set curriculum.dynamic_sampling=false for this model")
            output = merged
        lo, hi = rank * len(inputs), (rank + 1) * len(inputs)
        rows = [r - lo for g in result.unfilled for r in range(g * group, (g + 1) * group) if lo <= r < hi]
        if rows:
            for key in ("completion_mask", "tool_mask"):
                if key in output:
                    output[key] = output[key].clone()
                    output[key][rows] = 0
            output["advantages"] = output["advantages"].clone()
            output["advantages"][rows] = 0.0
        if "num_items_in_batch" in output:
            output["num_items_in_batch"] = self.accelerator.gather(loss_mask(output).sum()).sum()
        return output


def loss_mask(output: dict[str, Any]) -> torch.Tensor:
    """The tokens the loss counts: completion tokens, minus tool results when TRL's ``tool_mask`` is present."""
    mask = output["completion_mask"]
    return mask if output.get("tool_mask") is None else mask * output["tool_mask"]


class LadderCallback(TrainerCallback):
    """Writes ``log.jsonl``, tells observer plugins, saves curriculum state, and stops TTRL early."""

    def __init__(self, *, stage: str, log_path: Path | None, monitor: TrainingMonitor, curriculum: Any,
                 counters: Callable[[], DynamicSamplingStats], on_step: Callable[[int, TrainStep], None]
                 | None = None, stop_when_watched_solved: bool = False,
                 faults: Callable[[], dict[str, int]] | None = None) -> None:
        self.stage = stage
        self.faults = faults
        self.log_path = log_path
        self.monitor = monitor
        self.curriculum = curriculum
        self.counters = counters
        self.on_step = on_step
        self.stop_when_watched_solved = stop_when_watched_solved
        self.started = time.monotonic()

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
        self.monitor.step = state.global_step
        if self.stop_when_watched_solved and self.monitor.watched_solved:
            control.should_training_stop = True
        return control

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
        """One ``log.jsonl`` line per logged training step (TRL logs after ``on_step_end``)."""
        if not logs or "reward" not in logs:
            return
        record = TrainStep(
            step=state.global_step,
            reward=finite_or_none(logs.get("reward")),
            reward_std=finite_or_none(logs.get("reward_std")),
            frac_zero_std=finite_or_none(logs.get("frac_reward_zero_std")),
            loss=finite_or_none(logs.get("loss")),
            anchor_nll=finite_or_none(logs.get("anchor_nll")),
            depth_reward=self.monitor.pop_step_stats(),
            depth_success={str(k): v for k, v in self.curriculum.depth_success().items()},
            roots_mastered=len(self.curriculum.mastered_roots()),
            dynamic=self.counters().as_dict(),
            reward_faults=self.faults() if self.faults is not None else {},
            seconds=round(time.monotonic() - self.started, 2),
        )
        if self.log_path is not None and state.is_world_process_zero:
            append_jsonl(self.log_path, [record])
        if self.on_step is not None:
            self.on_step(state.global_step, record)

    def write_checkpoint_state(self, checkpoint: Path) -> None:
        """The curriculum and dynamic-sampling counters of a checkpoint, written into its staging folder
        (``AtomicCheckpointMixin.ladder_checkpoint_writers``), so they appear with the weights or not at all."""
        write_json(checkpoint / CURRICULUM_STATE_FILE, CurriculumCheckpoint(
            curriculum=self.curriculum.state_dict(), dynamic=self.counters().as_dict()))


def restore_curriculum(checkpoint: Path, curriculum: Any, counters: DynamicSamplingStats) -> bool:
    state = read_checkpoint_json(checkpoint, CURRICULUM_STATE_FILE, CurriculumCheckpoint)
    if state is None:
        return False
    curriculum.load_state_dict(state.curriculum)
    for key, value in state.dynamic.items():
        if key in counters.__dataclass_fields__:
            setattr(counters, key, value)
    return True


def truncate_log(path: Path, last_step: int) -> None:
    """Drop log lines after ``last_step`` (written after the checkpoint a resumed run starts from)."""
    if path.exists():
        write_jsonl(path, [r for r in read_jsonl(path, TrainStep) if r.step <= last_step])


def finite_or_none(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
