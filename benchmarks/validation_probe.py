"""Greedy and sampled accuracy of a tiny-model checkpoint on validation-only probes (issue #13 tuning).

Why: the default run's greedy accuracy fell after training while pass@1 rose a
little. The 50-problem validation split has too few greedy successes (2 of 50)
to see a greedy loss, so this adds a rung-2 *validation* probe: single products
``c*x*g(a*x)`` and ``c*x**2*g(x)`` with a coefficient c != 1 (the held-out test
set holds the coefficient-1 ones, which must not be tuned on; checked below),
and rung-1 ``c*x*g(x)``. Every problem here is checked against the test and
held-out sets before use.

Usage: python benchmarks/validation_probe.py MODEL_DIR [MODEL_DIR ...] [--samples 8] [--json OUT]
(``base`` stands for the embedded model.)
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import heldout_set  # benchmarks/heldout_set.py: the held-out files, listed once

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILES = [ROOT / "plugins/integration/src/ladder_integration/data/tiny_hard_test.jsonl", *heldout_set.PATHS]
VALIDATION_FILE = ROOT / "plugins/integration/src/ladder_integration/data/tiny_hard_validation.jsonl"
PROBE_SEED = 13_013  # used for nothing else


def probe_sets(table):
    from ladder_integration.tinymodel.grammar import TRANSCENDENTAL, BaseTerm, build_example

    rng = random.Random(PROBE_SEED)
    coef = lambda: rng.choice([c for c in range(-9, 10) if c not in (-1, 0, 1)])  # noqa: E731
    r2 = [((coef(), BaseTerm(k, 1, a)),) for k in TRANSCENDENTAL for a in (2, 3, 4, 5) for _ in range(3)]
    r2 += [((coef(), BaseTerm(k, 2, 1)),) for k in TRANSCENDENTAL for _ in range(4)]
    r1 = [((coef(), BaseTerm(k, 1, 1)),) for k in TRANSCENDENTAL for _ in range(3)]
    forbidden = set()
    for f in EVAL_FILES:
        for line in f.read_text().splitlines():
            forbidden.add(json.loads(line)["raw"].replace(" ", ""))
    out = {}
    for name, sets in (("val_r2_c", r2), ("val_r1_c", r1)):
        sets = list(dict.fromkeys(sets))  # a repeated draw counts once
        exs = [build_example(t, table) for t in sets]
        clash = [e.problem for e in exs if e.problem.replace(" ", "") in forbidden]
        assert not clash, f"probe problem equals an evaluation problem: {clash}"
        out[name] = exs
    return out


def validation_examples():
    from ladder_integration.tinymodel.grammar import Example
    recs = [json.loads(l) for l in VALIDATION_FILE.read_text().splitlines()]
    # Example.problem is built from the integrand; recover it from "integrate(<f>, x)".
    return [Example(r["raw"][len("integrate("):-len(", x)")], "") for r in recs]


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from ladder_integration.tinymodel import WEIGHTS_DIR
    from ladder_integration.tinymodel.evaluate import AnswerChecker, score_set

    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    sets = probe_sets(None)
    sets["validation"] = validation_examples()
    checker = AnswerChecker()
    rows = {}
    for m in args.models:
        path = WEIGHTS_DIR if m == "base" else Path(m)
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
        torch.manual_seed(args.seed)
        rows[m] = {name: score_set(model, tok, exs, checker, k=args.samples).to_dict() for name, exs in sets.items()}
        print(m, json.dumps(rows[m]), flush=True)
    checker.close()
    print("\n| model | " + " | ".join(f"{s} greedy / pass@1" for s in sets) + " |")
    for m, r in rows.items():
        print(f"| {m} | " + " | ".join(f"{r[s]['greedy']:.1%} / {r[s]['mean_sample_accuracy']:.1%}" for s in sets) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
