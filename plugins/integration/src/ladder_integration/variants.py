"""The integration domain's LLM-free variant generator: symbolic rewrites of an integrand.

LADDER asks a model for easier variants of a problem; on CPU, in CI and with
the embedded tiny model there is no such model, so this generator applies the
paper's transformation menu mechanically: drop a term, lower an exponent, set a
coefficient to 1, replace an inner function's argument by ``x``... Each rewrite
is labelled (the label lands in ``VariantProposal.transformations``) and
tagged ``easier`` or ``equivalent``; ``easier_fraction`` sets the mix (the
paper's MIT run used about 70% easier).

Inputs are problem texts parsed by the domain's safe parser (never
``sympify``); the rewrites only rebuild expression trees (``xreplace`` and
SymPy's automatic evaluation), with no ``simplify``/``expand``/``integrate``,
and parents larger than :data:`MAX_NODES` are skipped, so every call stays
cheap. Each result is rendered with ``expression_to_text`` and parsed back
before it is proposed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sympy
from sympy import Add, Function, Integer, Mul, Number, Pow, Rational, Symbol

from ladder_core.records import Problem, VariantProposal

#: Parents with more expression nodes than this are not rewritten (keeps every call fast).
MAX_NODES = 400
#: A rewrite may not grow the integrand by more than this many nodes (equivalent rewrites add a few).
MAX_GROWTH = 8
#: Candidates enumerated per transformation kind (sites in traversal order).
MAX_SITES = 40
MAX_TEXT_CHARS = 600

EASIER = "easier"
EQUIVALENT = "equivalent"

Rewrite = Callable[[sympy.Expr, Symbol], list[sympy.Expr]]


@dataclass(frozen=True)
class Transformation:
    """One kind of rewrite: its label, its effect on difficulty and the function listing its outcomes."""

    name: str
    effect: str
    description: str
    apply: Rewrite


# ----------------------------------------------------------------- helpers


def _nodes(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    """Subexpressions in a deterministic preorder, capped at ``MAX_NODES``."""
    for i, node in enumerate(sympy.preorder_traversal(expr)):
        if i >= MAX_NODES:
            return
        yield node


def node_count(expr: sympy.Basic) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


def _replace_each(expr: sympy.Expr, pairs: Iterator[tuple[sympy.Basic, sympy.Basic]]) -> list[sympy.Expr]:
    out: list[sympy.Expr] = []
    for old, new in pairs:
        if old == new:
            continue
        out.append(expr.xreplace({old: new}))
        if len(out) >= MAX_SITES:
            break
    return out


def _has(node: sympy.Basic, x: Symbol) -> bool:
    return node.has(x)


def _small_int(n: sympy.Basic) -> bool:
    return isinstance(n, Integer) and abs(int(n)) <= 10**6


def _coefficient_sites(expr: sympy.Expr, x: Symbol) -> Iterator[tuple[sympy.Basic, Number, sympy.Expr]]:
    """Products ``c*rest`` with a numeric coefficient ``c`` other than +-1 (``rest`` depends on x)."""
    for node in _nodes(expr):
        if isinstance(node, Mul):
            c, rest = node.as_coeff_Mul()
            if isinstance(c, Number) and c not in (1, -1) and c.is_finite and _has(rest, x):
                yield node, c, rest


def _function_nodes(expr: sympy.Expr, x: Symbol) -> Iterator[sympy.Basic]:
    for node in _nodes(expr):
        if isinstance(node, Function) and len(node.args) == 1 and _has(node.args[0], x):
            yield node


# ------------------------------------------------------------ easier rewrites


def drop_term(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Remove one x-dependent term of a sum anywhere in the tree."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Add):
                terms = [t for t in node.args if _has(t, x)]
                if len(terms) >= 2 or (terms and len(node.args) >= 2 and node is not expr):
                    for t in terms:
                        yield node, Add(*[a for a in node.args if a is not t])

    return _replace_each(expr, pairs())


def split_sum(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Split a top-level sum into its terms (each term becomes its own integral)."""
    if not isinstance(expr, Add):
        return []
    return [t for t in expr.args if _has(t, x)][:MAX_SITES]


def drop_shift(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Remove a constant shift from a sum inside the integrand (``x + 3 -> x``)."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Add) and node is not expr:
                consts = [a for a in node.args if not _has(a, x)]
                if consts and any(_has(a, x) for a in node.args):
                    yield node, Add(*[a for a in node.args if _has(a, x)])

    return _replace_each(expr, pairs())


def lower_exponent(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Move a power's exponent one step towards 1 (``x**3 -> x**2``, ``x**(3/2) -> x**(1/2)``, ``x**-3 -> x**-2``)."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Pow) and _has(node.base, x) and isinstance(node.exp, Rational):
                e = node.exp
                if abs(e) > 1:
                    yield node, Pow(node.base, e - 1 if e > 0 else e + 1)

    return _replace_each(expr, pairs())


def coefficient_to_one(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Set a numeric coefficient to 1 (``12*sinh(x)**2 -> sinh(x)**2``, ``sin(3*x) -> sin(x)``)."""
    return _replace_each(expr, ((node, rest if c > 0 else -rest) for node, c, rest in _coefficient_sites(expr, x)))


def shrink_coefficient(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace an integer coefficient by a smaller one (``12 -> 2``, ``7 -> 3``)."""

    def pairs():
        for node, c, rest in _coefficient_sites(expr, x):
            if isinstance(c, Integer) and abs(c) > 2:
                smaller = Integer(max(2, min(abs(int(c)) // 2, 9)))
                yield node, (smaller if c > 0 else -smaller) * rest

    return _replace_each(expr, pairs())


def argument_to_x(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace an inner function's argument by x.

    ``sin(3*x) -> sin(x)``, ``exp(x**2) -> exp(x)``, ``(x+1)**3 -> x**3``, ``2**(x**2) -> 2**x``.
    """

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Function) and len(node.args) == 1 and _has(node.args[0], x) and node.args[0] != x:
                yield node, node.func(x)
            elif isinstance(node, Pow) and node.base != x and _has(node.base, x) and not _has(node.exp, x):
                yield node, Pow(x, node.exp)
            elif isinstance(node, Pow) and not _has(node.base, x) and node.exp != x and _has(node.exp, x):
                yield node, Pow(node.base, x)

    return _replace_each(expr, pairs())


def drop_factor(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Remove one x-dependent factor of a product (including a denominator)."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Mul):
                factors = [f for f in node.args if _has(f, x)]
                if len(factors) >= 2:
                    for f in factors:
                        yield node, Mul(*[a for a in node.args if a is not f])

    return _replace_each(expr, pairs())


def unwrap_function(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace a nested function by its argument (``sin(x**2) -> x**2``, ``sqrt(1 - x**2) -> 1 - x**2``)."""

    def pairs():
        for node in _nodes(expr):
            if node is expr:
                continue
            if isinstance(node, Function) and len(node.args) == 1 and _has(node.args[0], x):
                yield node, node.args[0]
            elif isinstance(node, Pow) and _has(node.base, x) and isinstance(node.exp, Rational) \
                    and not node.exp.is_integer:
                yield node, node.base

    return _replace_each(expr, pairs())


# -------------------------------------------------------- equivalent rewrites


def _other_coefficients(c: Number) -> list[Integer]:
    base = abs(int(c)) if isinstance(c, Integer) else 1
    options = [k for k in (2, 3, 4, 5, 6, 7) if k != base]
    return [Integer(k) if c > 0 else Integer(-k) for k in options]


def change_coefficient(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace a numeric coefficient by another small integer (``3*x -> 5*x``), or give a bare ``x`` one."""

    def pairs():
        for node, c, rest in _coefficient_sites(expr, x):
            for k in _other_coefficients(c)[:3]:
                yield node, k * rest
        for node in _function_nodes(expr, x):
            if node.args[0] == x:
                yield node, node.func(2 * x)

    return _replace_each(expr, pairs())


def scale_integrand(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Multiply the whole integrand by a constant."""
    return [Integer(k) * expr for k in (2, 3, 5, -1, 4)]


_SWAPS = {sympy.sin: sympy.cos, sympy.cos: sympy.sin, sympy.sinh: sympy.cosh, sympy.cosh: sympy.sinh,
          sympy.tan: sympy.cot, sympy.cot: sympy.tan}


def swap_sin_cos(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Swap sin and cos (also sinh/cosh, tan/cot) at one place."""

    def pairs():
        for node in _function_nodes(expr, x):
            if node.func in _SWAPS:
                yield node, _SWAPS[node.func](*node.args)

    return _replace_each(expr, pairs())


def negate_term(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Change the sign of one term of a sum."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Add):
                for t in node.args:
                    yield node, Add(*[-a if a is t else a for a in node.args])

    return _replace_each(expr, pairs())


def change_shift(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace a constant term of a sum by another constant (``x**2 + 3 -> x**2 + 5``)."""

    def pairs():
        for node in _nodes(expr):
            if isinstance(node, Add) and any(_has(a, x) for a in node.args):
                for a in node.args:
                    if isinstance(a, Integer) and _small_int(a):
                        for k in (1, 2, 4, 5, -1):
                            if k != int(a):
                                yield node, Add(*[Integer(k) if b is a else b for b in node.args])
                                break

    return _replace_each(expr, pairs())


def scale_argument(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace x by a multiple of x inside a function (``sin(x) -> sin(2*x)``)."""

    def pairs():
        for node in _function_nodes(expr, x):
            if node.args[0] == x:
                for k in (2, 3):
                    yield node, node.func(k * x)

    return _replace_each(expr, pairs())


def flip_exp_sign(expr: sympy.Expr, x: Symbol) -> list[sympy.Expr]:
    """Replace ``exp(u)`` by ``exp(-u)``."""

    def pairs():
        for node in _function_nodes(expr, x):
            if node.func is sympy.exp:
                yield node, sympy.exp(-node.args[0])

    return _replace_each(expr, pairs())


TRANSFORMATIONS: tuple[Transformation, ...] = (
    Transformation("drop_term", EASIER, "drop a term of a sum", drop_term),
    Transformation("split_sum", EASIER, "keep one term of the integrand's sum", split_sum),
    Transformation("drop_shift", EASIER, "remove a constant shift (x + 3 -> x)", drop_shift),
    Transformation("lower_exponent", EASIER, "reduce an exponent", lower_exponent),
    Transformation("coefficient_to_one", EASIER, "simplify a coefficient to 1", coefficient_to_one),
    Transformation("shrink_coefficient", EASIER, "replace a coefficient by a smaller integer", shrink_coefficient),
    Transformation("argument_to_x", EASIER, "replace an inner function's argument by x", argument_to_x),
    Transformation("drop_factor", EASIER, "drop a factor of a product", drop_factor),
    Transformation("unwrap_function", EASIER, "replace a nested function by its argument", unwrap_function),
    Transformation("change_coefficient", EQUIVALENT, "change a coefficient", change_coefficient),
    Transformation("scale_integrand", EQUIVALENT, "multiply the integrand by a constant", scale_integrand),
    Transformation("swap_sin_cos", EQUIVALENT, "swap sin and cos", swap_sin_cos),
    Transformation("negate_term", EQUIVALENT, "change the sign of a term", negate_term),
    Transformation("change_shift", EQUIVALENT, "change a constant shift", change_shift),
    Transformation("scale_argument", EQUIVALENT, "replace x by a multiple of x inside a function", scale_argument),
    Transformation("flip_exp_sign", EQUIVALENT, "replace exp(u) by exp(-u)", flip_exp_sign),
)

TRANSFORMATIONS_BY_NAME = {t.name: t for t in TRANSFORMATIONS}


# ------------------------------------------------------------ canonical form


def integrand_in_x(raw: str) -> tuple[sympy.Expr, Symbol]:
    """The integrand of ``raw`` (parsed safely) with its variable renamed to ``x``.

    Raises ``ValueError`` (the parser's ``ParseError``) for text the safe parser rejects.
    """
    from ladder_integration.parsing import parse_problem

    problem = parse_problem(raw)
    return rename_to_x(problem.integrand, problem.var)


def rename_to_x(expr: sympy.Expr, var: Symbol) -> tuple[sympy.Expr, Symbol]:
    """``expr`` with ``var`` renamed to ``x`` (same assumptions), so variants are always ``integrate(..., x)``."""
    if var.name == "x":
        return expr, var
    x = Symbol("x", **var.assumptions0)
    return expr.xreplace({var: x}), x


def canonical_text(expr: sympy.Expr) -> str:
    """The canonical text of an integrand (``expression_to_text``), used for de-duplication."""
    from ladder_integration.parsing import expression_to_text

    return expression_to_text(expr)


def integral_text(expr_text: str) -> str:
    return f"integrate({expr_text}, x)"


# --------------------------------------------------------------- generator


class ProgrammaticVariantGenerator:
    """Proposes easier/equivalent variants by symbolic rewrites, without any model.

    Implements ``ladder_core.domain.VariantGenerator``. ``easier_fraction`` is
    the probability that a proposal uses an easier rewrite (the rest are
    equivalent rewrites); ``compose_probability`` is the chance of applying a
    second rewrite on top, which widens the pool for small integrands.
    Deterministic for a given ``rng`` state.
    """

    name = "integration-rules"

    def __init__(self, easier_fraction: float = 0.7, compose_probability: float = 0.3,
                 max_attempts_per_variant: int = 12) -> None:
        if not 0.0 <= easier_fraction <= 1.0:
            raise ValueError(f"easier_fraction must be in [0, 1], got {easier_fraction}")
        if not 0.0 <= compose_probability <= 1.0:
            raise ValueError(f"compose_probability must be in [0, 1], got {compose_probability}")
        self.easier_fraction = float(easier_fraction)
        self.compose_probability = float(compose_probability)
        self.max_attempts_per_variant = int(max_attempts_per_variant)

    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        return [self.propose_one(p, n, rng) for p in problems]

    def propose_one(self, problem: Problem, n: int, rng: random.Random) -> list[VariantProposal]:
        """Up to ``n`` distinct, parseable proposals for one problem (fewer when the integrand is tiny)."""
        if n <= 0:
            return []
        try:
            expr, x = integrand_in_x(problem.text)
            parent_text = canonical_text(expr)
        except Exception:  # unparseable parents have no variants; the reason is the parser's business
            return []
        if not expr.has(x) or node_count(expr) > MAX_NODES:
            return []
        parent_size = node_count(expr)
        seen = {parent_text}
        proposals: list[VariantProposal] = []
        pools: dict[str, list[sympy.Expr]] = {}

        def outcomes(t: Transformation, e: sympy.Expr, cache: bool) -> list[sympy.Expr]:
            if cache and t.name in pools:
                return pools[t.name]
            try:
                result = t.apply(e, x)
            except Exception:  # a rewrite that SymPy refuses is simply not available
                result = []
            if cache:
                pools[t.name] = result
            return result

        easier = [t for t in TRANSFORMATIONS if t.effect == EASIER]
        equivalent = [t for t in TRANSFORMATIONS if t.effect == EQUIVALENT]
        attempts = 0
        while len(proposals) < n and attempts < n * self.max_attempts_per_variant:
            attempts += 1
            want_easier = rng.random() < self.easier_fraction
            group = easier if want_easier else equivalent
            available = [t for t in group if outcomes(t, expr, True)]
            if not available:
                group = equivalent if want_easier else easier
                available = [t for t in group if outcomes(t, expr, True)]
                if not available:
                    break
            first = rng.choice(available)
            candidate = rng.choice(outcomes(first, expr, True))
            labels = [first.name]
            if rng.random() < self.compose_probability:
                second = rng.choice([t for t in (easier if first.effect == EASIER else equivalent) if t is not first])
                more = outcomes(second, candidate, False)
                if more:
                    candidate = rng.choice(more)
                    labels.append(second.name)
            text = self._accept(candidate, x, parent_size, seen)
            if text is None:
                continue
            seen.add(text)
            effect = EASIER if any(TRANSFORMATIONS_BY_NAME[lab].effect == EASIER for lab in labels) else EQUIVALENT
            note = f"{effect}: " + "; ".join(TRANSFORMATIONS_BY_NAME[lab].description for lab in labels)
            proposals.append(VariantProposal(text=integral_text(text), transformations=tuple(labels), note=note))
        return proposals

    @staticmethod
    def _accept(candidate: sympy.Expr, x: Symbol, parent_size: int, seen: set[str]) -> str | None:
        """Canonical text of a usable candidate, or ``None`` (trivial, too big, duplicate, not round-tripping)."""
        try:
            if not isinstance(candidate, sympy.Expr) or not candidate.has(x):
                return None
            if candidate.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
                return None
            if node_count(candidate) > parent_size + MAX_GROWTH:
                return None
            text = canonical_text(candidate)
            if text in seen or len(text) > MAX_TEXT_CHARS:
                return None
            again, _ = integrand_in_x(integral_text(text))
            if canonical_text(again) != text:
                return None
            return text
        except Exception:  # not representable in the safe grammar: skip it
            return None
