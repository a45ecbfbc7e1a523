"""A stand-in for the ``vllm`` package (not installable on CPU machines): only the ``LLM`` object is faked.

It counts engine constructions and shutdowns and records weight loads,
sleep and wake-up calls, so the engine lifecycle (one engine per process,
reuse across TRL trainers, real release) is tested without a GPU.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

EVENTS: list[tuple[str, Any]] = []


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    truncate_prompt_tokens: int | None = None
    extra: dict = field(default_factory=dict)


class _Model:
    def __init__(self, owner: "LLM") -> None:
        self.owner = owner

    def load_weights(self, weights: Any) -> None:
        names = [name for name, _ in weights]
        self.owner.loaded.extend(names)
        EVENTS.append(("load_weights", len(names)))


class _Engine:
    def __init__(self, owner: "LLM") -> None:
        self.model_executor = types.SimpleNamespace(
            driver_worker=types.SimpleNamespace(model_runner=types.SimpleNamespace(model=_Model(owner))))
        self.model_config = types.SimpleNamespace(model=owner.kwargs.get("model"), max_model_len=512)
        self.owner = owner

    def shutdown(self) -> None:
        self.owner.shut_down = True
        EVENTS.append(("shutdown", self.owner.kwargs.get("model")))


class LLM:
    created = 0

    def __init__(self, **kwargs: Any) -> None:
        type(self).created += 1
        self.kwargs = kwargs
        self.loaded: list[str] = []
        self.shut_down = False
        self.llm_engine = _Engine(self)
        self.calls: list[tuple[list[str], Any]] = []
        EVENTS.append(("create", kwargs.get("model")))

    def generate(self, prompts: list[str], sampling: Any, use_tqdm: bool = False) -> list[Any]:
        assert not self.shut_down, "generate on a shut-down engine"
        self.calls.append((list(prompts), sampling))
        params = sampling[0] if isinstance(sampling, list) else sampling
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"{p} -> {i}") for i in range(params.n)])
                for p in prompts]

    def sleep(self, level: int = 1) -> None:
        EVENTS.append(("sleep", level))

    def wake_up(self, tags: Any = None) -> None:
        EVENTS.append(("wake_up", tags))

    def reset_prefix_cache(self) -> None:
        pass

    def get_tokenizer(self) -> Any:
        raise NotImplementedError


def install(monkeypatch: Any) -> types.ModuleType:
    """Make ``import vllm`` find this fake (and TRL see vLLM as available) for one test."""
    module = types.ModuleType("vllm")
    module.LLM = LLM
    module.SamplingParams = SamplingParams
    module.__spec__ = types.SimpleNamespace(name="vllm", loader=None, origin="fake", submodule_search_locations=None)
    monkeypatch.setitem(sys.modules, "vllm", module)
    LLM.created = 0
    EVENTS.clear()
    import trl.generation.vllm_generation as trl_vllm

    monkeypatch.setattr(trl_vllm, "LLM", LLM, raising=False)
    monkeypatch.setattr(trl_vllm, "is_vllm_available", lambda: True)
    return module
