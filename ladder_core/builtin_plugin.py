"""The core's own contributions, registered through the same hooks as third-party plugins."""

from __future__ import annotations

from typing import Any

from ladder_core.hookspecs import VariantGeneratorSpec, hookimpl


def _llm_generator(domain: Any, cfg: Any) -> Any:
    from ladder_core.variants.llm_generator import LLMVariantGenerator

    return LLMVariantGenerator.from_config(domain, cfg)


@hookimpl
def ladder_variant_generators() -> list[VariantGeneratorSpec]:
    return [
        VariantGeneratorSpec(
            name="llm",
            factory=_llm_generator,
            description="prompt a language model (the policy, a local model, vLLM or an OpenAI-compatible server) "
            "with the domain's transformation menu and personas",
        )
    ]
