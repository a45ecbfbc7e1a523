"""Tiny random models with locally built tokenizers, for tests that must not touch a model hub.

One model builder, :func:`tiny_causal_lm`, sized to whichever tokenizer it is
given, and two ways to use it: :func:`make_tiny_causal_lm` returns a model and
a BPE tokenizer trained on a few texts in memory (fast unit tests of the
generation backends), :func:`tiny_llama` saves a model and a character-level
tokenizer to a folder (tests that load the policy by path, as the pipeline does).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHARS = string.ascii_letters + string.digits + " ()*+-/<>=^_,.\n"


def char_tokenizer(extra_tokens: tuple[str, ...] = ("<ANSWER>", "</ANSWER>")) -> object:
    """A character-level ``PreTrainedTokenizerFast`` (plus a few whole-word tokens), built offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate([*specials, *extra_tokens, *CHARS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>",
                                        eos_token="</s>", unk_token="<unk>")
    tokenizer.add_special_tokens({"additional_special_tokens": list(extra_tokens)})
    tokenizer.padding_side = "left"
    return tokenizer


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


def tiny_causal_lm(tokenizer: Any, *, hidden: int = 32, layers: int = 2, max_positions: int = 256, seed: int = 0,
                   initializer_range: float = 0.02) -> Any:
    """A random ``LlamaForCausalLM`` sized to ``tokenizer``'s vocabulary and special tokens, in eval mode.

    The weights depend only on ``seed`` (the global torch RNG is left as it
    was). A large ``initializer_range`` (e.g. 1.0) gives peaked,
    prompt-dependent logits, which tests of greedy decoding need (the default
    nearly always repeats one token).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

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
    return model


def make_tiny_causal_lm(texts: Sequence[str] = ("add(1, 2)", "integrate(x, x)"), *, hidden: int = 32,
                        layers: int = 2, max_positions: int = 512, seed: int = 0, vocab_size: int = 300,
                        chat_template: bool = False, initializer_range: float = 0.02) -> tuple[Any, Any]:
    """A random tiny Llama and a BPE tokenizer trained on ``texts``, in memory, with no hub download."""
    tokenizer = train_tiny_tokenizer(texts, vocab_size=vocab_size, chat_template=chat_template)
    model = tiny_causal_lm(tokenizer, hidden=hidden, layers=layers, max_positions=max_positions, seed=seed,
                           initializer_range=initializer_range)
    return model, tokenizer


def tiny_llama(path: Path, *, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Save a random tiny Llama and its char tokenizer to ``path``; returns ``path``."""
    tokenizer = char_tokenizer()
    model = tiny_causal_lm(tokenizer, hidden=hidden, layers=layers, max_positions=256, seed=seed)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
