"""Former home of the generation test doubles, kept so old imports still work.

They live in :mod:`ladder_core.testing` now: the scripted backend in
``scripted_generator``, the tiny models in ``tiny_models``.
"""

from ladder_core.testing.scripted_generator import GenerateCall, ScriptedTextGenerator
from ladder_core.testing.tiny_models import make_tiny_causal_lm, train_tiny_tokenizer

__all__ = ["GenerateCall", "ScriptedTextGenerator", "make_tiny_causal_lm", "train_tiny_tokenizer"]
