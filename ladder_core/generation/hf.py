"""Batched sampling with a transformers causal LM (``model.generate``).

Used for variant generation, evaluation and test-time RL, so it is written
for throughput and exactness:

* prompts (times ``n`` samples) are sorted by token length and cut into
  batches of ``batch_size`` sequences, so each batch carries little padding;
* padding is done here, on the left, with an explicit attention mask (the
  tokenizer's own ``padding_side`` is never touched);
* generation runs under ``torch.inference_mode`` with the KV cache on, and the
  model's train/eval mode is restored afterwards (the policy may be mid-RL);
* only the new tokens are decoded, cut at the first end-of-sequence token;
* sampling is reproducible: every batch draws from a torch RNG seeded from
  ``(seed, call, batch)`` inside ``torch.random.fork_rng``, so the caller's
  global RNG is left alone;
* a prompt that would overflow the model's positions is cut from the left.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Sequence
from typing import Any

from ladder_core.models import resolve_device, resolve_dtype

logger = logging.getLogger(__name__)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, stable across processes (unlike ``hash``)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


class HFTextGenerator:
    """:class:`~ladder_core.generation.TextGenerator` over a transformers model and tokenizer.

    ``batch_size`` counts sequences (prompts x samples) per ``generate``
    call. ``chat_template=True`` wraps each prompt as the user message of the
    tokenizer's chat template (instruction models); otherwise the prompt is
    tokenized as is. ``seed`` makes the sequence of calls reproducible; a
    ``seed=`` passed to :meth:`generate` overrides it for that call.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        batch_size: int = 16,
        chat_template: bool = False,
        *,
        seed: int = 0,
        name: str | None = None,
        system_prompt: str | None = None,
        max_prompt_tokens: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if chat_template and not getattr(tokenizer, "chat_template", None):
            raise ValueError("chat_template=True but the tokenizer has no chat template; set chat_template: false")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.chat_template = bool(chat_template)
        self.seed = int(seed)
        self.system_prompt = system_prompt
        self.max_prompt_tokens = max_prompt_tokens
        config = getattr(model, "config", None)
        self.name = name or str(getattr(config, "_name_or_path", "") or getattr(config, "model_type", "hf-model"))
        self._calls = 0
        self._truncation_warned = False
        self.eos_ids = self._eos_ids()
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else (min(self.eos_ids) if self.eos_ids else 0)

    # ------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        path: str,
        *,
        device: str | None = "auto",
        dtype: Any = "auto",
        batch_size: int = 16,
        chat_template: bool | None = None,
        seed: int = 0,
        attn_implementation: str | None = None,
        local_files_only: bool = False,
        name: str | None = None,
    ) -> HFTextGenerator:
        """Load a model and its tokenizer from a folder or hub id, in eval mode on ``device``.

        ``chat_template=None`` uses the template when the tokenizer has one.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local_files_only)
        kwargs: dict[str, Any] = {"dtype": resolve_dtype(dtype), "local_files_only": local_files_only}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        model.to(resolve_device(device)).eval()
        if chat_template is None:
            chat_template = bool(getattr(tokenizer, "chat_template", None))
        return cls(model, tokenizer, batch_size, chat_template, seed=seed, name=name or str(path))

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(self.model, "generation_config", None), getattr(self.model, "config", None),
                       self.tokenizer):
            value = getattr(source, "eos_token_id", None) if source is not None else None
            if value is None:
                continue
            ids.update(int(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        return ids

    # ---------------------------------------------------------------- encoding
    def format_prompt(self, prompt: str) -> str:
        """The text actually tokenized for ``prompt`` (chat template applied if enabled)."""
        if not self.chat_template:
            return prompt
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": prompt})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt, without padding (a chat template brings its own BOS)."""
        texts = [self.format_prompt(p) for p in prompts]
        encoded = self.tokenizer(texts, add_special_tokens=not self.chat_template)["input_ids"]
        return [list(ids) for ids in encoded]

    def _max_positions(self) -> int | None:
        value = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        return int(value) if isinstance(value, int) and value > 0 else None

    def _fit(self, ids: list[int], max_new_tokens: int) -> list[int]:
        limits = [x for x in (self.max_prompt_tokens,) if x]
        max_pos = self._max_positions()
        if max_pos is not None:
            limits.append(max(1, max_pos - max_new_tokens))
        if limits and len(ids) > min(limits):
            if not self._truncation_warned:
                warnings.warn(f"{self.name}: prompts longer than {min(limits)} tokens are cut from the left "
                              f"(model positions {max_pos}, max_new_tokens {max_new_tokens})", stacklevel=3)
                self._truncation_warned = True
            ids = ids[-min(limits):]
        return ids

    # -------------------------------------------------------------- generation
    def generate(
        self,
        prompts: list[str],
        *,
        n: int = 1,
        temperature: float,
        max_new_tokens: int,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[list[str]]:
        """``n`` completions per prompt (new text only), in prompt order. ``temperature <= 0`` is greedy."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if not prompts:
            return []
        import torch

        call_seed = derive_seed(self.seed, "call", self._calls) if seed is None else int(seed)
        self._calls += 1
        # An empty prompt has no token to condition on: start it from BOS (or pad) instead of an all-masked row.
        start_id = getattr(self.tokenizer, "bos_token_id", None)
        start = [int(start_id) if start_id is not None else self.pad_id]
        encoded = [self._fit(ids or start, max_new_tokens) for ids in self.encode(prompts)]
        # One entry per sequence to sample: (prompt index, sample index); longest first.
        jobs = [(i, j) for i in range(len(prompts)) for j in range(n)]
        jobs.sort(key=lambda job: (-len(encoded[job[0]]), job[0], job[1]))
        results: list[list[str]] = [[""] * n for _ in prompts]
        device = self._device()
        was_training = bool(getattr(self.model, "training", False))
        self.model.eval()
        try:
            with torch.inference_mode():
                for b, start in enumerate(range(0, len(jobs), self.batch_size)):
                    batch = jobs[start:start + self.batch_size]
                    texts = self._generate_batch([encoded[i] for i, _ in batch], device, temperature=temperature,
                                                 top_p=top_p, max_new_tokens=max_new_tokens,
                                                 seed=derive_seed(call_seed, b))
                    for (i, j), text in zip(batch, texts, strict=True):
                        results[i][j] = text
        finally:
            if was_training:
                self.model.train()
        return results

    def _device(self) -> Any:
        import torch

        device = getattr(self.model, "device", None)
        return device if device is not None else torch.device("cpu")

    def _generate_batch(self, rows: list[list[int]], device: Any, *, temperature: float, top_p: float,
                        max_new_tokens: int, seed: int) -> list[str]:
        tokens = self.generate_tokens(rows, device, temperature=temperature, top_p=top_p,
                                      max_new_tokens=max_new_tokens, seed=seed)
        return [self._decode(t) for t in tokens]

    def generate_tokens(self, rows: list[list[int]], device: Any, *, temperature: float, top_p: float = 1.0,
                        max_new_tokens: int, seed: int = 0) -> list[list[int]]:
        """One left-padded batch of prompt token ids through ``model.generate``: the new token ids of each row,
        end-of-sequence and the padding after it included (``temperature <= 0`` is greedy)."""
        import torch
        from transformers import GenerationConfig

        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for k, row in enumerate(rows):
            if row:
                input_ids[k, width - len(row):] = torch.tensor(row, dtype=torch.long)
                attention[k, width - len(row):] = 1
        max_pos = self._max_positions()
        budget = max_new_tokens if max_pos is None else max(1, min(max_new_tokens, max_pos - width))
        sample = temperature is not None and temperature > 0
        gen_cfg = GenerationConfig(
            do_sample=sample,
            temperature=float(temperature) if sample else None,
            top_p=float(top_p) if sample and top_p < 1.0 else None,
            top_k=0 if sample else None,
            max_new_tokens=budget,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids) or None,
            use_cache=True,
        )
        devices = [device] if getattr(device, "type", "cpu") == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            output = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                         generation_config=gen_cfg)
        return output[:, width:].tolist()

    def until_eos(self, tokens: list[int]) -> list[int]:
        """``tokens`` up to and including the first end-of-sequence token (all of them when there is none)."""
        for pos, token in enumerate(tokens):
            if token in self.eos_ids:
                return tokens[:pos + 1]
        return tokens

    def _decode(self, tokens: list[int]) -> str:
        tokens = self.until_eos(tokens)
        if tokens and tokens[-1] in self.eos_ids:
            tokens = tokens[:-1]
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def close(self) -> None:
        """Drop the references to model and tokenizer (frees GPU memory once nothing else holds them)."""
        self.model = None
        self.tokenizer = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - best effort
            pass
