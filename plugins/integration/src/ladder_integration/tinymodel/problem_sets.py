"""The tiny hard problem sets (``tiny_hard_train``/``_validation``/``_test``) and the difficulty-rung probes.

Hard problems are ``c * x**k * g(a*x)`` on a held-out rung (k = 2 with a in
2..5, or k = 3 with a in 1..5; g one of sin, cos, exp, exp(-.)), half of them
plus one easy term. These products occur in the tiny model's training only
in its short exposure stage (about 100 times each, never as one of these
problems), so the base model solves about 1% of them; the easier variants a
programmatic generator makes (lower the exponent, replace ``a*x`` by ``x``,
set the coefficient to 1, split the sum, drop a factor) lead down to rung 2
(``x*g(a*x)``, ``x**2*g(x)``: rare in pre-training, partly in reach), rung 1
(``x*g(x)``) and single terms, which it knows.

Run ``python -m ladder_integration.tinymodel.problem_sets`` to (re)write the
shipped JSONL files; the output is a pure function of the seeds below.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

from ladder_integration.tinymodel.grammar import (
    ROOT_POWERS,
    TRANSCENDENTAL,
    AntiderivativeTable,
    BaseTerm,
    Example,
    TermSet,
    build_example,
    build_examples,
    sample_hard_terms,
    term_key,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRAIN_SET = "tiny_hard_train"
TEST_SET = "tiny_hard_test"
VALIDATION_SET = "tiny_hard_validation"
HARD_SEED = 20_250_307
#: A different seed: validation instances are new draws, never a train or test instance.
VALIDATION_SEED = 20_261_130
N_TRAIN = 16
N_TEST = 100
N_VALIDATION = 50


def _strata() -> list[tuple[str, int]]:
    return [(kind, k) for k in ROOT_POWERS for kind in TRANSCENDENTAL]


def hard_term_sets(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = HARD_SEED) -> tuple[list[TermSet], list[TermSet]]:
    """Train roots and test problems, cycling over (g, k) strata so every family is represented evenly.

    Test problems never repeat a training root or each other (compared as
    term sets, which is the same as comparing integrands).
    """
    rng = random.Random(seed)
    seen: set[frozenset] = set()
    train = _draw_distinct(rng, seen, n_train)
    test = _draw_distinct(rng, seen, n_test)
    return train, test


def _draw_distinct(rng: random.Random, seen: set, n: int) -> list[TermSet]:
    """``n`` hard problems cycling over the strata, none whose key is in ``seen`` (which grows)."""
    strata = _strata()
    out: list[TermSet] = []
    i = 0
    while len(out) < n:
        kind, k = strata[i % len(strata)]
        terms = sample_hard_terms(rng, kind=kind, power=k)
        key = term_key(terms)
        if key in seen:
            continue
        seen.add(key)
        out.append(tuple(terms))
        i += 1
    return out


def validation_term_sets(n: int = N_VALIDATION, seed: int = VALIDATION_SEED,
                         exclude: Sequence[TermSet] = ()) -> list[TermSet]:
    """New hard problems for tuning, drawn like the test set but from ``seed``, none equal to a train/test problem.

    ``exclude`` defaults to the shipped train and test problems. Same strata
    cycle as :func:`hard_term_sets`, so validation has the test set's mix.
    """
    if not exclude:
        train, test = hard_term_sets()
        exclude = [*train, *test]
    return _draw_distinct(random.Random(seed), {term_key(t) for t in exclude}, n)


def hard_examples(table: AntiderivativeTable | None = None, **kwargs) -> dict[str, list[Example]]:
    """``{"tiny_hard_train": [...], "tiny_hard_test": [...]}`` with antiderivatives when a table is given."""
    train, test = hard_term_sets(**kwargs)
    return {TRAIN_SET: build_examples(train, table), TEST_SET: build_examples(test, table)}


def rung_probes(table: AntiderivativeTable | None = None) -> dict[str, list[Example]]:
    """Single products with coefficient 1, grouped by rung (see :mod:`grammar`).

    Rung 1 is common in pre-training, rung 2 rare (about 0.5% of terms),
    rungs 3 and 4 only in the exposure stage: the base model's scores here
    show the difficulty gradient that a variant tree walks up.
    """
    def make(k: int, rates: Sequence[int]) -> list[TermSet]:
        return [((1, BaseTerm(kind, k, a)),) for kind in TRANSCENDENTAL for a in rates]

    groups = {
        "r1_x_g(x)": make(1, (1,)),
        "r2_x_g(ax)": make(1, (2, 3, 4, 5)),
        "r2_x2_g(x)": make(2, (1,)),
        "r3_x2_g(ax)+x3_g(x)": make(2, (2, 3, 4, 5)) + make(3, (1,)),
        "r4_x3_g(ax)": make(3, (2, 3, 4, 5)),
    }
    return {name: [build_example(t, table) for t in sets] for name, sets in groups.items()}


def to_records(name: str, examples: Sequence[Example]) -> list[dict]:
    """Records in the shared problem-set format (``id``, ``set``, ``raw``, ``kind``)."""
    return [{"id": f"{name}/{i:03d}", "set": name, "raw": e.problem, "kind": "indefinite"}
            for i, e in enumerate(examples)]


def write_sets(out_dir: Path = DATA_DIR, table: AntiderivativeTable | None = None) -> dict[str, Path]:
    """Write both sets as JSONL, after checking that SymPy integrates every problem to an elementary result."""
    table = table or AntiderivativeTable()
    sets = hard_examples(table)
    sets[VALIDATION_SET] = build_examples(validation_term_sets(), table)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, examples in sets.items():
        path = out_dir / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for rec in to_records(name, examples):
                fh.write(json.dumps(rec) + "\n")
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    for name, path in write_sets(args.out_dir).items():
        print(f"wrote {path} ({sum(1 for _ in path.open())} problems)")


if __name__ == "__main__":
    main()
