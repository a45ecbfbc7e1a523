"""``CurriculumConfig``: the ``curriculum:`` section of the run config as a typed record.

It is the schema's ``curriculum`` section (:mod:`ladder_core.schema`): its
defaults, documentation and ranges are written here once. :meth:`from_dict`
rejects unknown keys so a misspelled knob fails at start-up, not silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from ladder_core.config_nodes import ConfigError, check_fields, knob

MODES = ("adaptive", "uniform", "roots_only")


@dataclass(frozen=True)
class CurriculumConfig:
    """The curriculum sampler and dynamic sampling (DAPO): which tree nodes each step trains on."""

    mode: str = knob("adaptive", "adaptive (tree-aware), uniform (every tree node alike) or roots_only (RL without "
                                 "variants); the last two for ablations.", choices=MODES)
    prior_alpha: float = knob(1.0, "Beta prior of every node's success rate (alpha).", gt=0)
    prior_beta: float = knob(1.0, "Beta prior of every node's success rate (beta).", gt=0)
    band_low: float = knob(0.2, "Below this success (after min_trials) a node is out of reach and its easier "
                                "children are explored instead; nodes in [band_low, band_high] weigh 4p(1-p).",
                           ge=0, le=1)
    band_high: float = knob(0.8, "Top of the learnable band; above it the weight ramps down to mastered_weight.",
                            ge=0, le=1)
    mastered: float = knob(0.9, "Success above which a node is mastered.", ge=0, le=1)
    mastered_weight: float = knob(0.05, "Sampling weight of a mastered node (rare, never zero).", gt=0, le=1)
    root_probe_rate: float = knob(0.1, "Share of each batch spent probing the roots, round robin.", ge=0, le=1)
    decay: float = knob(0.98, "Forgetting of old evidence per trial (1.0 = none): a node is judged on about its "
                              "last 1/(1-decay) completions.", gt=0, le=1)
    min_trials: int = knob(8, "Completions needed before a node may be called out of reach or mastered.", ge=1)
    hard_weight: float = knob(0.05, "Sampling weight of an out-of-reach node (re-tried now and then; its children "
                                    "get the mass).", gt=0, le=1)
    revisit_fraction: float = knob(0.5, "Share of an out-of-reach node's tried children that must be mastered "
                                        "before it comes back.", gt=0, le=1)
    dynamic_sampling: bool = knob(True, "Replace groups whose rewards are all equal (DAPO dynamic sampling).")
    replacement_budget: int = knob(2, "Extra generation rounds allowed per batch to replace zero-variance groups.",
                                   ge=0)

    def __post_init__(self) -> None:
        check_fields(self, "curriculum")
        if not self.band_low < self.band_high <= self.mastered:
            raise ConfigError("curriculum.band_low", self.band_low,
                              f"band_low < band_high ({self.band_high}) <= mastered ({self.mastered})",
                              message="curriculum needs 0 <= band_low < band_high <= mastered <= 1, got "
                                      f"{self.band_low}, {self.band_high}, {self.mastered}")

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
