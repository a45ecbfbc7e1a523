"""Write the held-out test files for the tiny model (``benchmarks/data/heldout*_tiny_products.jsonl``).

Each file: hard products of the tiny families (``c*x**k*g(a*x)`` [+ an easy term]) drawn from a
seed used for nothing else, none equal to a tiny_hard train, test or validation problem (from the
second file on also none equal to any of the validation-seed draws the validation files take from,
nor to a problem of an earlier held-out file), plus the 20 single products of rung 2 (``x*g(a*x)``,
``x**2*g(x)``), which the tiny model's variant trees reach often: a run with
``domain.test_set=<file>`` shows decontamination at work. Nobody
tuned anything on these files. Output is a pure function of the seeds below.

- ``heldout_tiny_products.jsonl`` (seed 7301126): the first held-out file, used as a test set in
  sessions 12-14 (docs/results.md tells how); retired, kept so those results stay reproducible.
- ``heldout2_tiny_products.jsonl`` (seed 58207713, drawn in session 16): 120 hard problems, the
  test set of session 16's held-out benchmark (docs/results.md "Session 16"); retired.
- ``heldout3_tiny_products.jsonl`` (seed 20531377, drawn in session 17): 300 hard problems (more
  than before, so the paired interval on the hard part is narrower), the test set of session 17's
  held-out benchmark; retired.
- ``heldout4_tiny_products.jsonl`` (seed 48407539, drawn in session 18): 400 hard problems, the
  current held-out file of ``benchmarks/heldout.py``.

    python benchmarks/heldout_set.py            # every file
"""

from __future__ import annotations

import json
from pathlib import Path

from ladder_integration.tinymodel import problem_sets as ps
from ladder_integration.tinymodel.grammar import build_examples

DATA = Path(__file__).resolve().parent / "data"
#: (seed, file, number of hard problems) in the order they were drawn; each file excludes the problems
#: of those before it. The last one is the current held-out file.
FILES = [(7_301_126, DATA / "heldout_tiny_products.jsonl", 120), (58_207_713, DATA / "heldout2_tiny_products.jsonl", 120),
         (20_531_377, DATA / "heldout3_tiny_products.jsonl", 300), (48_407_539, DATA / "heldout4_tiny_products.jsonl", 400)]
#: Every held-out file (validation files and the validation probe must avoid them all).
PATHS = [path for _, path, _ in FILES]
#: Validation-seed draws that validation files may take from (benchmarks/validation_set.py uses 200 and 1000).
VALIDATION_DRAWS = 1000


def n_hard(version: int = len(FILES)) -> int:
    """How many hard problems held-out file ``version`` (1-based) has; they come first in the file."""
    return FILES[version - 1][2]


def hard_term_sets(version: int) -> list:
    """The hard problems of held-out file ``version`` (1-based), as term sets."""
    seed, _, n = FILES[version - 1]
    train, test = ps.hard_term_sets()
    exclude = [*train, *test, *ps.validation_term_sets()]
    if version > 1:
        exclude += avoided_after_first(version)
    return ps.validation_term_sets(n=n, seed=seed, exclude=exclude)


def avoided_after_first(version: int) -> list:
    """What a file after the first also avoids: every validation draw and every earlier held-out problem."""
    return [*ps.validation_term_sets(n=VALIDATION_DRAWS), *(t for v in range(1, version) for t in hard_term_sets(v))]


def records(version: int = len(FILES)) -> list[dict]:
    """The problems of held-out file ``version`` (1-based): its hard products, then the 20 rung-2 probes."""
    hard = build_examples(hard_term_sets(version), None)
    if version > 1:  # checked on the written integrands too, not only on term sets
        earlier = {e.problem for e in build_examples(avoided_after_first(version), None)}
        clash = [e.problem for e in hard if e.problem in earlier]
        if clash:
            raise SystemExit(f"held-out file {version} repeats earlier problems: {clash[:3]}")
    probes = ps.rung_probes(None)
    rung2 = probes["r2_x_g(ax)"] + probes["r2_x2_g(x)"]
    name = FILES[version - 1][1].name.removesuffix(".jsonl")
    prefix = "heldout" if version == 1 else f"heldout{version}"
    return [{"id": f"{prefix}/{i:03d}", "set": name, "raw": e.problem, "kind": "indefinite"}
            for i, e in enumerate([*hard, *rung2])]


def main() -> None:
    for version, (_, out, _) in enumerate(FILES, start=1):
        rows = records(version)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"wrote {out} ({len(rows)} problems)")


if __name__ == "__main__":
    main()
