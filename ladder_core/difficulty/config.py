"""``CurriculumConfig``: the ``curriculum:`` section of the Hydra config as a typed record.

Field names and defaults mirror ``conf/config.yaml``; :meth:`from_dict`
rejects unknown keys so a misspelled knob fails at start-up, not silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

MODES = ("adaptive", "uniform", "roots_only")


@dataclass(frozen=True)
class CurriculumConfig:
    """Knobs of the curriculum sampler and of dynamic sampling (see ``conf/config.yaml``).

    mode: ``adaptive`` (tree-aware), ``uniform`` (every tree node alike) or
        ``roots_only`` (RL without variants), the last two for ablations.
    prior_alpha, prior_beta: Beta prior of every node's success rate.
    band_low, band_high: success band where a node is learnable; below
        ``band_low`` (with ``min_trials`` of evidence) a node is out of reach
        and its easier children are explored instead.
    mastered: success above which a node is mastered; sampled with
        ``mastered_weight`` (rarely, never zero).
    root_probe_rate: share of each batch spent on the roots, round robin.
    decay: per-update forgetting of a node's old evidence (1.0 = none).
    min_trials: evidence needed before a node may be called out of reach.
    hard_weight: sampling weight of an out-of-reach node (it is re-tried
        now and then, since practice on its neighbours may have lifted it).
    revisit_fraction: share of a node's tried children that must be
        mastered before an out-of-reach node comes back (its estimate is
        then treated as stale).
    dynamic_sampling, replacement_budget: replace zero-variance groups, with at
        most this many extra generation rounds per batch.
    """

    mode: str = "adaptive"
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    band_low: float = 0.2
    band_high: float = 0.8
    mastered: float = 0.9
    mastered_weight: float = 0.05
    root_probe_rate: float = 0.1
    decay: float = 0.98
    min_trials: int = 8
    hard_weight: float = 0.05
    revisit_fraction: float = 0.5
    dynamic_sampling: bool = True
    replacement_budget: int = 2

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"curriculum.mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.prior_alpha <= 0 or self.prior_beta <= 0:
            raise ValueError("curriculum.prior_alpha and prior_beta must be > 0")
        if not 0.0 <= self.band_low < self.band_high <= self.mastered <= 1.0:
            raise ValueError("curriculum needs 0 <= band_low < band_high <= mastered <= 1, got "
                             f"{self.band_low}, {self.band_high}, {self.mastered}")
        for name in ("mastered_weight", "hard_weight"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"curriculum.{name} must be in (0, 1] (never zero: nodes stay reachable)")
        if not 0.0 <= self.root_probe_rate <= 1.0:
            raise ValueError("curriculum.root_probe_rate must be in [0, 1]")
        if not 0.0 < self.decay <= 1.0:
            raise ValueError("curriculum.decay must be in (0, 1]")
        if self.min_trials < 1:
            raise ValueError("curriculum.min_trials must be >= 1")
        if not 0.0 < self.revisit_fraction <= 1.0:
            raise ValueError("curriculum.revisit_fraction must be in (0, 1]")
        if self.replacement_budget < 0:
            raise ValueError("curriculum.replacement_budget must be >= 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "CurriculumConfig":
        """Build from a plain mapping (missing keys take defaults; unknown keys are an error)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown curriculum option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        types = {f.name: f.type for f in fields(cls)}  # strings: this module uses postponed annotations
        return cls(**{key: _coerce(key, types[key], value) for key, value in data.items()})

    @classmethod
    def from_cfg(cls, cfg: Any) -> "CurriculumConfig":
        """Build from a Hydra/OmegaConf config: the whole run config or its ``curriculum`` node."""
        try:
            from omegaconf import OmegaConf
        except ImportError:  # pragma: no cover - omegaconf is a hard dependency
            OmegaConf = None  # type: ignore[assignment]
        if OmegaConf is not None and OmegaConf.is_config(cfg):
            cfg = OmegaConf.to_container(cfg, resolve=True)
        if not isinstance(cfg, Mapping):
            raise TypeError(f"expected a config mapping, got {type(cfg).__name__}")
        return cls.from_dict(cfg["curriculum"] if "curriculum" in cfg else cfg)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(key: str, kind: str, value: Any) -> Any:
    """YAML-friendly type check: ints pass as floats, integral floats as ints, nothing else converts."""
    ok = True
    if kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "str":
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(f"curriculum.{key} must be a {kind}, got {value!r}")
    return value
