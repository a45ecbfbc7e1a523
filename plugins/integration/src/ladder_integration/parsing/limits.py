"""Resource limits that keep hostile text from costing more than a few milliseconds.

Every limit is checked *before* the work it guards: the length before lexing, the token
count before parsing, the nesting depth before recursing, the size of a numeric power
before SymPy would evaluate it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on the input and on the numbers the parser may build.

    max_chars: length of the text.
    max_depth: nesting of parentheses, groups, function arguments, unary signs and
        right-nested powers (far below Python's recursion limit).
    max_tokens: number of lexical tokens.
    max_digits: significant digits of one numeric literal.
    max_decimal_exponent: ``|k|`` in scientific notation such as ``1e-3``.
    max_exponent: ``|p|`` and ``q`` of a rational exponent ``p/q`` when the base is a
        number or carries a numeric factor (``2**x`` is fine, ``9**9**9`` is not),
        because SymPy evaluates those powers eagerly.
    max_symbolic_exponent: the same for purely symbolic bases such as ``x**2024``,
        which SymPy keeps unevaluated (so ``0*x**(10**9)`` is a cheap 0, and the
        numeric verifier evaluates ``x**(10**9)`` in one power). Problems get a far
        smaller bound (:data:`PROBLEM_LIMITS`): they go on to CAS work (variants,
        canonical forms) that may expand powers.
    max_number_bits: size in bits of any rational the parser builds, and ``log2`` of
        the magnitude of any constant (``exp(20000)`` is refused): a bounded constant
        keeps SymPy's low-precision evaluations, which it runs while building
        products, cheap.
    max_root_bits: size of an integer under a non-integer power (SymPy factors it).
    """

    max_chars: int = 2000
    max_depth: int = 64
    max_tokens: int = 600
    max_digits: int = 30
    max_decimal_exponent: int = 30
    max_exponent: int = 1000
    max_symbolic_exponent: int = 10**18
    max_number_bits: int = 20_000
    max_root_bits: int = 256


DEFAULT_LIMITS = ParseLimits()
PROBLEM_LIMITS = ParseLimits(max_symbolic_exponent=100_000)
