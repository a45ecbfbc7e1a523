"""The problem splits of a run: train, validation (for tuning) and test (reported once, at the end)."""

from __future__ import annotations

from ladder_core.domain import Domain
from ladder_core.records import Problem


def validation_problems(domain: Domain, required: bool = False) -> list[Problem]:
    """The domain's validation split; empty when the domain has none (an error when ``required``)."""
    try:
        return list(domain.load_problems("validation"))
    except (ValueError, NotImplementedError, KeyError) as exc:
        if required:
            raise ValueError(f"evaluation.validation=true but domain {domain.name!r} has no validation split "
                             f"({exc})") from exc
        return []
