"""One vLLM engine per process for the whole run, shared by every phase that samples from the policy.

Why: a vLLM engine reserves a fixed share of GPU memory for as long as it
lives. TRL's ``GRPOTrainer`` builds a colocated ``vllm.LLM`` in its
constructor, and TTRL builds one trainer per test problem; variant generation
with ``generator=policy`` and evaluation would each build their own too.
Nothing shut the previous ones down, so a few TTRL problems in, the GPU was
full. Here every engine lives in a process-wide registry keyed by *role*:

``policy``          the policy's engine: TRL's colocated rollouts (every trainer of the run, TTRL's
                    included, reuses it through :func:`reuse_engine_for_trl`), variant generation with
                    ``generator=policy``, evaluation and TTRL's checks. Weights come from the policy in
                    memory (:func:`sync_weights`; TRL syncs them itself before each rollout).
``generator:<path>``  a dedicated variant-writing model (``generator=vllm``), sized with
                    ``generator.gpu_memory_utilization`` so both fit; freed when its generator closes.

With ``trainer.extra.vllm_enable_sleep_mode=true`` the policy engine sleeps
between phases (weights and KV cache off the GPU) and wakes up for each
``generate``. :func:`release` really frees an engine (vLLM's shutdown, its
distributed state, ``gc`` and the CUDA cache), and every engine is released
when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

POLICY = "policy"


@dataclass
class EngineEntry:
    """A live engine and how it was made (``sleep_mode``: it may sleep between phases)."""

    llm: Any
    role: str
    sleep_mode: bool = False
    asleep: bool = False


class EngineRegistry:
    """The engines of this process, by role. ``created`` counts constructions over the process's life."""

    def __init__(self) -> None:
        self._entries: dict[str, EngineEntry] = {}
        self._lock = threading.Lock()
        self.created = 0
        self.released = 0

    def get(self, role: str) -> EngineEntry | None:
        return self._entries.get(role)

    def acquire(self, role: str, factory: Callable[[], Any], *, sleep_mode: bool = False) -> EngineEntry:
        """The live engine for ``role``, created with ``factory()`` only if there is none."""
        with self._lock:
            entry = self._entries.get(role)
            if entry is None:
                log.info("creating the %s vLLM engine", role)
                entry = EngineEntry(factory(), role, sleep_mode=sleep_mode)
                self._entries[role] = entry
                self.created += 1
            return entry

    def release(self, role: str) -> bool:
        """Shut the ``role`` engine down and free its memory; ``False`` if there was none."""
        with self._lock:
            entry = self._entries.pop(role, None)
        if entry is None:
            return False
        _shutdown(entry.llm)
        entry.llm = None
        self.released += 1
        _free_memory()
        return True

    def release_all(self) -> None:
        for role in list(self._entries):
            self.release(role)

    def roles(self) -> list[str]:
        return sorted(self._entries)


REGISTRY = EngineRegistry()
atexit.register(REGISTRY.release_all)


def _shutdown(llm: Any) -> None:
    """vLLM's own teardown, across the versions TRL supports (each step optional)."""
    engine = getattr(llm, "llm_engine", None)
    for owner, name in ((engine, "shutdown"), (getattr(engine, "engine_core", None), "shutdown"),
                        (llm, "shutdown")):
        method = getattr(owner, name, None) if owner is not None else None
        if callable(method):
            with contextlib.suppress(Exception):
                method()
    with contextlib.suppress(Exception):
        from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()


def _free_memory() -> None:
    gc.collect()
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def wake(entry: EngineEntry) -> None:
    if entry.sleep_mode and entry.asleep:
        entry.llm.wake_up()
        entry.asleep = False


def sleep(entry: EngineEntry) -> None:
    """Between phases: weights to CPU, KV cache dropped (level 1 keeps the weights for the next wake-up)."""
    if entry.sleep_mode and not entry.asleep:
        entry.llm.sleep(level=1)
        entry.asleep = True


def policy_state(model: Any) -> Iterator[tuple[str, Any]]:
    """The policy's weights under the base model's parameter names (a LoRA adapter merged in)."""
    merged = hasattr(model, "merge_adapter")
    if merged:
        model.merge_adapter()
    try:
        for name, param in model.named_parameters():
            if merged:
                if "lora_" in name or "original_module" in name:
                    continue
                name = name.removeprefix("base_model.model.").replace(".base_layer", "")
                name = name.replace("modules_to_save.default.", "")
            yield name, param.data
    finally:
        if merged:
            model.unmerge_adapter()


def sync_weights(entry: EngineEntry, model: Any) -> None:
    """Load ``model``'s current weights into the engine (colocated: same process, no copy over the network)."""
    wake(entry)
    runner = entry.llm.llm_engine.model_executor.driver_worker.model_runner
    runner.model.load_weights(policy_state(model))
    reset = getattr(entry.llm, "reset_prefix_cache", None)
    if callable(reset):
        reset()


def resync_policy_engine(model: Any) -> bool:
    """Push ``model``'s weights into the policy engine if one is live (after TTRL restores the weights).

    Without it, the next problem's variant tree (``generator=policy``) would be
    sampled from the previous problem's adapted weights. Returns whether an
    engine was synced.
    """
    entry = REGISTRY.get(POLICY)
    if entry is None:
        return False
    sync_weights(entry, model)
    return True


def policy_engine(cfg: Any, model_path: str) -> EngineEntry:
    """The run's policy engine, created on first use with the trainer's memory share and sleep setting."""
    from ladder_core.schema import ModelConfig, TrainerConfig

    trainer = TrainerConfig.of(cfg)
    model = ModelConfig.of(cfg)
    sleep_mode = bool(trainer.extra.get("vllm_enable_sleep_mode", False))

    def build() -> Any:
        from vllm import LLM

        kwargs: dict[str, Any] = dict(model=model_path, seed=_seed(cfg), dtype=model.dtype,
                                      gpu_memory_utilization=trainer.vllm_gpu_memory_utilization,
                                      enable_sleep_mode=sleep_mode)
        if trainer.extra.get("vllm_max_model_length"):
            kwargs["max_model_len"] = int(trainer.extra["vllm_max_model_length"])
        return LLM(**kwargs)

    return REGISTRY.acquire(POLICY, build, sleep_mode=sleep_mode)


def _seed(cfg: Any) -> int:
    value = cfg.get("seed") if hasattr(cfg, "get") else getattr(cfg, "seed", 0)
    return int(value or 0)


@contextlib.contextmanager
def reuse_engine_for_trl(cfg: Any | None = None) -> Iterator[None]:
    """While active, TRL's colocated ``LLM(...)`` returns the run's policy engine instead of building another.

    TRL syncs the policy's weights into it before its first rollout, so a
    trainer built on another checkpoint of the same model (TTRL) is served
    correctly. The sleep setting follows the first creator.
    """
    import trl.generation.vllm_generation as trl_vllm

    original = getattr(trl_vllm, "LLM", None)
    if original is None:
        raise ImportError("trainer.use_vllm needs vLLM: pip install 'ladder-core[gpu]'")

    def shared(*args: Any, **kwargs: Any) -> Any:
        entry = REGISTRY.acquire(POLICY, lambda: original(*args, **kwargs),
                                 sleep_mode=bool(kwargs.get("enable_sleep_mode", False)))
        entry.asleep = False  # TRL manages sleep/wake of its rollouts itself
        return entry.llm

    trl_vllm.LLM = shared
    try:
        yield
    finally:
        trl_vllm.LLM = original
        entry = REGISTRY.get(POLICY)
        if entry is not None:
            entry.asleep = entry.sleep_mode  # TRL puts a sleep-mode engine to sleep after building it


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def policy_text_generator(cfg: Any, model: Any, tokenizer: Any, *, batch_size: int, chat_template: bool,
                          name: str, max_prompt_tokens: int | None = None) -> Any:
    """The sampler for evaluation and TTRL's checks on the policy in memory.

    vLLM (the run's one policy engine, weights synced from ``model``) when
    ``trainer.use_vllm`` is on and vLLM is installed; otherwise batched
    transformers ``generate`` on ``model`` itself.
    """
    from ladder_core.schema import ModelConfig, TrainerConfig

    if TrainerConfig.of(cfg).use_vllm and vllm_available():
        from ladder_core.generation.vllm_backend import VLLMTextGenerator

        path = str(getattr(getattr(model, "config", None), "_name_or_path", "") or ModelConfig.of(cfg).name_or_path)
        entry = policy_engine(cfg, path)
        sync_weights(entry, model)
        return VLLMTextGenerator(entry, chat_template=chat_template, seed=_seed(cfg), name=name,
                                 max_prompt_tokens=max_prompt_tokens)
    from ladder_core.generation.hf import HFTextGenerator

    model.eval()
    return HFTextGenerator(model, tokenizer, batch_size=batch_size, chat_template=chat_template, seed=_seed(cfg),
                           name=name, max_prompt_tokens=max_prompt_tokens)
