"""The integration domain's config node (registered under Hydra group ``domain``, name ``integration``).

Plain dataclasses with OmegaConf-compatible field types, so that the same class
serves as a structured config in Hydra's ConfigStore and as a typed object in
scripts and tests. Values of ``"auto"`` are resolved against the run's
:class:`~ladder_core.domain.DomainContext` (tiny embedded model or a real one)
by the helpers below, never at import time.

This module imports only the standard library and the stdlib-only
:mod:`ladder_core.config_nodes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ladder_core.config_nodes import coerce_node

AUTO = "auto"

#: Default (train, validation, test) sets per model scale: the tiny CPU model cannot solve the paper's sets.
#: The paper's Llama split has no validation set ("": none); bring one with ``validation_set=<path>``.
DEFAULT_SETS: dict[str, tuple[str, str, str]] = {
    "tiny": ("tiny_hard_train", "tiny_hard_validation", "tiny_hard_test"),
    "full": ("ladder_llama_train", "", "ladder_llama_test"),
}
SPLITS = ("train", "validation", "test")

PROMPT_STYLES = ("instruct", "compact")


@dataclass
class VerifierNode:
    """Verifier settings; mirrors ``ladder_integration.verify.VerifierConfig`` (same names and defaults).

    ``mode``: ``derivative`` (numeric derivative at many points, the default),
    ``paper`` (alias ``quadrature``: the paper's interval check) or
    ``simplify`` (a slow baseline). ``timeout_s`` is a hard per-check limit
    enforced by killing the worker process; ``workers=0`` means one per CPU;
    ``memory_mb`` caps each worker's address space. The remaining fields tune
    the derivative check (``points``, ``deriv_rtol``), the paper check
    (``n_intervals``, ``interval_len``, ``domain``, ``rtol``, ``retries``,
    ``attempt_timeout_s``) and definite integrals (``definite_rtol``). Keys
    the installed verifier does not know are ignored when it is built.
    """

    mode: str = "derivative"
    timeout_s: float = 2.0
    workers: int = 0
    memory_mb: int = 1024
    spare_workers: int = 1
    batch_size: int = 16
    seed: int = 0
    points: int = 48
    deriv_rtol: float = 1e-13
    n_intervals: int = 5
    interval_len: float = 0.1
    domain: list[float] = field(default_factory=lambda: [-10.0, 10.0])
    rtol: float = 1e-2
    retries: int = 3
    attempt_timeout_s: float = 2.0
    definite_rtol: float = 1e-8

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class IntegrationConfig:
    """Config of the integration domain.

    ``train_set``/``validation_set``/``test_set`` name shipped problem sets (or
    paths to JSONL files); ``"auto"`` picks ``tiny_hard_*`` for the tiny model
    and the paper's ``ladder_llama_*`` sets otherwise (which have no validation
    set: ``""``). Tune on validation; report test once. ``eval_sets`` are extra sets evaluated
    alongside the test set. ``prompt_style`` is ``instruct`` (paper prompt),
    ``compact`` (the tiny model's ``integrate(f, x)\\n``) or ``auto``.
    ``variant_timeout_s`` bounds canonicalisation/validation of one variant;
    ``max_problem_chars`` rejects longer variants as ``too_long``.
    """

    name: str = "integration"
    train_set: str = AUTO
    test_set: str = AUTO
    validation_set: str = AUTO
    eval_sets: list[str] = field(default_factory=list)
    prompt_style: str = AUTO
    verifier: VerifierNode = field(default_factory=VerifierNode)
    variant_timeout_s: float = 2.0
    max_problem_chars: int = 400


def _scale(model_scale: str) -> str:
    return "tiny" if model_scale == "tiny" else "full"


def resolve_set(value: str, split: str, model_scale: str) -> str:
    """The problem set name (or path) for ``split`` once ``"auto"`` is resolved ("" = no such set)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if value != AUTO:
        return value
    return DEFAULT_SETS[_scale(model_scale)][SPLITS.index(split)]


def resolve_prompt_style(value: str, model_scale: str) -> str:
    """``instruct`` or ``compact`` once ``"auto"`` is resolved; rejects unknown styles."""
    if value == AUTO:
        return "compact" if _scale(model_scale) == "tiny" else "instruct"
    if value not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt_style {value!r}; expected one of {', '.join(PROMPT_STYLES)} or 'auto'")
    return value


def coerce_config(cfg: Any) -> IntegrationConfig:
    """An :class:`IntegrationConfig` from ``None``, itself, a mapping or an OmegaConf ``DictConfig``.

    Unknown keys (top level or in the verifier node) raise ``ValueError``
    naming them, so a typo in a YAML override does not pass silently.
    """
    config = coerce_node(IntegrationConfig, cfg, where="integration")
    if cfg is not None and not isinstance(cfg, IntegrationConfig):
        config.eval_sets = list(config.eval_sets or [])
    return config
