"""``cfg.ttrl`` as a typed record, checked before any work starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TTRLSettings:
    """See ``conf/config.yaml`` (``ttrl:``) for each field.

    ``train_on_problem`` breaks the authors' protocol on purpose (the test
    problem becomes a training prompt and a verified rollout on it stops
    training: verifier-filtered best-of-N); the report labels it as such.
    """

    max_problems: int | None = None
    max_depth: int = 2
    variants_per_problem: int = 60
    max_steps: int = 20
    reset_weights: bool = True
    eval_samples: int = 8
    train_on_problem: bool = False

    def __post_init__(self) -> None:
        for name in ("max_depth", "variants_per_problem", "max_steps", "eval_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"ttrl.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_problems is not None and self.max_problems < 0:
            raise ValueError(f"ttrl.max_problems must be >= 0 or null, got {self.max_problems}")

    @classmethod
    def from_config(cls, cfg: Any) -> TTRLSettings:
        t = cfg.ttrl
        limit = t.get("max_problems")
        return cls(max_problems=None if limit is None else int(limit), max_depth=int(t.max_depth),
                   variants_per_problem=int(t.variants_per_problem), max_steps=int(t.max_steps),
                   reset_weights=bool(t.get("reset_weights", True)), eval_samples=int(t.eval_samples),
                   train_on_problem=bool(t.get("train_on_problem", False)))
