"""Independent check of a finished integration run: does any training node equal a test problem?

    python benchmarks/check_decontamination.py RUN_DIR [TEST_SET]

Compares every node of ``RUN_DIR/variants/nodes.jsonl`` (and of each TTRL tree's
``training_nodes.jsonl``) with every problem of the test set (default: the run's
``domain.test_set``) three ways: the domain's canonical form, its equivalence key,
and SymPy (``expand`` then ``simplify`` of the difference, on the parsed integrands).
SymPy is fine here: the texts are the shipped problem files and the programmatic
generator's output, not model output. Prints the counts and exits 1 on any match.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import sympy
    import yaml

    from ladder_core.artifacts import TreeNode, read_jsonl
    from ladder_core.domain import DomainContext
    from ladder_core.records import Problem
    from ladder_integration.domain import IntegrationDomain
    from ladder_integration.parsing import parse_problem
    from ladder_integration.problem_sets import load_problem_set

    run_dir = Path(argv[0])
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    test = load_problem_set(argv[1] if len(argv) > 1 else cfg["domain"]["test_set"])
    domain = IntegrationDomain(None, DomainContext(model_scale="tiny"))
    nodes = read_jsonl(run_dir / "variants" / "nodes.jsonl", TreeNode)
    ttrl_nodes = [n for f in sorted((run_dir / "ttrl" / "trees").glob("*/training_nodes.jsonl"))
                  for n in read_jsonl(f, TreeNode)]
    canon = {domain.canonical_form(p) for p in test}
    keys = {domain.equivalence_key(p) for p in test} - {None}
    exprs = [(p.id, sympy.expand(parse_problem(p.text).integrand)) for p in test]
    x = sympy.Symbol("x")
    out = {}
    for name, group in (("variants/nodes.jsonl", nodes), ("ttrl training nodes", ttrl_nodes)):
        c = k = s = 0
        for n in group:
            problem = Problem(n.id, n.text)
            c += domain.canonical_form(problem) in canon
            k += domain.equivalence_key(problem) in keys
            expr = sympy.expand(parse_problem(n.text).integrand).subs(x, x)
            s += any(sympy.simplify(expr - e) == 0 for _, e in exprs if _close(expr, e, x))
        out[name] = {"nodes": len(group), "canonical": c, "equivalence_key": k, "sympy": s}
    domain.close()
    print(json.dumps({"test_problems": len(test), **out}, indent=2))
    return 1 if any(v["canonical"] or v["equivalence_key"] or v["sympy"] for v in out.values()) else 0


def _close(a, b, x) -> bool:
    """Cheap pre-filter before simplify: equal values at two points (symbols renamed to x by the parser)."""
    try:
        for point in (0.7, 1.3):
            va, vb = complex(a.subs(x, point).evalf()), complex(b.subs(x, point).evalf())
            if abs(va - vb) > 1e-6 * (1 + abs(vb)):
                return False
        return True
    except Exception:  # noqa: BLE001
        return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
