"""An eval-free parser and exact evaluator for Countdown answers.

Model output is hostile input, so an answer is never handed to Python's
``eval`` or to a CAS. Instead a small tokenizer and recursive-descent parser
accept exactly this grammar (no unary operators, whole numbers only)::

    expr   := term   (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := NUMBER | "(" expr ")"

and :func:`evaluate` computes the value with :class:`fractions.Fraction`, so
``(7 / 3) * 3`` is exactly 7 and a division by zero is a clear error rather
than a float ``inf``.

Why the work is bounded: :class:`ExpressionLimits` caps the text length,
the token count, the parenthesis depth and the digits of each number *before*
any arithmetic, so parsing is linear in at most ``max_chars`` characters and
recursion is at most ``3 * max_depth`` frames deep. The verifier evaluates
only after checking that the numbers used are a sub-multiset of the puzzle's
(at most ``PuzzleLimits.max_numbers`` numbers below ``max_number``), so every
intermediate numerator and denominator stays below ``max_number ** max_numbers``
(10**32 with the defaults): a handful of operations on ~100-bit integers.

This module imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

OPERATORS = "+-*/"


class ParseError(ValueError):
    """The text is not a Countdown expression (or breaks a limit); the message says why."""


class EvaluationError(ArithmeticError):
    """A well-formed expression that has no value (division by zero)."""


@dataclass(frozen=True)
class ExpressionLimits:
    """Hard caps checked before any arithmetic; see the module docstring for the bound they give."""

    max_chars: int = 256
    max_tokens: int = 128
    max_depth: int = 16
    max_digits: int = 7


DEFAULT_LIMITS = ExpressionLimits()


@dataclass(frozen=True)
class Num:
    """A whole number as written in the answer."""

    value: int


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * /``."""

    op: str
    left: Expr
    right: Expr


Expr = Num | BinOp

# Spellings models use for the four operators; mapped before tokenizing.
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("\\times", "*"),
    ("\\cdot", "*"),
    ("\\div", "/"),
    ("\\left", ""),
    ("\\right", ""),
    ("\u00d7", "*"),  # multiplication sign
    ("\u22c5", "*"),  # dot operator
    ("\u00b7", "*"),  # middle dot
    ("\u2217", "*"),  # asterisk operator
    ("\u00f7", "/"),  # division sign
    ("\u2215", "/"),  # division slash
    ("\u2212", "-"),  # minus sign
    ("\u2013", "-"),  # en dash
    ("\u2014", "-"),  # em dash
)
_TOKEN_RE = re.compile(r"\s*(?:([0-9]+)|([-+*/()]))")
_WRAPPERS = "$`"


def normalise_answer(text: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> str:
    """The expression part of an answer, with common operator spellings mapped to ASCII.

    Drops a trailing ``= value`` (models like to write ``25*7+3 = 178``; only
    the left side is graded), surrounding ``$``/backticks, LaTeX ``\\times``,
    ``\\div``, ``\\cdot`` and Unicode ``×``, ``÷``, ``−``. Overlong text is
    refused before any rewriting so the work stays linear in ``max_chars``.
    """
    if not isinstance(text, str):
        raise ParseError(f"answer must be text, got {type(text).__name__}")
    if len(text) > 4 * limits.max_chars:
        raise ParseError(f"answer is too long ({len(text)} characters; limit {limits.max_chars})")
    text = text.strip().strip(_WRAPPERS).strip()
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = text.replace("\\(", "").replace("\\)", "").replace("{", "(").replace("}", ")")
    if "=" in text:
        text = text.split("=", 1)[0]
    text = text.strip()
    if len(text) > limits.max_chars:
        raise ParseError(f"expression is too long ({len(text)} characters; limit {limits.max_chars})")
    return text


def tokenize(text: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> list[str]:
    """Tokens of ``text`` (numbers as digit strings, operators, parentheses), all limits enforced.

    Raises :class:`ParseError` naming the first offending character or limit.
    """
    if len(text) > limits.max_chars:
        raise ParseError(f"expression is too long ({len(text)} characters; limit {limits.max_chars})")
    tokens: list[str] = []
    depth = 0
    pos = 0
    end = len(text.rstrip())
    while pos < end:
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            bad = text[pos:].lstrip()[:1]
            hint = " (only whole numbers are allowed)" if bad == "." else ""
            raise ParseError(f"unexpected character {bad!r} at position {pos}{hint}")
        pos = match.end()
        number, symbol = match.groups()
        if number is not None:
            if len(number) > limits.max_digits:
                raise ParseError(f"number with {len(number)} digits (limit {limits.max_digits})")
            tokens.append(number)
        else:
            if symbol == "(":
                depth += 1
                if depth > limits.max_depth:
                    raise ParseError(f"parentheses nested deeper than {limits.max_depth}")
            elif symbol == ")":
                depth -= 1
                if depth < 0:
                    raise ParseError("unbalanced ')'")
            tokens.append(symbol)
        if len(tokens) > limits.max_tokens:
            raise ParseError(f"more than {limits.max_tokens} tokens")
    if depth != 0:
        raise ParseError("unbalanced '('")
    if not tokens:
        raise ParseError("empty expression")
    return tokens


class _Parser:
    """Recursive descent over a token list whose depth :func:`tokenize` already bounded."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ParseError("expression ends too early")
        self.pos += 1
        return token

    def expr(self) -> Expr:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Expr:
        node = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = BinOp(op, node, self.factor())
        return node

    def factor(self) -> Expr:
        token = self.take()
        if token.isdigit():
            return Num(int(token))
        if token == "(":
            node = self.expr()
            if self.take() != ")":
                raise ParseError("expected ')'")
            return node
        if token in ("+", "-"):
            raise ParseError(f"unary {token!r} is not allowed: every operator needs two operands")
        raise ParseError(f"unexpected {token!r}")


def parse_expression(text: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> Expr:
    """Parse already-normalised text into an expression tree; :class:`ParseError` if it is not one."""
    parser = _Parser(tokenize(text, limits))
    node = parser.expr()
    if parser.pos != len(parser.tokens):
        raise ParseError(f"unexpected {parser.tokens[parser.pos]!r} after a complete expression")
    return node


def parse_answer(text: str, limits: ExpressionLimits = DEFAULT_LIMITS) -> Expr:
    """:func:`normalise_answer` then :func:`parse_expression`."""
    return parse_expression(normalise_answer(text, limits), limits)


def numbers_used(node: Expr) -> list[int]:
    """The numbers written in the expression, left to right (iterative: no recursion on long chains)."""
    out: list[int] = []
    stack: list[Expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Num):
            out.append(current.value)
        else:
            stack.append(current.right)
            stack.append(current.left)
    return out


def apply(op: str, left: Fraction, right: Fraction) -> Fraction:
    """One exact operation; :class:`EvaluationError` on division by zero."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right == 0:
            raise EvaluationError("division by zero")
        return left / right
    raise EvaluationError(f"unknown operator {op!r}")


def evaluate(node: Expr) -> Fraction:
    """The exact value of an expression tree (post-order, iterative)."""
    values: list[Fraction] = []
    stack: list[tuple[Expr, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if isinstance(current, Num):
            values.append(Fraction(current.value))
        elif children_done:
            right = values.pop()
            left = values.pop()
            values.append(apply(current.op, left, right))
        else:
            stack.append((current, True))
            stack.append((current.right, False))
            stack.append((current.left, False))
    return values[0]


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def format_expression(node: Expr) -> str:
    """A readable string with only the parentheses the grammar needs (``a - (b - c)`` keeps its)."""
    if isinstance(node, Num):
        return str(node.value)
    prec = _PRECEDENCE[node.op]
    left = format_expression(node.left)
    if isinstance(node.left, BinOp) and _PRECEDENCE[node.left.op] < prec:
        left = f"({left})"
    right = format_expression(node.right)
    if isinstance(node.right, BinOp):
        right_prec = _PRECEDENCE[node.right.op]
        if right_prec < prec or (right_prec == prec and node.op in "-/"):
            right = f"({right})"
    return f"{left} {node.op} {right}"
