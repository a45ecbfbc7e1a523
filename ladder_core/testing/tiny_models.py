"""Tiny random models with locally built tokenizers, for tests that must not touch a model hub."""

from __future__ import annotations

import string
from pathlib import Path

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


def tiny_llama(path: Path, *, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Save a random ``LlamaForCausalLM`` and its char tokenizer to ``path``; returns ``path``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = char_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=256, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
