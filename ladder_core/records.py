"""Typed records that cross module and plugin boundaries.

Everything a domain plugin hands to the core, and everything the core stores
on disk, is one of these small dataclasses rather than a dict of loose keys,
so that a misspelled field fails at construction instead of deep inside a
training run. This module imports only the standard library: plugins import
it at load time and ``ladder --help`` must stay fast.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ladder_core.domain import Domain, DomainContext, RewardFunction, VariantGenerator


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


@dataclass(frozen=True)
class TreeNode:
    """One node of a variant tree (roots included): the one node record of the tree builder, the trainer
    and the curriculum, and one line of ``variants/nodes.jsonl``.

    ``id``/``parent_id``/``depth``/``root_id`` place the node (a root has
    depth 0 and no parent); ``text`` is the problem in the domain's notation.
    The rest is how the node was made: ``transformations`` the rewrites the
    generator was asked to apply (or says it applied); ``persona`` and
    ``temperature`` what an LLM generator really used (empty/``None`` for
    programmatic ones); ``generator`` the generator's registered name and
    ``model`` the model behind it; ``seq`` numbers a root's variants in
    acceptance order (the root is 0) and ``round`` is the generation round.
    The curriculum reads only the placement, so a node built from the
    placement alone (``TreeNode("r", None, 0, "r")``) is a valid one.
    """

    SCHEMA_VERSION: ClassVar[int] = 1

    id: str
    parent_id: str | None
    depth: int
    root_id: str
    text: str = ""
    canonical: str = ""
    transformations: tuple[str, ...] = ()
    persona: str = ""
    temperature: float | None = None
    generator: str = ""
    model: str = ""
    note: str = ""
    source: str = ""
    seq: int = 0
    round: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_root(self) -> bool:
        return self.depth == 0

    def to_problem(self) -> Problem:
        """The node as a :class:`Problem` a domain can verify, prompt for, or vary further."""
        meta = dict(self.meta) if self.is_root else {}
        meta.update({"root_id": self.root_id, "parent_id": self.parent_id, "depth": self.depth})
        return Problem(id=self.id, text=self.text, source=self.source, meta=meta)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: lists instead of tuples, and ``meta`` as a JSON string.

        ``meta`` holds whatever a domain put on its root problems; encoding it
        keeps every row's columns the same type, so Arrow never fails to
        infer one schema for the whole file (``datasets.load_dataset("json")``).
        """
        data = asdict(self)
        data["transformations"] = list(self.transformations)
        data["meta"] = json.dumps(self.meta, sort_keys=True, default=str)
        data["schema_version"] = self.SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeNode:
        """Inverse of :meth:`to_dict`; an unknown key is an error (``schema_version`` is checked by the reader)."""
        values = {k: v for k, v in data.items() if k != "schema_version"}
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown tree-node field(s) {', '.join(unknown)}")
        values["transformations"] = tuple(values.get("transformations") or ())
        meta = values.get("meta") or {}
        values["meta"] = dict(json.loads(meta) if isinstance(meta, str) else meta)
        temperature = values.get("temperature")
        values["temperature"] = None if temperature is None else float(temperature)
        values["depth"] = int(values["depth"])
        return cls(**values)

    @classmethod
    def from_root(cls, problem: Problem) -> TreeNode:
        """The depth-0 node of a root problem (its meta, e.g. a reference answer, is carried)."""
        return cls(id=problem.id, parent_id=None, depth=0, root_id=problem.id, text=problem.text,
                   source=problem.source, seq=0, round=0, meta=dict(problem.meta))

    @classmethod
    def from_record(cls, record: Any) -> TreeNode:
        """The placement and text of any tree-node-like object or mapping (e.g. a benchmark's rows)."""
        get = record.get if isinstance(record, dict) else (lambda k, d=None: getattr(record, k, d))
        parent = get("parent_id")
        return cls(id=str(get("id")), parent_id=None if parent is None else str(parent), depth=int(get("depth")),
                   root_id=str(get("root_id")), text=str(get("text", "") or ""))


# ------------------------------------------------------------------ what plugins contribute
@dataclass(frozen=True)
class DomainSpec:
    """A domain a plugin offers.

    ``config`` is the Hydra config node registered as ``domain/<name>`` (a
    dataclass instance or a plain mapping; it must have a ``name`` field equal
    to ``name``). ``factory(domain_cfg, context)`` builds the
    :class:`~ladder_core.domain.Domain` object; it is called only when a run
    needs the domain, so it may import heavy libraries.
    """

    name: str
    config: Any
    factory: Callable[[Any, DomainContext], Domain]
    description: str = ""


@dataclass(frozen=True)
class VariantGeneratorSpec:
    """A variant generator a plugin offers (selected by ``variants.generators``).

    ``domains`` restricts it to some domains (empty = any domain).
    ``factory(domain, run_cfg)`` returns a
    :class:`~ladder_core.domain.VariantGenerator`; ``run_cfg`` is the whole
    composed run config: read the core's knobs typed, with their defaults, as
    ``VariantsConfig.of(run_cfg)`` / ``GeneratorConfig.of(run_cfg)``
    (:mod:`ladder_core.schema`); your own knobs belong in your domain's node.
    """

    name: str
    factory: Callable[[Domain, Any], VariantGenerator]
    domains: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RewardSpec:
    """An extra reward function (selected by ``reward.extra``; weight in ``reward.weights``).

    ``factory(domain, reward_cfg)`` returns a TRL-compatible reward function.
    ``domains`` restricts it to some domains (empty = any domain): in a run of
    another domain it is not applied (with a warning), even when listed in
    ``reward.extra``.
    """

    name: str
    factory: Callable[[Domain, Any], RewardFunction]
    domains: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped inside a package, usable as ``${ladder_embedded:<name>}`` in model configs.

    ``domains`` names the domains it was trained for; a run of another domain
    with it gets a warning (it runs, but its numbers mean little).
    """

    name: str
    path: Path
    description: str = ""
    domains: tuple[str, ...] = ()
