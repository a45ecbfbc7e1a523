"""Build a :class:`~ladder_core.generation.TextGenerator` from the run config's ``generator`` group.

``generator._target_`` names the builder (Hydra's convention): it is called
with every field of the schema's ``generator`` section as keyword arguments
plus ``run_cfg`` (the whole run config), so ``hydra.utils.instantiate(cfg.generator,
run_cfg=cfg)`` builds the same object and a user may point ``_target_`` at a
builder of their own. The built-in ones (``generator=NAME``):

``policy``       the policy model itself (``model.name_or_path``), through the run's one policy vLLM engine
                 (:mod:`ladder_core.generation.engine`) when ``trainer.use_vllm`` is set, else
                 transformers (the paper's description);
``transformers`` another local model (``generator.model``: a folder or hub id);
``vllm``         another model on vLLM (``generator.model``);
``openai``       any OpenAI-compatible server (``generator.base_url``, ``generator.model``; the API key
                 from the environment variable ``generator.api_key_env``, which may be unset locally),
                 the authors' setup with gpt-4o-mini.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ladder_core.schema import REQUIRED, GeneratorConfig, ModelConfig, TrainerConfig

BACKENDS = ("policy", "transformers", "vllm", "openai")


def _require(value: Any, key: str, target: str) -> Any:
    if value in (None, "", REQUIRED):
        raise ValueError(f"generator.{key} must be set for generator._target_={target} "
                         f"(e.g. `generator.{key}=...` on the command line)")
    return value


def _seed(run_cfg: Any) -> int:
    return int(getattr(run_cfg, "seed", None) or (run_cfg.get("seed") if hasattr(run_cfg, "get") else 0) or 0)


def policy_backend(*, run_cfg: Any, batch_size: int, gpu_memory_utilization: float, **_: Any) -> Any:
    """The policy model writes its own variants."""
    model = ModelConfig.of(run_cfg)
    trainer = TrainerConfig.of(run_cfg)
    path = str(model.name_or_path or "")
    if path in ("", REQUIRED):
        raise ValueError("the policy generator needs model.name_or_path")
    if trainer.use_vllm:  # the run's one policy engine (ladder_core.generation.engine), not a second one
        from ladder_core.generation.engine import policy_engine
        from ladder_core.generation.vllm_backend import VLLMTextGenerator

        return VLLMTextGenerator(policy_engine(run_cfg, path), chat_template=model.chat_template,
                                 seed=_seed(run_cfg), name=model.name)
    from ladder_core.generation.hf import HFTextGenerator

    return HFTextGenerator.from_pretrained(
        path, device=trainer.device, dtype=model.dtype, batch_size=batch_size, chat_template=model.chat_template,
        seed=_seed(run_cfg), attn_implementation=model.attn_implementation, name=model.name)


def transformers_backend(*, run_cfg: Any, model: str | None, dtype: str, batch_size: int,
                         chat_template: bool | None, **_: Any) -> Any:
    """Another local model through transformers."""
    from ladder_core.generation.hf import HFTextGenerator

    path = str(_require(model, "model", "transformers_backend"))
    return HFTextGenerator.from_pretrained(path, device=TrainerConfig.of(run_cfg).device, dtype=dtype,
                                           batch_size=batch_size, chat_template=chat_template, seed=_seed(run_cfg))


def vllm_backend(*, run_cfg: Any, model: str | None, dtype: str, chat_template: bool | None,
                 gpu_memory_utilization: float, **_: Any) -> Any:
    """Another model on vLLM."""
    from ladder_core.generation.vllm_backend import VLLMTextGenerator

    path = str(_require(model, "model", "vllm_backend"))
    return VLLMTextGenerator(path, chat_template=True if chat_template is None else chat_template,
                             seed=_seed(run_cfg), dtype=dtype, gpu_memory_utilization=gpu_memory_utilization)


def openai_backend(*, model: str | None, base_url: str | None, api_key_env: str, max_concurrency: int,
                   request_timeout_s: float, max_retries: int, **_: Any) -> Any:
    """Any OpenAI-compatible server."""
    from ladder_core.generation.openai_compat import OpenAICompatTextGenerator

    return OpenAICompatTextGenerator.from_env(
        str(_require(base_url, "base_url", "openai_backend")), str(_require(model, "model", "openai_backend")),
        api_key_env=api_key_env, max_concurrency=max_concurrency, request_timeout_s=request_timeout_s,
        max_retries=max_retries)


def build_text_generator(cfg: Any) -> Any:
    """The backend ``cfg.generator._target_`` names, called with the generator fields and ``run_cfg=cfg``."""
    from hydra.utils import get_method

    gen = GeneratorConfig.of(cfg)
    kwargs = {f.name: getattr(gen, f.name) for f in dataclasses.fields(gen) if f.name != "_target_"}
    try:
        builder = get_method(gen._target_)
    except Exception as exc:  # Hydra raises ImportError or its own exception types
        raise ValueError(f"generator._target_={gen._target_!r} cannot be imported ({exc}); built-in: "
                         + ", ".join(f"{__name__}.{b}_backend" for b in BACKENDS)) from None
    return builder(run_cfg=cfg, **kwargs)
