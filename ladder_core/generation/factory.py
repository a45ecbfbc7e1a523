"""Build a :class:`~ladder_core.generation.TextGenerator` from the run config's ``generator`` group.

``generator.backend`` picks the model that writes variants:

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

from typing import Any

BACKENDS = ("policy", "transformers", "vllm", "openai")


def _get(node: Any, key: str, default: Any = None) -> Any:
    """``node.key`` that tolerates missing keys and OmegaConf's ``???`` (as ``default``)."""
    if node is None:
        return default
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            if key not in node or OmegaConf.is_missing(node, key):
                return default
            value = node[key]
            return default if value is None else value
    except ImportError:  # pragma: no cover
        pass
    value = node.get(key, default) if hasattr(node, "get") else getattr(node, key, default)
    return default if value is None else value


def _require(node: Any, key: str, backend: str) -> Any:
    value = _get(node, key)
    if value in (None, "", "???"):
        raise ValueError(f"generator.{key} must be set for generator.backend={backend} "
                         f"(e.g. `generator.{key}=...` on the command line)")
    return value


def build_text_generator(cfg: Any) -> Any:
    """The backend described by ``cfg.generator`` (with ``cfg.model``/``cfg.trainer`` for ``policy``)."""
    gen = _get(cfg, "generator")
    model_cfg = _get(cfg, "model")
    trainer = _get(cfg, "trainer")
    backend = str(_get(gen, "backend", "policy"))
    seed = int(_get(cfg, "seed", 0))
    batch_size = int(_get(gen, "batch_size", 16))
    device = _get(trainer, "device", "auto")
    if backend == "policy":
        path = str(_get(model_cfg, "name_or_path") or "")
        if not path:
            raise ValueError("generator.backend=policy needs model.name_or_path")
        chat = bool(_get(model_cfg, "chat_template", False))
        if bool(_get(trainer, "use_vllm", False)):
            from ladder_core.generation.engine import policy_engine
            from ladder_core.generation.vllm_backend import VLLMTextGenerator

            return VLLMTextGenerator(policy_engine(cfg, path), chat_template=chat, seed=seed,
                                     name=str(_get(model_cfg, "name", path)))
        from ladder_core.generation.hf import HFTextGenerator

        return HFTextGenerator.from_pretrained(
            path, device=device, dtype=_get(model_cfg, "dtype", "auto"), batch_size=batch_size, chat_template=chat,
            seed=seed, attn_implementation=_get(model_cfg, "attn_implementation"),
            name=str(_get(model_cfg, "name", path)))
    if backend == "transformers":
        from ladder_core.generation.hf import HFTextGenerator

        path = str(_require(gen, "model", backend))
        chat = _get(gen, "chat_template")
        return HFTextGenerator.from_pretrained(
            path, device=device, dtype=_get(gen, "dtype", "auto"), batch_size=batch_size,
            chat_template=None if chat is None else bool(chat), seed=seed)
    if backend == "vllm":
        from ladder_core.generation.vllm_backend import VLLMTextGenerator

        path = str(_require(gen, "model", backend))
        return VLLMTextGenerator(path, chat_template=bool(_get(gen, "chat_template", True)), seed=seed,
                                 dtype=str(_get(gen, "dtype", "auto")),
                                 gpu_memory_utilization=float(_get(gen, "gpu_memory_utilization", 0.85)))
    if backend == "openai":
        from ladder_core.generation.openai_compat import OpenAICompatTextGenerator

        return OpenAICompatTextGenerator.from_env(
            str(_require(gen, "base_url", backend)), str(_require(gen, "model", backend)),
            api_key_env=_get(gen, "api_key_env", "OPENAI_API_KEY"),
            max_concurrency=int(_get(gen, "max_concurrency", 8)),
            request_timeout_s=float(_get(gen, "request_timeout_s", 120)),
            max_retries=int(_get(gen, "max_retries", 4)),
        )
    raise ValueError(f"unknown generator.backend {backend!r}; valid: {', '.join(BACKENDS)}")
