"""A scripted :class:`~ladder_core.generation.TextGenerator` for tests and benchmarks.

It records every call, so a test can check that the temperature (or seed, or
batch) really reached the backend, and answers instantly, so a benchmark can
measure the LLM path's own overhead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


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
