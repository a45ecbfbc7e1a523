"""A byte-level BPE tokenizer for the tiny model, trained locally (no hub download).

Choices and why:

* Byte level, so any string a variant generator or a model writes can be
  encoded; no unknown token.
* Digits are split into single tokens before BPE: coefficients such as
  ``/625`` are then spelt digit by digit, which a 3.5M-parameter model learns
  far more easily than hundreds of number tokens.
* Pieces are also cut before each space, before each multiplication ``*``
  (not ``**``) and after each ``(``, so a token never spans two terms or two
  factors: ``integrate(``, ``x``, ``*sin(``, ``x)``. A first version without
  the last two cuts learnt whole-prompt tokens such as
  ``integrate(x*sin(x),``, and the model failed on exactly those prompts;
  factor-sized tokens are also what the held-out products are built from.
* ``<ANSWER>`` and ``</ANSWER>`` are single (non-special) tokens, so they
  survive ``decode(..., skip_special_tokens=True)`` as the verifier needs.
* No token is added automatically: ``tokenizer(prompt)`` returns exactly the
  ids the model saw in training (the prompt alone, no BOS), also when a
  trainer calls it with the default ``add_special_tokens=True``. The EOS token
  ends every training completion.
"""

from __future__ import annotations

from collections.abc import Iterable

from ladder_integration.tinymodel.grammar import ANSWER_CLOSE, ANSWER_OPEN

BOS = "<|bos|>"
EOS = "<|eos|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = (PAD, BOS, EOS)
ANSWER_TOKENS = (ANSWER_OPEN, ANSWER_CLOSE)
DEFAULT_VOCAB_SIZE = 512


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE):
    """Train the BPE model on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``.

    Deterministic for a given list of texts (the ``tokenizers`` BPE trainer
    breaks ties by order), which keeps ``train.py`` reproducible.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Split(" ", behavior="merged_with_next"),
            pre_tokenizers.Split(Regex(r"(?<!\*)\*(?!\*)"), behavior="merged_with_next"),
            pre_tokenizers.Split("(", behavior="merged_with_previous"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # The answer tags would otherwise be learnt as merges; adding them first keeps them whole.
    tok.add_tokens([AddedToken(t, single_word=False, normalized=False, special=False) for t in ANSWER_TOKENS])
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        padding_side="left",
        model_max_length=256,
    )
    return fast


def check_roundtrip(tokenizer, texts: Iterable[str]) -> None:
    """Raise if encoding then decoding any of ``texts`` does not give it back unchanged."""
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        back = tokenizer.decode(ids)
        if back != text:
            raise ValueError(f"tokenizer round trip changed {text!r} into {back!r}")
