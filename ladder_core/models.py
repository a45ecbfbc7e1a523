"""Loading the policy model and tokenizer: the same ``from_pretrained`` path for every model.

The embedded tiny model is a normal Hugging Face model directory shipped in a
plugin (``${ladder_embedded:...}`` resolves to it), so nothing here special-cases it.
Downloads happen only if the user's environment allows them; tests and CI run
with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

from typing import Any


def resolve_device(device: str | None) -> str:
    """``auto``/``None``/empty -> ``cuda`` when available, else ``cpu``; anything else as given."""
    if device in (None, "", "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def resolve_dtype(dtype: Any) -> Any:
    """A torch dtype from a config string (``bfloat16``, ``bf16``, ``float32``...); ``auto``/``None`` -> ``"auto"``.

    Unknown names fail here with a clear message instead of deep inside ``from_pretrained``.
    """
    import torch

    if dtype in (None, "", "auto"):
        return "auto"
    if isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).replace("torch.", "")
    aliases = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
    value = getattr(torch, aliases.get(name, name), None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use bfloat16, float16, float32 or auto")
    return value


def load_tokenizer(name_or_path: str) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    tokenizer.padding_side = "left"  # generation appends on the right
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_policy(model_cfg: Any, device: str | None = None) -> tuple[Any, Any]:
    """Model and tokenizer for ``cfg.model``, on ``device`` (``auto`` picks CUDA when present)."""
    from transformers import AutoModelForCausalLM

    path = str(model_cfg.name_or_path)
    kwargs: dict[str, Any] = {"dtype": resolve_dtype(model_cfg.get("dtype"))}
    if model_cfg.get("attn_implementation"):
        kwargs["attn_implementation"] = model_cfg.attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    model.to(resolve_device(device))
    tokenizer = load_tokenizer(path)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def lora_config(model_cfg: Any) -> Any | None:
    """A peft ``LoraConfig`` from ``model.lora`` (empty or null = full fine-tuning)."""
    lora = model_cfg.get("lora")
    if not lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=int(lora.get("r", 16)),
        lora_alpha=int(lora.get("alpha", 32)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=list(lora.get("target_modules", ["q_proj", "k_proj", "v_proj", "o_proj"])),
        task_type="CAUSAL_LM",
    )
