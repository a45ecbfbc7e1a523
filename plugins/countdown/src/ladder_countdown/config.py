"""The Countdown domain's config node (Hydra group ``domain``, name ``countdown``).

Plain dataclasses with OmegaConf-compatible field types: the same class is the
structured config in Hydra's ConfigStore (``ladder +domain=countdown
domain.verifier.timeout_s=0.5``) and a typed object in scripts and tests.
:func:`coerce_config` accepts ``None``, a dataclass, a mapping or a
``DictConfig`` and rejects unknown keys by name (through the core's
:func:`ladder_core.config_nodes.coerce_node`), so a typo in an override fails
instead of being ignored. Imports only the standard library and that
stdlib-only core module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ladder_core.config_nodes import coerce_node

AUTO = "auto"
PROMPT_STYLES = ("instruct", "compact")
VERIFIER_MODES = ("process", "inline")


@dataclass
class VerifierNode:
    """How answers are checked.

    ``mode="process"`` runs checks in ``workers`` killable worker processes
    with a hard ``timeout_s`` per check and a ``memory_mb`` address-space cap;
    ``mode="inline"`` checks in the calling thread, which is safe because the
    limits below bound the work (see ``ladder_countdown.verify``) and is
    about 1.5 times faster. ``max_answer_chars``, ``max_tokens``, ``max_depth``
    (parentheses) and ``max_digits`` (per number) are the parser's limits.
    """

    mode: str = "process"
    timeout_s: float = 1.0
    workers: int = 1
    memory_mb: int = 256
    max_answer_chars: int = 256
    max_tokens: int = 128
    max_depth: int = 16
    max_digits: int = 7


@dataclass
class GeneratorNode:
    """Knobs of the seeded problem generator (the ``generated_train``/``generated_test`` sets).

    Each problem has ``count_min``..``count_max`` numbers: up to ``large_max``
    drawn from ``large_numbers`` and the rest from 1..``small_max`` (each small
    number at most twice, as in the TV game). The target is uniform in
    ``target_min``..``target_max``, kept only if the bounded solver finds a
    solution within ``solver_max_nodes`` (deterministic, so the same seed gives
    the same set on any machine) and it needs at least ``min_operations``
    operations (2 = not one of the numbers and not one operation away).
    """

    size: int = 100
    seed: int = 0
    count_min: int = 4
    count_max: int = 6
    small_max: int = 10
    large_numbers: list[int] = field(default_factory=lambda: [25, 50, 75, 100])
    large_max: int = 2
    target_min: int = 100
    target_max: int = 999
    min_operations: int = 2
    solver_max_nodes: int = 200_000


@dataclass
class CountdownConfig:
    """Config of the Countdown domain.

    ``train_set``/``test_set`` name a shipped set (``train``, ``test``), a
    generated one (``generated_train``, ``generated_test``: built from
    ``generator``, test de-duplicated against train) or a path to a JSONL file
    of problems. ``prompt_style`` is ``instruct``, ``compact`` (the bare
    problem line, for tiny models trained on the notation) or ``auto``
    (compact for the tiny model scale). Variants are accepted only if the
    solver finds a solution within ``variant_timeout_s`` /
    ``variant_max_nodes``; ``max_numbers``, ``max_number`` and ``max_target``
    bound every problem the domain reads. ``rules_solver_max_nodes`` is the
    search budget of the ``countdown-rules`` variant generator's solver.
    """

    name: str = "countdown"
    train_set: str = "train"
    test_set: str = "test"
    eval_sets: list[str] = field(default_factory=list)
    prompt_style: str = AUTO
    verifier: VerifierNode = field(default_factory=VerifierNode)
    generator: GeneratorNode = field(default_factory=GeneratorNode)
    variant_timeout_s: float = 1.0
    variant_max_nodes: int = 200_000
    max_numbers: int = 8
    max_number: int = 10_000
    max_target: int = 1_000_000
    rules_solver_max_nodes: int = 5_000


def resolve_prompt_style(value: str, model_scale: str) -> str:
    """``instruct`` or ``compact`` once ``auto`` is resolved; rejects unknown styles."""
    if value == AUTO:
        return "compact" if model_scale == "tiny" else "instruct"
    if value not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt_style {value!r}; expected one of {', '.join(PROMPT_STYLES)} or 'auto'")
    return value


def coerce_config(cfg: Any) -> CountdownConfig:
    """A validated :class:`CountdownConfig` from ``None``, itself, a mapping or an OmegaConf ``DictConfig``."""
    if cfg is None:
        return CountdownConfig()
    config = coerce_node(CountdownConfig, cfg, where="countdown")
    if not isinstance(cfg, CountdownConfig):
        config.eval_sets = list(config.eval_sets or [])
    if config.name != "countdown":
        raise ValueError(f"the countdown domain's config must have name 'countdown', got {config.name!r}")
    if config.verifier.mode not in VERIFIER_MODES:
        raise ValueError(f"unknown verifier mode {config.verifier.mode!r}; expected one of {', '.join(VERIFIER_MODES)}")
    if config.verifier.timeout_s <= 0:
        raise ValueError("verifier.timeout_s must be positive")
    if config.verifier.workers < 1:
        raise ValueError("verifier.workers must be at least 1")
    return config
