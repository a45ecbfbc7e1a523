"""Hook implementations of the integration domain: the only module the core loads.

Registered through the ``ladder`` entry-point group like any third-party
plugin. Everything heavy (SymPy, the verifier's worker pool, torch) is
imported inside the factories, when a run actually needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ladder_core.hookspecs import DomainSpec, EmbeddedModel, VariantGeneratorSpec, hookimpl

from ladder_integration.config import IntegrationConfig

TINY_WEIGHTS = Path(__file__).resolve().parent / "tinymodel" / "weights"


def _make_domain(cfg: Any, context: Any) -> Any:
    from ladder_integration.domain import IntegrationDomain

    return IntegrationDomain(cfg, context)


def _make_rules_generator(domain: Any, cfg: Any) -> Any:
    from ladder_integration.variants import ProgrammaticVariantGenerator

    variants = cfg.get("variants") if cfg is not None else None
    easier = float(variants.get("easier_fraction", 0.7)) if variants is not None else 0.7
    return ProgrammaticVariantGenerator(easier_fraction=easier)


@hookimpl
def ladder_domains() -> list[DomainSpec]:
    return [
        DomainSpec(
            name="integration",
            config=IntegrationConfig(),
            factory=_make_domain,
            description="indefinite and definite integrals, verified numerically (LADDER's reference domain)",
        )
    ]


@hookimpl
def ladder_variant_generators() -> list[VariantGeneratorSpec]:
    return [
        VariantGeneratorSpec(
            name="integration-rules",
            factory=_make_rules_generator,
            domains=("integration",),
            description="symbolic rewrites that make an integral easier or equivalent (no LLM needed)",
        )
    ]


@hookimpl
def ladder_embedded_models() -> list[EmbeddedModel]:
    return [
        EmbeddedModel(
            name="integration-tiny",
            path=TINY_WEIGHTS,
            description="3.5M-parameter Llama trained on easy SymPy integrals (the CPU default)",
            domains=("integration",),
        )
    ]
