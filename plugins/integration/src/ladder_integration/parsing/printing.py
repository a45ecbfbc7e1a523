"""Canonical text for expressions: what ``parse_expression`` reads back unchanged."""

from __future__ import annotations

import sympy


def expression_to_text(expr: sympy.Expr) -> str:
    """SymPy's ``sstr``: plain ``**`` syntax, ``Abs``, ``exp``, ``sqrt``, ``pi``, ``E``.

    Parsing the result with matching ``variables`` gives back an equal expression
    (structurally equal when ``expr`` has no ``Float``; decimals come back as exact
    rationals).
    """
    return sympy.sstr(expr)
