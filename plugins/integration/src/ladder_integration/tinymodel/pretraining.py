"""Which problems the embedded tiny model saw while it was trained: contamination of evaluation sets.

The tiny model's two training stages (``train.py``: the easy mix, then the short "exposure" mix in
which the hard families appear) draw integrands from the grammar with fixed seeds. A test or
validation problem that is one of those integrands was seen with its antiderivative before any
LADDER run: a result on it measures memory, not learning. ``train.py`` keeps the tiny train roots and
``tiny_hard_test`` out of both stages; any other set (a validation file, a held-out file, a set
someone else drew from the same grammar) may overlap, and this module says which problems do.

A problem is matched by its integrand as a linear combination of the grammar's base terms (the
eval-free parser reads the problem text; coefficients and base terms are compared, so term order
and spacing do not matter). The integrands are regenerated from the shipped recipe's seeds
(:class:`~ladder_integration.tinymodel.train.TrainConfig` defaults, the config of the shipped
weights): about 146,000 integrands, a few seconds, cached per process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path

from ladder_integration.tinymodel import grammar

#: An integrand as ``{(str(base term), integer coefficient)}``.
IntegrandKey = frozenset


def recipe_term_sets() -> dict[str, list[grammar.TermSet]]:
    """The integrands of each training stage of the shipped weights, by stage (``easy``, ``exposure``)."""
    from ladder_integration.tinymodel import train

    cfg = train.TrainConfig(out=Path("."))
    return {"easy": train.easy_term_sets(cfg), "exposure": train.exposure_term_sets(cfg)}


@functools.lru_cache(maxsize=1)
def pretraining_keys() -> dict[IntegrandKey, str]:
    """Every integrand the shipped weights were trained on -> the stage that showed it first."""
    stages = recipe_term_sets()
    distinct = {t for sets in stages.values() for terms in sets for _, t in terms}  # about 100 base terms
    names = {t: str(t.expr()) for t in distinct}
    out: dict[IntegrandKey, str] = {}
    for stage, term_sets in stages.items():
        for terms in term_sets:
            out.setdefault(frozenset((names[t], int(c)) for c, t in terms), stage)
    return out


def integrand_key(raw: str) -> IntegrandKey | None:
    """The key of an indefinite problem's integrand; ``None`` when it is not a sum of integer multiples of
    terms (unparseable, definite, or another shape: such a problem cannot be a grammar integrand)."""
    import sympy

    from ladder_integration.parsing import ParseError, parse_problem
    from ladder_integration.variants import rename_to_x

    try:
        problem = parse_problem(raw)
    except ParseError:
        return None
    if problem.definite:
        return None
    integrand, _ = rename_to_x(problem.integrand, problem.var)
    terms = []
    for base, coeff in sympy.expand(integrand).as_coefficients_dict().items():
        if not coeff.is_Integer:
            return None
        terms.append((str(base.xreplace({s: grammar.X for s in base.free_symbols})), int(coeff)))
    return frozenset(terms)


def seen_in_pretraining(problems: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{problem id: stage}`` for the ``(id, problem text)`` pairs whose integrand the shipped weights were
    trained on."""
    keys = pretraining_keys()
    seen = {}
    for pid, raw in problems:
        key = integrand_key(raw)
        if key is not None and key in keys:
            seen[pid] = keys[key]
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ladder_integration.tinymodel.pretraining FILE.jsonl [...]``: count each file's problems the
    embedded model saw in training."""
    import argparse

    from ladder_integration.problem_sets import load_problem_set

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    for name in args.files:
        problems = load_problem_set(name)
        seen = seen_in_pretraining((p.id, p.text) for p in problems)
        stages = {s: sum(1 for v in seen.values() if v == s) for s in ("easy", "exposure")}
        print(f"{name}: {len(seen)} of {len(problems)} problems were training integrands of the embedded model "
              f"({stages['easy']} in the easy stage, {stages['exposure']} first in exposure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
