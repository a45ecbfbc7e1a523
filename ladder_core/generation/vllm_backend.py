"""Sampling with vLLM's offline engine (``vllm.LLM``), imported only when used.

vLLM batches and schedules all prompts of one ``generate`` call itself, so
this wrapper hands it the whole list at once with one ``SamplingParams``
(``n``, ``temperature``, ``top_p``, ``max_tokens``, ``seed``) and reads the
completions back in prompt order. Install with ``pip install 'ladder-core[gpu]'``.

Engines come from :mod:`ladder_core.generation.engine` (one per role and
process): a generator over the shared policy engine leaves it alive on
``close()`` (asleep when sleep mode is on), a dedicated one frees it.
"""

from __future__ import annotations

from typing import Any


class VLLMTextGenerator:
    """:class:`~ladder_core.generation.TextGenerator` over ``vllm.LLM``.

    ``model`` is a path/hub id (a dedicated engine, registered as
    ``generator:<path>`` with ``llm_kwargs``, freed by :meth:`close`), an
    :class:`~ladder_core.generation.engine.EngineEntry` from the registry (the
    shared policy engine, kept alive by :meth:`close`), or an existing
    ``vllm.LLM`` that is reused as is.
    """

    def __init__(
        self,
        model: Any,
        *,
        chat_template: bool = False,
        seed: int = 0,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        system_prompt: str | None = None,
        name: str | None = None,
        max_prompt_tokens: int | None = None,
        **llm_kwargs: Any,
    ) -> None:
        from ladder_core.generation.engine import REGISTRY, EngineEntry

        self._entry: EngineEntry | None = None
        self._owned_role: str | None = None
        if isinstance(model, str):
            try:
                from vllm import LLM
            except ImportError as exc:
                raise ImportError("the vllm backend needs vLLM: pip install 'ladder-core[gpu]'") from exc
            kwargs: dict[str, Any] = {"model": model, "seed": seed, "dtype": dtype,
                                      "gpu_memory_utilization": gpu_memory_utilization, **llm_kwargs}
            if max_model_len:
                kwargs["max_model_len"] = max_model_len
            self._owned_role = f"generator:{model}"
            self._entry = REGISTRY.acquire(self._owned_role, lambda: LLM(**kwargs))
            self.llm = self._entry.llm
            self.name = name or model
        elif isinstance(model, EngineEntry):
            self._entry = model
            self.llm = model.llm
            self.name = name or model.role
        else:
            self.llm = model
            model_config = getattr(getattr(model, "llm_engine", None), "model_config", None)
            self.name = name or str(getattr(model_config, "model", None) or "vllm")
        self.chat_template = chat_template
        self.system_prompt = system_prompt
        self.seed = seed
        self.max_prompt_tokens = max_prompt_tokens
        self._calls = 0

    def _format(self, prompts: list[str]) -> list[str]:
        if not self.chat_template:
            return list(prompts)
        tokenizer = self.llm.get_tokenizer()
        out = []
        for prompt in prompts:
            messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
            messages.append({"role": "user", "content": prompt})
            out.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        return out

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
        """``n`` completions per prompt, in prompt order (``temperature <= 0`` is greedy)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not prompts:
            return []
        from vllm import SamplingParams

        from ladder_core.generation.engine import sleep, wake

        if self.llm is None:
            raise RuntimeError("this generator is closed")
        self._calls += 1
        truncate = {"truncate_prompt_tokens": int(self.max_prompt_tokens)} if self.max_prompt_tokens else {}

        def params(prompt_seed: int | None) -> Any:
            return SamplingParams(n=n, temperature=max(0.0, float(temperature)), top_p=float(top_p),
                                  max_tokens=int(max_new_tokens), seed=prompt_seed, **truncate)

        # A per-request seed must differ between prompts, or identical prompts would get identical samples;
        # without one, the engine's own seeded generator keeps runs reproducible.
        sampling = params(None) if seed is None else [params(int(seed) + i) for i in range(len(prompts))]
        if self._entry is not None:
            wake(self._entry)
        try:
            outputs = self.llm.generate(self._format(prompts), sampling, use_tqdm=False)
        finally:
            if self._entry is not None and self._owned_role is None:
                sleep(self._entry)  # the shared policy engine sleeps between phases (when sleep mode is on)
        return [[c.text for c in out.outputs] + [""] * (n - len(out.outputs)) for out in outputs]

    def close(self) -> None:
        """A dedicated engine is shut down and its memory freed; the shared policy engine stays for the next phase."""
        from ladder_core.generation.engine import REGISTRY

        if self._owned_role is not None:
            REGISTRY.release(self._owned_role)
            self._owned_role = None
        self._entry = None
        self.llm = None
