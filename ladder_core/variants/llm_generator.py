"""The core's ``llm`` variant generator: prompt a language model for easier variants.

Implements the paper's knobs: each prompt samples 3-5 rewrites from the
domain's transformation menu (``easier_fraction`` of them from the easier
group, the rest from the equivalent one), asks for a batch of ``batch``
variants, rotates personas, and cycles the sampling temperature over
0.8/1.0/1.2/1.4 -- really passed to the backend, which the authors' script
silently did not. All prompts of one ``propose`` call go to the backend in one
batched call per temperature. Every proposal records the transformations
asked for, the persona, the temperature used and the model's name.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ladder_core.domain import Domain
from ladder_core.generation import accepts_seed, generator_name
from ladder_core.records import Problem, VariantProposal
from ladder_core.variants.node import UNPARSEABLE_REPLY

logger = logging.getLogger(__name__)

PAPER_TEMPERATURES = (0.8, 1.0, 1.2, 1.4)
_REPLY_SNIPPET = 200


@dataclass(frozen=True)
class PromptJob:
    """One generation prompt: which problem, what was asked, and how it is sampled."""

    problem_index: int
    prompt: str
    asked: int
    transformations: tuple[str, ...]
    persona: str
    temperature: float


def sample_transformations(menu: Any, rng: random.Random, k_min: int, k_max: int,
                           easier_fraction: float) -> tuple[str, ...]:
    """``k_min..k_max`` distinct rewrites, each from the easier group with probability ``easier_fraction``.

    When the chosen group is used up the other one is drawn from; fewer are
    returned only if the whole menu is smaller than the number drawn.
    """
    easier = list(dict.fromkeys(menu.easier))
    equivalent = [t for t in dict.fromkeys(menu.equivalent) if t not in easier]
    k = rng.randint(k_min, k_max)
    chosen: list[str] = []
    for _ in range(k):
        first, second = (easier, equivalent) if rng.random() < easier_fraction else (equivalent, easier)
        pool = first or second
        if not pool:
            break
        chosen.append(pool.pop(rng.randrange(len(pool))))
    return tuple(chosen)


class LLMVariantGenerator:
    """A :class:`~ladder_core.domain.VariantGenerator` over any :class:`~ladder_core.generation.TextGenerator`.

    ``propose(problems, n, rng)`` writes ``ceil(n / batch)`` prompts per
    problem (each asking for up to ``batch`` variants) and returns at most
    ``n`` proposals per problem. A reply in which the domain finds no variant
    yields one placeholder proposal marked ``note=UNPARSEABLE_REPLY`` (its
    text is the start of the reply), which the tree builder counts as the
    rejection ``unparseable_reply``.
    """

    def __init__(
        self,
        domain: Domain,
        backend: Any,
        *,
        batch: int = 10,
        transformations_min: int = 3,
        transformations_max: int = 5,
        easier_fraction: float = 0.7,
        temperatures: Sequence[float] = PAPER_TEMPERATURES,
        max_new_tokens: int = 1024,
        top_p: float = 1.0,
        name: str = "llm",
    ) -> None:
        if batch < 1:
            raise ValueError(f"variants.batch must be >= 1, got {batch}")
        if not 1 <= transformations_min <= transformations_max:
            raise ValueError(f"need 1 <= transformations_min <= transformations_max, got "
                             f"{transformations_min}, {transformations_max}")
        if not 0.0 <= easier_fraction <= 1.0:
            raise ValueError(f"variants.easier_fraction must be in [0, 1], got {easier_fraction}")
        if not temperatures:
            raise ValueError("variants.temperatures must list at least one temperature")
        self.domain = domain
        self.backend = backend
        self.batch = int(batch)
        self.transformations_min = int(transformations_min)
        self.transformations_max = int(transformations_max)
        self.easier_fraction = float(easier_fraction)
        self.temperatures = tuple(float(t) for t in temperatures)
        self.max_new_tokens = int(max_new_tokens)
        self.top_p = float(top_p)
        self.name = name
        self.model_name = generator_name(backend)
        self._seeded = accepts_seed(backend)
        self.stats = {"prompts": 0, "backend_calls": 0, "replies_unparseable": 0, "asked": 0, "parsed": 0}

    @classmethod
    def from_config(cls, domain: Domain, cfg: Any) -> LLMVariantGenerator:
        """From the whole composed run config: ``variants`` knobs plus the backend of ``generator``.

        See :func:`ladder_core.generation.factory.build_text_generator` for the backends.
        """
        from ladder_core.generation.factory import build_text_generator
        from ladder_core.schema import GeneratorConfig, VariantsConfig

        variants, gen = VariantsConfig.of(cfg), GeneratorConfig.of(cfg)
        return cls(
            domain,
            build_text_generator(cfg),
            batch=variants.batch,
            transformations_min=variants.transformations_min,
            transformations_max=variants.transformations_max,
            easier_fraction=variants.easier_fraction,
            temperatures=variants.temperatures,
            max_new_tokens=gen.max_new_tokens,
            top_p=gen.top_p,
        )

    # ------------------------------------------------------------------ prompts
    def prompt_jobs(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[PromptJob]:
        """The prompts for one ``propose`` call: personas and temperatures cycle from a random offset."""
        menu = self.domain.transformation_menu()
        personas = list(self.domain.personas()) or [""]
        persona_offset = rng.randrange(len(personas))
        temp_offset = rng.randrange(len(self.temperatures))
        jobs: list[PromptJob] = []
        for index, problem in enumerate(problems):
            remaining = n
            for _ in range(math.ceil(n / self.batch)):
                asked = min(self.batch, remaining)
                remaining -= asked
                transformations = sample_transformations(menu, rng, self.transformations_min,
                                                         self.transformations_max, self.easier_fraction)
                k = len(jobs)
                persona = personas[(persona_offset + k) % len(personas)]
                temperature = self.temperatures[(temp_offset + k) % len(self.temperatures)]
                prompt = self.domain.variant_prompt(problem, list(transformations), persona, asked)
                jobs.append(PromptJob(index, prompt, asked, transformations, persona, temperature))
        return jobs

    # ------------------------------------------------------------------ propose
    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        """Up to ``n`` proposals per problem; one batched backend call per distinct temperature."""
        out: list[list[VariantProposal]] = [[] for _ in problems]
        if n < 1 or not problems:
            return out
        jobs = self.prompt_jobs(problems, n, rng)
        replies: list[str] = [""] * len(jobs)
        for temperature in sorted({j.temperature for j in jobs}):
            idx = [k for k, j in enumerate(jobs) if j.temperature == temperature]
            kwargs: dict[str, Any] = {"n": 1, "temperature": temperature, "max_new_tokens": self.max_new_tokens,
                                      "top_p": self.top_p}
            if self._seeded:
                kwargs["seed"] = rng.getrandbits(62)
            got = self.backend.generate([jobs[k].prompt for k in idx], **kwargs)
            self.stats["backend_calls"] += 1
            if len(got) != len(idx):
                raise RuntimeError(f"{self.model_name}: backend returned {len(got)} replies for {len(idx)} prompts")
            for k, completions in zip(idx, got, strict=True):
                replies[k] = completions[0] if completions else ""
        self.stats["prompts"] += len(jobs)
        for job, reply in zip(jobs, replies, strict=True):
            out[job.problem_index].extend(self._proposals(job, reply))
        return [props[:n] for props in out]

    def _proposals(self, job: PromptJob, reply: str) -> list[VariantProposal]:
        self.stats["asked"] += job.asked
        try:
            parsed = list(self.domain.parse_variant_reply(reply or ""))[:job.asked]
        except Exception as exc:  # noqa: BLE001 - model output is hostile input; a parser bug must not stop a run
            logger.warning("%s.parse_variant_reply raised %s: %s", self.domain.name, type(exc).__name__, exc)
            parsed = []
        self.stats["parsed"] += len(parsed)
        common = {"persona": job.persona, "temperature": job.temperature, "generator": self.model_name}
        if not parsed:
            self.stats["replies_unparseable"] += 1
            return [VariantProposal(text=(reply or "")[:_REPLY_SNIPPET], transformations=job.transformations,
                                    note=UNPARSEABLE_REPLY, **common)]
        # The node records the rewrites asked for; any the reply names itself go to the note.
        return [
            VariantProposal(text=p.text, transformations=job.transformations, note=_note(p), **common)
            for p in parsed
        ]

    def close(self) -> None:
        """Release the backend (model weights, HTTP pool). Safe to call twice."""
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


def _note(proposal: VariantProposal) -> str:
    applied = "; ".join(str(t) for t in proposal.transformations)
    parts = [str(proposal.note or "").strip(), f"applied: {applied}" if applied else ""]
    return " | ".join(p for p in parts if p)
