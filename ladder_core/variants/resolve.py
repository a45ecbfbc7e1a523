"""Turn ``variants.generators`` / ``variants.mix`` into generator objects and shares.

Names are those of ``VariantGeneratorSpec`` records contributed by plugins
(the core's own ``llm`` included), plus ``auto``: the domain's programmatic
generator(s) for tiny models or when no LLM is configured, else ``llm``.
"""

from __future__ import annotations

import logging
from typing import Any

from ladder_core.domain import Domain, VariantGenerator
from ladder_core.schema import ModelConfig, VariantsConfig

logger = logging.getLogger(__name__)

AUTO = "auto"
LLM = "llm"


def _llm_configured(cfg: Any) -> bool:
    """Whether the run config has a generator section (every composed config does)."""
    return cfg is not None and (cfg.get("generator") if hasattr(cfg, "get") else getattr(cfg, "generator", None)) \
        is not None


def _programmatic_names(specs: dict[str, Any], domain: Domain) -> list[str]:
    return sorted(name for name, spec in specs.items() if domain.name in tuple(spec.domains))


def expand_names(cfg: Any, domain: Domain, specs: dict[str, Any]) -> list[tuple[str, float]]:
    """``(generator name, share)`` pairs after expanding ``auto`` and normalising ``mix``.

    Raises ``ValueError`` for an unknown name (listing the valid ones), a
    generator restricted to other domains, or a ``mix`` of the wrong length.
    """
    variants = VariantsConfig.of(cfg)
    names = [str(n) for n in variants.generators] or [AUTO]
    mix = [float(m) for m in variants.mix]
    if mix and len(mix) != len(names):
        raise ValueError(f"variants.mix has {len(mix)} shares for {len(names)} generators {names}; "
                         "give one share per generator or leave mix empty for equal shares")
    if any(m < 0 for m in mix) or (mix and sum(mix) <= 0):
        raise ValueError(f"variants.mix shares must be >= 0 with a positive sum, got {mix}")
    shares = mix or [1.0] * len(names)
    valid = sorted({AUTO, *specs})
    out: dict[str, float] = {}
    for name, share in zip(names, shares, strict=True):
        if name == AUTO:
            scale = ModelConfig.of(cfg).scale
            programmatic = _programmatic_names(specs, domain)
            if programmatic and (scale == "tiny" or not _llm_configured(cfg)):
                expanded = programmatic
            elif _llm_configured(cfg) and LLM in specs:
                expanded = [LLM]
            elif programmatic:
                expanded = programmatic
            else:
                raise ValueError(f"variants.generators=auto: domain {domain.name!r} has no programmatic generator "
                                 "and no LLM generator is configured; set generator.backend or name a generator")
            for sub in expanded:
                out[sub] = out.get(sub, 0.0) + share / len(expanded)
            continue
        if name not in specs:
            raise ValueError(f"unknown variant generator {name!r}; valid names: {', '.join(valid)}")
        spec_domains = tuple(specs[name].domains)
        if spec_domains and domain.name not in spec_domains:
            raise ValueError(f"variant generator {name!r} works only for domain(s) {', '.join(spec_domains)}, "
                             f"not {domain.name!r}")
        out[name] = out.get(name, 0.0) + share
    return [(n, s) for n, s in out.items() if s > 0]


def resolve_generators(cfg: Any, domain: Domain, host: Any) -> list[tuple[VariantGenerator, float]]:
    """Generator objects and their shares for this run, built by their plugins' factories.

    Every factory gets ``(domain, cfg)`` with the whole composed run config.
    """
    specs = host.variant_generators()
    pairs = expand_names(cfg, domain, specs)
    out: list[tuple[VariantGenerator, float]] = []
    for name, share in pairs:
        generator = specs[name].factory(domain, cfg)
        if not isinstance(generator, VariantGenerator):
            raise TypeError(f"variant generator {name!r} built a {type(generator).__name__} without "
                            "`name` and `propose(problems, n, rng)`")
        if getattr(generator, "name", None) != name:
            logger.debug("generator registered as %r calls itself %r", name, generator.name)
        out.append((generator, share))
    logger.info("variant generators: %s", ", ".join(f"{g.name} ({s:.0%})" for g, s in out))
    return out
