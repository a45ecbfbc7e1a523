"""Typed records that cross module and plugin boundaries.

Everything a domain plugin hands to the core, and everything the core stores
on disk, is one of these small dataclasses rather than a dict of loose keys,
so that a misspelled field fails at construction instead of deep inside a
training run. This module imports only the standard library: plugins import
it at load time and ``ladder --help`` must stay fast.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class VerdictStatus(str, enum.Enum):
    """Outcome of checking one answer. Only ``CORRECT`` earns accuracy reward."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNPARSEABLE = "unparseable"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    """A verifier's structured answer. Verifiers return one; they never raise.

    ``reason`` is a short human-readable explanation ("derivative differs at
    x=1.37", "unknown name 'Integral'"); ``seconds`` is the wall time spent.
    """

    status: VerdictStatus
    reason: str = ""
    seconds: float = 0.0

    @property
    def correct(self) -> bool:
        return self.status is VerdictStatus.CORRECT

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "status": self.status.value, "reason": self.reason,
                "seconds": round(self.seconds, 6)}


@dataclass(frozen=True)
class Problem:
    """One problem of a domain, in the domain's own text notation.

    ``text`` is what the domain parses and what a variant generator rewrites
    (for integration ``integrate(x*sin(x), x)``); ``source`` names the problem
    set it came from; ``meta`` holds domain-specific extras that the core only
    carries along (for example a reference answer or a difficulty level).
    """

    id: str
    text: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class VariantProposal:
    """A candidate variant before filtering: text plus how it was obtained.

    Generators fill in what they know (an LLM generator records the persona
    and the temperature it really used); the tree stores it on the node.
    """

    text: str
    transformations: tuple[str, ...] = ()
    note: str = ""
    persona: str = ""
    temperature: float | None = None
    generator: str = ""


@dataclass(frozen=True)
class ValidatedVariant:
    """What ``Domain.validate_variant`` returns for an accepted candidate."""

    text: str
    canonical: str


@dataclass(frozen=True)
class VariantRejection:
    """What ``Domain.validate_variant`` returns for a rejected candidate.

    ``reason`` is a short machine-friendly key (``unparseable``, ``trivial``,
    ``same_as_parent``, ``timeout``...) counted in tree statistics; ``detail``
    is for people.
    """

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class TransformationMenu:
    """The domain's library of rewrites, grouped by their effect on difficulty."""

    easier: tuple[str, ...]
    equivalent: tuple[str, ...]
    harder: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProblemSetInfo:
    """A problem set a domain ships: name, size and where it comes from."""

    name: str
    size: int
    description: str = ""
