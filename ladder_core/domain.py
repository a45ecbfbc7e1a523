"""The contract between the domain-agnostic core and a domain plugin.

A domain is everything LADDER needs to know about one kind of problem: where
problems come from, how to ask a model to solve one, how to read and check an
answer, and how to ask for (and vet) easier variants. The core never looks
inside a problem's text; it only calls these methods.

Rules every implementation must keep, because they sit inside the RL loop:

* ``verify`` and ``verify_batch`` never raise. Hostile or malformed model
  output yields a :class:`~ladder_core.records.Verdict` with status
  ``unparseable``/``timeout``/``error`` and a reason.
* Every check is bounded in time by the domain itself (a worker process that
  is killed, not a ``signal.alarm`` that only works on the main thread).
* Model text is never evaluated as Python (no ``eval``, ``sympify``...).

This module imports only the standard library.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ladder_core.records import (
    Problem,
    ProblemSetInfo,
    TransformationMenu,
    ValidatedVariant,
    VariantProposal,
    VariantRejection,
    Verdict,
)


@dataclass(frozen=True)
class DomainContext:
    """What a domain factory may know about the run besides its own config.

    ``model_scale`` is ``"tiny"`` for the embedded CPU model and ``"full"`` for
    real models; a domain uses it to pick default problem sets and the prompt
    style. ``run_dir`` is ``None`` outside a pipeline run (tests, scripts).
    """

    model_scale: str = "full"
    seed: int = 0
    run_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Domain(abc.ABC):
    """Base class of every domain object (what a ``DomainSpec.factory`` returns)."""

    #: Registered domain name, e.g. ``"integration"``.
    name: str = ""

    # ---------------------------------------------------------------- problems
    @abc.abstractmethod
    def problem_sets(self) -> list[ProblemSetInfo]:
        """The problem sets this domain ships (names usable in its config)."""

    @abc.abstractmethod
    def load_problem_set(self, name: str) -> list[Problem]:
        """Load one shipped problem set, or a path to a JSONL file of problems.

        Raises ``ValueError`` listing the valid names for an unknown name.
        """

    @abc.abstractmethod
    def load_problems(self, split: str) -> list[Problem]:
        """Problems for ``split`` (``"train"``, ``"validation"`` or ``"test"``) as chosen by the domain config.

        A domain without a validation split returns ``[]`` or raises ``ValueError``
        for ``"validation"``; tuning then has nothing but the test set, and says so.
        """

    # ----------------------------------------------------------------- solving
    @abc.abstractmethod
    def solve_prompt(self, problem: Problem, style: str = "instruct") -> str:
        """The text asking a model to solve ``problem``.

        ``style="instruct"`` is the paper-style instruction (sent as the user
        message of a chat template); ``style="compact"`` is the terse format a
        tiny model trained on the domain's own notation expects.
        """

    @abc.abstractmethod
    def extract_answer(self, completion: str) -> str | None:
        """The final answer inside a completion (e.g. the last ``<ANSWER>`` block), or ``None``."""

    @abc.abstractmethod
    def has_answer_format(self, completion: str) -> bool:
        """Whether the completion is well formatted (earns the format reward)."""

    @abc.abstractmethod
    def verify(self, problem: Problem, completion: str) -> Verdict:
        """Check one completion against a problem. Never raises; bounded in time.

        During training the core rebuilds the problem from its ``id`` and
        ``text`` only (``meta`` does not travel through TRL's dataset), so
        everything a check needs must be in the text.
        """

    def verify_batch(self, problems: Sequence[Problem], completions: Sequence[str]) -> list[Verdict]:
        """Check many completions; domains override this to run checks in parallel."""
        return [self.verify(p, c) for p, c in zip(problems, completions, strict=True)]

    # ---------------------------------------------------------------- variants
    @abc.abstractmethod
    def transformation_menu(self) -> TransformationMenu:
        """Rewrites a generator may be asked to apply, grouped by difficulty effect."""

    @abc.abstractmethod
    def personas(self) -> Sequence[str]:
        """Persona lines rotated through variant-generation prompts for diversity."""

    @abc.abstractmethod
    def variant_prompt(self, problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
        """A prompt asking an LLM for ``n`` variants of ``problem`` using ``transformations``."""

    @abc.abstractmethod
    def parse_variant_reply(self, reply: str) -> list[VariantProposal]:
        """Candidate variants found in a generator's reply (unvalidated)."""

    @abc.abstractmethod
    def validate_variant(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        """Accept a candidate (with its canonical form for de-duplication) or say why not.

        Bounded in time; never raises. Rejection reasons are short keys that
        tree statistics count (``unparseable``, ``trivial``, ``same_as_parent``...).
        """

    @abc.abstractmethod
    def canonical_form(self, problem: Problem) -> str:
        """A canonical string for de-duplication (equal for trivially equal problems)."""

    def reference_solvable(self, problem: Problem, timeout_s: float) -> bool | None:
        """Whether a reference solver (a CAS...) solves ``problem`` in time; ``None`` if unknown."""
        return None

    def equivalence_key(self, problem: Problem) -> str | None:
        """A key equal for problems that are the same problem in different words, or ``None`` if unknown.

        Decontamination (:mod:`ladder_core.variants.decontaminate`) drops every
        training node whose canonical form *or* equivalence key equals an
        evaluation problem's, so the key may be coarser than the canonical form
        (integration: the integrand's values at fixed points). A false match
        only drops a training node, a missed one leaks a test problem, so err
        towards matching. ``problem.text`` may be model output: bounded work,
        no ``eval``/``sympify``; never raises (``None`` on any failure).
        """
        return None

    def pretraining_overlap(self, problems: Sequence[Problem], model: str) -> dict[str, str] | None:
        """Evaluation problems the ``model`` (a ``model.name_or_path``) was trained on before any run, by id ->
        where (a training stage's name); ``None`` when the domain cannot tell for that model (the default).

        Decontamination keeps evaluation problems out of what *ladder* trains on; a model's own
        pre-training is outside that. A domain that ships an embedded model knows its training data
        and can say which evaluation problems it saw (integration: ``tinymodel/pretraining.py``).
        The baseline stage records the answer and the report shows it.
        """
        return None

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release worker processes and other resources. Safe to call twice."""

    def __enter__(self) -> Domain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class VariantGenerator(Protocol):
    """Anything that proposes variants of a problem (programmatic rules, an LLM...)."""

    name: str

    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        """Up to ``n`` proposals for each problem, in one batch (LLM generators batch requests)."""
        ...


@runtime_checkable
class RewardFunction(Protocol):
    """A TRL-compatible reward function, plus the ``problems`` column ladder adds."""

    __name__: str

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        ...
