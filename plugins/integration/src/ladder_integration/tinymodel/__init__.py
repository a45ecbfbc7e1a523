"""The embedded tiny calculus model: a 3.5M-parameter Llama trained from scratch on easy SymPy integrals.

``WEIGHTS_DIR`` holds the shipped model, loadable offline with
``AutoModelForCausalLM.from_pretrained(WEIGHTS_DIR)`` and
``AutoTokenizer.from_pretrained(WEIGHTS_DIR)``; ``MODEL_CARD.md`` there says
how it was made and how well it does. The prompt is ``"integrate(<f>, x)\\n"``
(no BOS); the model answers ``<ANSWER><F></ANSWER>`` and EOS.

The submodules (grammar, tokenizer, training, problem sets) import SymPy,
torch and transformers; this module imports only the standard library.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR: Path = Path(__file__).resolve().parent / "weights"

__all__ = ["WEIGHTS_DIR"]
