"""Test doubles for text generation: a scripted backend and a tiny random causal LM.

Used by ladder's own tests and benchmarks and handy for plugin authors: the
scripted backend records every call (so a test can check that the temperature
really reached the backend), and :func:`make_tiny_causal_lm` builds a real
transformers model and tokenizer in a second, with no hub download.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GenerateCall:
    """One recorded ``generate`` call."""

    prompts: list[str]
    n: int
    temperature: float
    max_new_tokens: int
    top_p: float
    seed: int | None


@dataclass
class ScriptedTextGenerator:
    """A deterministic :class:`~ladder_core.generation.TextGenerator`.

    ``reply(prompt, sample_index, temperature)`` makes each completion; every
    call is appended to ``calls``.
    """

    reply: Callable[[str, int, float], str]
    name: str = "scripted"
    calls: list[GenerateCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float, max_new_tokens: int,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[str]]:
        with self._lock:
            self.calls.append(GenerateCall(list(prompts), n, temperature, max_new_tokens, top_p, seed))
        return [[self.reply(p, j, temperature) for j in range(n)] for p in prompts]


def train_tiny_tokenizer(texts: Sequence[str], vocab_size: int = 300, chat_template: bool = False) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` (bos/eos/pad special tokens), as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<bos>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>")
    if chat_template:
        fast.chat_template = (
            "{% for m in messages %}<bos>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}assistant:{% endif %}"
        )
    return fast


def make_tiny_causal_lm(texts: Sequence[str] = ("add(1, 2)", "integrate(x, x)"), *, hidden: int = 32,
                        layers: int = 2, max_positions: int = 512, seed: int = 0, vocab_size: int = 300,
                        chat_template: bool = False, initializer_range: float = 0.02) -> tuple[Any, Any]:
    """A random ``LlamaForCausalLM`` (tens of thousands of parameters) and a tokenizer trained on ``texts``.

    A large ``initializer_range`` (e.g. 1.0) gives peaked, prompt-dependent
    logits, which tests of greedy decoding need (the default nearly always
    repeats one token).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = train_tiny_tokenizer(texts, vocab_size=vocab_size, chat_template=chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True, initializer_range=initializer_range,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.eval()
    return model, tokenizer
