"""``parse_expression``: an answer's text to a SymPy expression, without ``eval``."""

from __future__ import annotations

from collections.abc import Iterable

import sympy

from . import build, light
from .errors import ParseError
from .lexer import tokenize
from .limits import DEFAULT_LIMITS, ParseLimits
from .parser import Context, Parser

_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_SYMBOLS: dict[str, sympy.Symbol] = {}


def symbol(name: str) -> sympy.Symbol:
    """Plain (assumption-free) symbol, cached: the same object every parse."""
    sym = _SYMBOLS.get(name)
    if sym is None:
        if len(_SYMBOLS) > 10_000:
            _SYMBOLS.clear()
        sym = _SYMBOLS[name] = sympy.Symbol(name)
    return sym


def strip_math_delimiters(text: str) -> str:
    """Remove one pair of ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]`` around the text."""
    text = text.strip()
    for left, right in _WRAPPERS:
        if len(text) >= len(left) + len(right) and text.startswith(left) and text.endswith(right):
            return text[len(left) : len(text) - len(right)].strip()
    return text


def parse_expression(
    text: str,
    *,
    variables: Iterable[str] = ("x",),
    constants_of_integration: Iterable[str] = ("C",),
    drop_constants: bool = True,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> sympy.Expr:
    """Parse SymPy-style or LaTeX text into a SymPy expression built from a whitelist.

    Names resolve, in order, to: a variable, a constant of integration, ``pi``/``e``/``E``,
    a whitelisted function; anything else is refused (after trying to split run-together
    names such as ``xsinx``).  With ``drop_constants`` the constants of integration are
    removed: additive terms made only of them vanish (``F + C`` -> ``F``) and any other
    occurrence is set to 0.  Raises only :class:`ParseError`.
    """
    if not isinstance(text, str):
        raise ParseError("input is not a string")
    if len(text) > limits.max_chars:
        raise ParseError(f"input longer than {limits.max_chars} characters")
    try:
        var_map = {name: symbol(name) for name in variables}
        const_map = {name: symbol(name) for name in constants_of_integration if name not in var_map}
        parser = _parser(text, var_map, const_map, limits, build.SYMPY)
        expr = parser.parse_all()
        if parser.saw_constant and drop_constants:
            expr = _drop_constants(expr, set(const_map.values()), set(var_map.values()), limits)
        build.check_tree(expr)
        return expr
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("expression nested too deeply") from None
    except Exception as exc:  # SymPy internals on odd input: still only ParseError out
        raise ParseError(f"cannot build expression: {type(exc).__name__}") from None


def parse_light(
    text: str,
    *,
    variables: Iterable[str] = ("x",),
    constants_of_integration: Iterable[str] = ("C",),
    limits: ParseLimits = DEFAULT_LIMITS,
) -> light.Node:
    """The verifier's fast path: ``text`` as a light numeric tree (:mod:`.light`), the
    constants of integration kept as symbols. Raises :class:`~.light.Defer` for anything
    that needs SymPy's construction, and :class:`ParseError` for any refusal (the caller
    then parses with :func:`parse_expression`, whose verdict on the text counts)."""
    if not isinstance(text, str) or len(text) > limits.max_chars:
        raise light.Defer
    var_map = {name: symbol(name) for name in variables}
    const_map = {name: symbol(name) for name in constants_of_integration if name not in var_map}
    try:
        return _parser(text, var_map, const_map, limits, light.LIGHT).parse_all()
    except (ParseError, light.Defer):
        raise
    except Exception:  # noqa: BLE001 - RecursionError, odd input: let SymPy's path decide
        raise light.Defer from None


def _parser(text: str, var_map: dict, const_map: dict, limits: ParseLimits, builder) -> Parser:
    ctx = Context(var_map, const_map, problem=False, limits=limits, builder=builder)
    tokens = tokenize(strip_math_delimiters(text), limits)
    if not tokens:
        raise ParseError("empty expression")
    return Parser(tokens, ctx)


def _drop_constants(expr, constants: set, variables: set, limits: ParseLimits):
    """Remove constant-of-integration terms, then set remaining occurrences to 0."""
    free = expr.free_symbols
    if not free & constants:
        return expr
    if not free & variables and free <= constants:
        return build.ZERO
    if expr.is_Add:
        kept = [t for t in expr.args if not (t.free_symbols & constants and not t.free_symbols & variables)]
        expr = sympy.Add(*kept)
        if not expr.free_symbols & constants:
            return expr
    return _substitute_zero(expr, constants, limits)


def _substitute_zero(expr, constants: set, limits: ParseLimits):
    """Rebuild ``expr`` with the constants set to 0, through the guarded power."""
    if expr in constants:
        return build.ZERO
    if not expr.args or not expr.free_symbols & constants:
        return expr
    args = [_substitute_zero(a, constants, limits) for a in expr.args]
    return build.rebuild(expr, args, limits)  # 1/C becomes zoo, which check_tree refuses
