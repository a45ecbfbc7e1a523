"""The single exception type of the parser, so callers need exactly one ``except``."""

from __future__ import annotations


class ParseError(ValueError):
    """Text that the parser refuses, with a short human-readable ``reason``.

    Reasons that start with ``"unsupported:"`` mark notation the parser knows about and
    deliberately does not handle (sums, limits, the fractional part ``{x}``, free
    parameters...), as opposed to malformed or hostile input.
    """

    def __init__(self, reason: str, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        where = f" (at offset {position})" if position is not None else ""
        super().__init__(f"{reason}{where}")


UNSUPPORTED = "unsupported: "
