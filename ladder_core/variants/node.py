"""The record of one node of a variant tree (roots included), as stored on disk.

One flat JSON object per node, the same keys for every node, so the file of
all nodes loads directly with ``datasets.load_dataset("json", ...)`` and the
difficulty sampler reads ``(id, parent_id, depth, root_id, text)`` from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ladder_core.records import Problem


#: ``VariantProposal.note`` of the placeholder an LLM generator returns for a reply in which
#: ``parse_variant_reply`` found nothing, so the builder can count it (reason ``unparseable_reply``).
UNPARSEABLE_REPLY = "unparseable_reply"


def variant_id(root_id: str, seq: int) -> str:
    """The id of the ``seq``-th accepted variant of a root (1-based): ``<root_id>/v<seq>``."""
    return f"{root_id}/v{seq}"


@dataclass(frozen=True)
class VariantNode:
    """One problem of a root's tree: the root itself (depth 0) or a variant of its parent.

    ``transformations`` are the rewrites the generator was asked to apply
    (or says it applied); ``persona`` and ``temperature`` are what an LLM
    generator really used (empty/``None`` for programmatic ones);
    ``generator`` is the generator's registered name and ``model`` the model
    behind it. ``seq`` numbers a root's variants in acceptance order (the
    root is 0) and ``round`` is the generation round that produced the node.
    """

    id: str
    root_id: str
    parent_id: str | None
    depth: int
    text: str
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
        infer one schema for the whole file.
        """
        data = asdict(self)
        data["transformations"] = list(self.transformations)
        data["meta"] = json.dumps(self.meta, sort_keys=True, default=str)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VariantNode:
        """Inverse of :meth:`to_dict`; unknown keys (from newer versions) are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["transformations"] = tuple(values.get("transformations") or ())
        meta = values.get("meta") or {}
        values["meta"] = dict(json.loads(meta) if isinstance(meta, str) else meta)
        temperature = values.get("temperature")
        values["temperature"] = None if temperature is None else float(temperature)
        return cls(**values)

    @classmethod
    def from_root(cls, problem: Problem) -> VariantNode:
        """The depth-0 node of a root problem (its meta, e.g. a reference answer, is carried)."""
        return cls(id=problem.id, root_id=problem.id, parent_id=None, depth=0, text=problem.text,
                   source=problem.source, seq=0, round=0, meta=dict(problem.meta))
