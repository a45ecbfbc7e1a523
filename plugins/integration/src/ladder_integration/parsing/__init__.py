"""Eval-free parsing of answers (plain SymPy syntax or LaTeX) and of the problem sets.

Nothing here calls ``eval``, ``exec``, ``sympify`` or ``parse_expr``: a hand-written lexer
and recursive-descent parser build SymPy objects through explicit constructors
(``parsing/build.py``) from a whitelist of names.

Output node types (what a tree-walking numeric evaluator must handle): ``Add``, ``Mul``,
``Pow``, ``Integer``/``Rational``, ``Symbol`` (the given variables; constants of
integration only with ``drop_constants=False``), ``pi``, ``E``, and the classes in
:data:`ALLOWED_FUNCTIONS` (``exp log sin cos tan cot sec csc asin acos atan acot asec
acsc sinh cosh tanh coth sech csch asinh acosh atanh acoth asech acsch Abs sign``).
Problems may also contain :data:`PROBLEM_ONLY_FUNCTIONS` (``floor ceiling Max Min``) and,
as integration limits only, ``oo``/``-oo``.  No ``Float`` is ever produced; anything else
(``I``, ``zoo``, ``nan``, ``re``...) is refused with a :class:`ParseError`.

Conventions worth knowing:

* Decimals are exact rationals: ``0.5`` -> ``1/2``, ``x**0.5`` -> ``sqrt(x)``, ``1e-3`` ->
  ``1/1000``.  ``2e-3`` is therefore a number, not ``2*e - 3``.
* Implicit multiplication binds like ``*`` and associates left: ``1/2x`` is ``x/2``
  (SymPy's convention).  ``2x``, ``3sin(x)``, ``x(x+1)``, ``(x+1)(x-1)``, ``2 pi`` work.
* ``e``/``E`` are Euler's number, ``log``/``ln`` the natural log (``log(x, b)`` and
  ``\log_b x`` take a base), ``sin^2 x`` is ``sin(x)**2``, ``sin^{-1} x`` is ``asin(x)``,
  ``sin 2x`` is ``sin(2*x)``.  Unknown run-together names are split when every piece is
  known: ``xsinx`` -> ``x*sin(x)``, ``xe^x`` -> ``x*exp(x)``.
* ``Abs`` and ``sign`` are evaluated only on rational arguments (``Abs(-x)`` stays as
  written) so SymPy never rewrites them with ``re``/``im``.
* Constants of integration (default ``C``) are dropped by default: additive terms made
  only of them vanish, other occurrences are set to 0 (``exp(x + C)`` -> ``exp(x)``).
  The verifier keeps them (``drop_constants=False``) and checks they are only added.
"""

from .build import ALLOWED_FUNCTIONS, PROBLEM_ONLY_FUNCTIONS
from .errors import ParseError
from .expression import parse_expression, parse_light
from .limits import DEFAULT_LIMITS, PROBLEM_LIMITS, ParseLimits
from .printing import expression_to_text
from .problems import IntegralProblem, parse_problem

__all__ = [
    "ALLOWED_FUNCTIONS",
    "DEFAULT_LIMITS",
    "PROBLEM_LIMITS",
    "PROBLEM_ONLY_FUNCTIONS",
    "IntegralProblem",
    "ParseError",
    "ParseLimits",
    "expression_to_text",
    "parse_expression",
    "parse_light",
    "parse_problem",
]
