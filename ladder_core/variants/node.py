"""Variant ids and markers; the node record itself is :class:`ladder_core.records.TreeNode`.

One flat JSON object per node, the same keys for every node, so the file of
all nodes loads directly with ``datasets.load_dataset("json", ...)`` and the
curriculum and the trainer use the very same record.
"""

from __future__ import annotations

#: ``VariantProposal.note`` of the placeholder an LLM generator returns for a reply in which
#: ``parse_variant_reply`` found nothing, so the builder can count it (reason ``unparseable_reply``).
UNPARSEABLE_REPLY = "unparseable_reply"


def variant_id(root_id: str, seq: int) -> str:
    """The id of the ``seq``-th accepted variant of a root (1-based): ``<root_id>/v<seq>``."""
    return f"{root_id}/v{seq}"
