"""Loading the policy model and tokenizer: the same ``from_pretrained`` path for every model.

The embedded tiny model is a normal Hugging Face model directory shipped in a
plugin (``${ladder_embedded:...}`` resolves to it), so nothing here special-cases it.
Downloads happen only if the user's environment allows them; tests and CI run
with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

from typing import Any


def pick_device(requested: str | None) -> str:
    import torch

    if requested in (None, "auto"):
        if torch.cuda.is_available():
            return "cuda"
        return "cpu"
    return requested


def torch_dtype(name: str | None) -> Any:
    import torch

    if name in (None, "auto"):
        return "auto"
    try:
        return getattr(torch, name)
    except AttributeError:
        raise ValueError(f"unknown dtype {name!r}; use float32, bfloat16 or float16") from None


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
    kwargs: dict[str, Any] = {"dtype": torch_dtype(model_cfg.get("dtype"))}
    if model_cfg.get("attn_implementation"):
        kwargs["attn_implementation"] = model_cfg.attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    model.to(pick_device(device))
    tokenizer = load_tokenizer(path)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def lora_config(model_cfg: Any) -> Any | None:
    """A peft ``LoraConfig`` from ``model.lora`` (null = full fine-tuning)."""
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
