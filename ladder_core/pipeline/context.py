"""What every stage needs: the config, the run directory, the domain and the models, built lazily.

``cfg`` is the composed run config: its sections are typed by
:mod:`ladder_core.schema`, so every key exists with its default and reads as
``cfg.section.key`` (no getters with fallback defaults).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ladder_core.domain import Domain, DomainContext
from ladder_core.plugins import PluginHost
from ladder_core.prompting import PromptFormat
from ladder_core.records import Problem

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    cfg: Any
    host: PluginHost
    run_dir: Path
    _domain: Domain | None = field(default=None, repr=False)

    @property
    def domain(self) -> Domain:
        if self._domain is None:
            spec = self.host.domain(str(self.cfg.domain.name))
            self._domain = spec.factory(self.cfg.domain, DomainContext(
                model_scale=str(self.cfg.model.scale), seed=int(self.cfg.seed), run_dir=self.run_dir))
        return self._domain

    @property
    def prompt_format(self) -> PromptFormat:
        return PromptFormat.from_config(self.cfg)

    def stage_dir(self, stage: str) -> Path:
        path = self.run_dir / stage
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ---------------------------------------------------------------- problems
    def test_problems(self) -> list[Problem]:
        problems = self.domain.load_problems("test")
        limit = self.cfg.evaluation.max_problems
        return problems[: int(limit)] if limit else problems

    def train_problems(self) -> list[Problem]:
        return self.domain.load_problems("train")

    # ------------------------------------------------------------------ models
    def trained_model_dir(self) -> Path | None:
        final = self.run_dir / "train" / "final"
        return final if (final / "config.json").exists() else None

    def load_model(self, trained: bool) -> tuple[Any, Any]:
        """The base policy, or the trained one from ``train/final`` when ``trained`` and it exists."""
        from omegaconf import OmegaConf

        from ladder_core.models import load_policy

        model_cfg = self.cfg.model
        if trained:
            final = self.trained_model_dir()
            if final is None:
                log.warning("no trained model in %s; using the base model", self.run_dir / "train" / "final")
            else:
                model_cfg = OmegaConf.merge(model_cfg, {"name_or_path": str(final)})
        return load_policy(model_cfg, device=str(self.cfg.trainer.device))

    def text_generator(self, model: Any, tokenizer: Any) -> Any:
        """The evaluation/TTRL sampler on the policy in memory: the run's one vLLM engine when
        ``trainer.use_vllm`` and vLLM is installed, else batched transformers ``generate``."""
        from ladder_core.generation.engine import policy_text_generator

        return policy_text_generator(self.cfg, model, tokenizer, batch_size=int(self.cfg.evaluation.batch_size),
                                     chat_template=self.prompt_format.chat, name=str(self.cfg.model.name),
                                     max_prompt_tokens=self.cfg.model.max_prompt_length)

    # ------------------------------------------------------------- bookkeeping
    def record_timing(self, stage: str, seconds: float) -> None:
        from ladder_core.artifacts import StageTimings, read_json, write_json

        path = self.run_dir / "timings.json"
        timings = read_json(path, StageTimings) if path.exists() else StageTimings()
        write_json(path, timings.with_stage(stage, seconds))

    def close(self) -> None:
        if self._domain is not None:
            self._domain.close()

