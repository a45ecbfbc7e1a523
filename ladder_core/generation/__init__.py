"""Text generation backends shared by variant generation, evaluation and TTRL.

Every backend implements :class:`TextGenerator`: many prompts in, ``n``
sampled completions per prompt out, in prompt order. Keeping this one small
protocol lets the variant builder, the evaluator and test-time RL run on a
local transformers model, on vLLM or on any OpenAI-compatible server without
knowing which. Backends are imported lazily (torch, vllm and httpx are heavy),
so importing this package costs nothing.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TextGenerator(Protocol):
    """Batched sampling from a language model.

    ``generate`` returns one list of ``n`` completions (only the new text, no
    prompt) per prompt, in the order of ``prompts``. ``temperature <= 0``
    means greedy decoding. Backends may accept an extra keyword ``seed`` (an
    ``int``) that makes the call reproducible; callers check with
    :func:`accepts_seed` before passing it.
    """

    name: str

    def generate(
        self,
        prompts: list[str],
        *,
        n: int = 1,
        temperature: float,
        max_new_tokens: int,
        top_p: float = 1.0,
    ) -> list[list[str]]:
        ...


def accepts_seed(generator: Any) -> bool:
    """Whether ``generator.generate`` takes a ``seed`` keyword (all backends here do)."""
    try:
        params = inspect.signature(generator.generate).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def generator_name(generator: Any) -> str:
    """The model name a backend reports (recorded on every variant it produced)."""
    return str(getattr(generator, "name", "") or type(generator).__name__)


__all__ = ["TextGenerator", "accepts_seed", "generator_name"]
