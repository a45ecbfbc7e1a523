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


def _setting(cfg: Any, key: str, default: Any) -> Any:
    """``cfg[key]`` for a mapping, DictConfig or object; ``default`` when absent or ``cfg`` is None."""
    if cfg is None:
        return default
    if hasattr(cfg, "get"):
        value = cfg.get(key, default)
    else:
        value = getattr(cfg, key, default)
    return default if value is None else value


def _make_rules_generator(domain: Any, cfg: Any) -> Any:
    """The core passes the whole run config: the knobs live under ``variants``."""
    from ladder_countdown.variants import RulesVariantGenerator

    node = _setting(cfg, "variants", cfg)
    max_target = getattr(getattr(domain, "cfg", None), "max_target", 1_000_000)
    return RulesVariantGenerator(easier_fraction=float(_setting(node, "easier_fraction", 0.7)),
                                 solver_max_nodes=int(_setting(node, "solver_max_nodes", 5_000)),
                                 max_target=int(max_target))


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
