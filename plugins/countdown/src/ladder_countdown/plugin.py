"""Hook implementations of the Countdown domain: the only module the core loads at start-up.

Registered through the ``ladder`` entry-point group (see ``pyproject.toml``).
It imports only the config dataclasses; the domain, its solver and its worker
pool are imported inside the factories, when a run actually needs them.
"""

from __future__ import annotations

from typing import Any

from ladder_core.hookspecs import DomainSpec, VariantGeneratorSpec, hookimpl

from ladder_countdown.config import CountdownConfig


def _make_domain(cfg: Any, context: Any) -> Any:
    from ladder_countdown.domain import CountdownDomain

    return CountdownDomain(cfg, context)


def _make_rules_generator(domain: Any, cfg: Any) -> Any:
    """The core passes the whole run config (``variants.easier_fraction``); the solver budget is the domain's own."""
    from ladder_core.schema import VariantsConfig

    from ladder_countdown.variants import RulesVariantGenerator

    own = domain.cfg
    return RulesVariantGenerator(easier_fraction=VariantsConfig.of(cfg).easier_fraction,
                                 solver_max_nodes=own.rules_solver_max_nodes, max_target=own.max_target)


@hookimpl
def ladder_domains() -> list[DomainSpec]:
    return [
        DomainSpec(
            name="countdown",
            config=CountdownConfig(),
            factory=_make_domain,
            description="the Countdown numbers game: reach a target with + - * /, exact eval-free verifier",
        )
    ]


@hookimpl
def ladder_variant_generators() -> list[VariantGeneratorSpec]:
    return [
        VariantGeneratorSpec(
            name="countdown-rules",
            factory=_make_rules_generator,
            domains=("countdown",),
            description="drop numbers, retarget to a subset or an intermediate result (solvable by construction)",
        )
    ]
