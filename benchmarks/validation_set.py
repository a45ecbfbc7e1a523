"""Write ``benchmarks/data/validation_150.jsonl``: a larger validation file for tuning the tiny model.

The shipped ``tiny_hard_validation`` (50 problems) has too few greedy successes to show a greedy
change, so tuning runs may use this one: the first 150 draws of the validation seed
(``validation_term_sets(n=200)``) that are not a train, ``tiny_hard_test`` or held-out problem
(the shipped 50 are among them). Validation only: never report a number on it as a result.

    python benchmarks/validation_set.py
    python benchmarks/validation_set.py --n 600 --draws 1000 --out benchmarks/data/validation_600.jsonl

The second, 600 problems, is the greedy-churn probe (``benchmarks/greedy_churn.py``): the base model
answers about 28 of them greedily, enough to count greedy answers gained and lost.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import heldout_set  # benchmarks/heldout_set.py: the held-out files, listed once
from ladder_integration.tinymodel import problem_sets as ps
from ladder_integration.tinymodel.grammar import build_examples

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "plugins" / "integration" / "src" / "ladder_integration" / "data"
FORBIDDEN = [DATA / "tiny_hard_train.jsonl", DATA / "tiny_hard_test.jsonl", *heldout_set.PATHS]
OUT = HERE / "data" / "validation_150.jsonl"
N = 150
#: Validation-seed draws the N problems are taken from.
DRAWS = 200


def records(n: int = N, draws: int = DRAWS) -> list[dict]:
    """The first ``n`` of ``draws`` validation-seed problems that are not a train, test or held-out problem."""
    forbidden = {json.loads(line)["raw"] for f in FORBIDDEN for line in f.read_text().splitlines() if line.strip()}
    drawn = [e.problem for e in build_examples(ps.validation_term_sets(n=draws), None)]
    kept = [p for p in drawn if p not in forbidden][:n]
    if len(kept) < n:
        raise SystemExit(f"only {len(kept)} validation problems outside the train/test/held-out sets")
    return [{"id": f"val{n}/{i:03d}", "set": f"validation_{n}", "raw": p, "kind": "indefinite"}
            for i, p in enumerate(kept)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=N, help="problems to keep")
    parser.add_argument("--draws", type=int, default=DRAWS, help="validation-seed draws to take them from")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = records(args.n, args.draws)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {args.out} ({len(rows)} problems)")


if __name__ == "__main__":
    main()
