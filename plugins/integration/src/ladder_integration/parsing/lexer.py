"""Tokenizer shared by plain SymPy-style text and LaTeX.

Produces ``(kind, value, offset)`` tuples with kind one of ``num``, ``name``, ``cmd`` (a
LaTeX command without its backslash) and ``op``.  ``op`` values are ``+ - * / ^ ( ) { }
[ ] , | _`` plus ``abs(`` and ``abs)`` for explicit LaTeX bars (``\\left|``, ``\\rvert``).
``**`` is folded into ``^``; spacing commands and ``\\left``/``\\right`` prefixes vanish.
"""

from __future__ import annotations

import re

from . import latex
from .errors import ParseError
from .limits import DEFAULT_LIMITS, ParseLimits

Token = tuple  # (kind: str, value: str, offset: int)
EOF = ("eof", "", -1)

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
   |(?P<name>[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*|__[A-Za-z0-9_]*)
   |(?P<cmd>\\(?:[A-Za-z]+|.))
   |(?P<op>\*\*|[-+*/^(){}\[\],|_])
    """,
    re.VERBOSE | re.DOTALL,
)

_BAD_CHARS = {
    ".": "attribute access or stray '.' not allowed",
    "=": "assignment or equation ('=') not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "!": "unsupported: factorial",
    ";": "multiple statements not allowed",
    ":": "':' (lambda, slice, dict) not allowed",
    "#": "comments not allowed",
    "@": "'@' not allowed",
    "%": "modulo not supported",
    "<": "comparisons not allowed",
    ">": "comparisons not allowed",
    "&": "logical operators not allowed",
    "~": "'~' not allowed",
    "$": "stray '$' (math delimiters only around the whole answer)",
    "`": "backticks not allowed",
    "?": "'?' not allowed",
    "\x00": "NUL character not allowed",
}

_OPEN_DELIMS = {"(": "(", "[": "(", "\\{": "(", "\\lbrace": "(", "\\langle": "("}
_CLOSE_DELIMS = {")": ")", "]": ")", "\\}": ")", "\\rbrace": ")", "\\rangle": ")"}
_BAR_DELIMS = {"|", "\\|", "\\vert", "\\Vert", "\\lvert", "\\rvert", "\\lVert", "\\rVert", "\\mid"}
_DELIM_RE = re.compile(r"\s*(\\[A-Za-z]+|\\.|.)", re.DOTALL)


def _bad_char(text: str, pos: int) -> ParseError:
    char = text[pos]
    if text.startswith("...", pos):
        return ParseError("ellipsis '...' not allowed", pos)
    reason = _BAD_CHARS.get(char)
    if reason is None:
        reason = f"unexpected character {char!r}"
    return ParseError(reason, pos)


def tokenize(text: str, limits: ParseLimits = DEFAULT_LIMITS) -> list[Token]:
    """Split ``text`` into tokens, enforcing the length and token-count limits."""
    if len(text) > limits.max_chars:
        raise ParseError(f"input longer than {limits.max_chars} characters")
    if not text.isascii():
        text = text.translate(latex.UNICODE)
    tokens: list[Token] = []
    append = tokens.append
    match = _TOKEN_RE.match
    pos, end, max_tokens = 0, len(text), limits.max_tokens
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise _bad_char(text, pos)
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "cmd":
            name = value[1:]
            if name in latex.DELIMITER_PREFIXES:
                pos = _delimiter(text, m.end(), name, pos, append)
                continue
            if name in latex.IGNORED:
                pos = m.end()
                continue
            if name in latex.OPERATORS:
                append(("op", latex.OPERATORS[name], pos))
            elif name in latex.ABS_OPEN:
                append(("op", "abs(", pos))
            elif name in latex.ABS_CLOSE:
                append(("op", "abs)", pos))
            elif name in latex.ABS_EITHER:
                append(("op", "|", pos))
            elif name in ("{", "}"):
                append(("op", "(" if name == "{" else ")", pos))
            else:
                append(("cmd", name, pos))
        elif kind == "op":
            append(("op", "^" if value == "**" else value, pos))
        else:
            append((kind, value, pos))
        if len(tokens) > max_tokens:
            raise ParseError(f"more than {max_tokens} tokens")
        pos = m.end()
    return tokens


def _delimiter(text: str, pos: int, prefix: str, start: int, append) -> int:
    """Lex the delimiter after ``\\left``/``\\right``/``\\bigl``... and return the new offset."""
    m = _DELIM_RE.match(text, pos)
    if m is None:
        raise ParseError(f"missing delimiter after \\{prefix}", start)
    delim = m.group(1)
    side = "open" if prefix in ("left", "bigl", "Bigl", "biggl", "Biggl") else (
        "close" if prefix in ("right", "bigr", "Bigr", "biggr", "Biggr") else "either"
    )
    if delim == ".":
        pass
    elif delim in _OPEN_DELIMS:
        append(("op", "(", start))
    elif delim in _CLOSE_DELIMS:
        append(("op", ")", start))
    elif delim in _BAR_DELIMS:
        append(("op", {"open": "abs(", "close": "abs)", "either": "|"}[side], start))
    elif prefix in ("left", "right"):
        raise ParseError(f"unsupported delimiter {delim!r} after \\{prefix}", start)
    else:
        return pos  # \big used as a spacing hint before something that is not a delimiter
    return m.end()
