"""Write ``benchmarks/data/heldout_tiny_products.jsonl``: held-out test problems for the tiny model.

120 hard products of the tiny families (``c*x**k*g(a*x)`` [+ an easy term]) drawn from a
fresh seed, none equal to a tiny_hard train, validation or test problem, plus the 20
single products of rung 2 (``x*g(a*x)``, ``x**2*g(x)``), which the tiny model's variant
trees reach often: a run with ``domain.test_set=<this file>`` shows decontamination at
work. Nobody tuned anything on this file. Output is a pure function of the seed below.

    python benchmarks/heldout_set.py
"""

from __future__ import annotations

import json
from pathlib import Path

from ladder_integration.tinymodel import problem_sets as ps
from ladder_integration.tinymodel.grammar import build_examples

HELDOUT_SEED = 7_301_126
OUT = Path(__file__).resolve().parent / "data" / "heldout_tiny_products.jsonl"


def records() -> list[dict]:
    train, test = ps.hard_term_sets()
    exclude = [*train, *test, *ps.validation_term_sets()]
    hard = build_examples(ps.validation_term_sets(n=120, seed=HELDOUT_SEED, exclude=exclude), None)
    probes = ps.rung_probes(None)
    rung2 = probes["r2_x_g(ax)"] + probes["r2_x2_g(x)"]
    return [{"id": f"heldout/{i:03d}", "set": "heldout_tiny_products", "raw": e.problem, "kind": "indefinite"}
            for i, e in enumerate([*hard, *rung2])]


def main() -> None:
    rows = records()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {OUT} ({len(rows)} problems)")


if __name__ == "__main__":
    main()
