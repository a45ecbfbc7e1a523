"""Write ``benchmarks/data/validation_150.jsonl``: a larger validation file for tuning the tiny model.

The shipped ``tiny_hard_validation`` (50 problems) has too few greedy successes to show a greedy
change, so tuning runs may use this one: the first 150 draws of the validation seed
(``validation_term_sets(n=200)``) that are not a train, ``tiny_hard_test`` or held-out problem
(the shipped 50 are among them). Validation only: never report a number on it as a result.

    python benchmarks/validation_set.py
"""

from __future__ import annotations

import json
from pathlib import Path

from ladder_integration.tinymodel import problem_sets as ps
from ladder_integration.tinymodel.grammar import build_examples

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "plugins" / "integration" / "src" / "ladder_integration" / "data"
FORBIDDEN = [DATA / "tiny_hard_train.jsonl", DATA / "tiny_hard_test.jsonl", HERE / "data" / "heldout_tiny_products.jsonl"]
OUT = HERE / "data" / "validation_150.jsonl"
N = 150


def records() -> list[dict]:
    forbidden = {json.loads(line)["raw"] for f in FORBIDDEN for line in f.read_text().splitlines() if line.strip()}
    drawn = [e.problem for e in build_examples(ps.validation_term_sets(n=200), None)]
    kept = [p for p in drawn if p not in forbidden][:N]
    if len(kept) < N:
        raise SystemExit(f"only {len(kept)} validation problems outside the train/test/held-out sets")
    return [{"id": f"val150/{i:03d}", "set": "validation_150", "raw": p, "kind": "indefinite"} for i, p in enumerate(kept)]


def main() -> None:
    rows = records()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {OUT} ({len(rows)} problems)")


if __name__ == "__main__":
    main()
