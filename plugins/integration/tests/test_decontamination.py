"""Integration's equivalence key, the validation split, and decontaminated trees of the tiny sets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ladder_core.domain import DomainContext
from ladder_core.records import Problem
from ladder_core.variants.builder import TreeBuilder, TreeConfig
from ladder_core.variants.decontaminate import Decontaminator
from ladder_integration.domain import IntegrationDomain
from ladder_integration.variants import ProgrammaticVariantGenerator


@pytest.fixture(scope="module")
def domain():
    d = IntegrationDomain(None, DomainContext(model_scale="tiny"))
    yield d
    d.close()


def _key(domain, text):
    return domain.equivalence_key(Problem("p", text))


def test_equivalence_key_sees_through_rewriting(domain):
    assert _key(domain, "integrate(2*x*(x+1), x)") == _key(domain, "integrate(2*x**2 + 2*x, x)")
    assert _key(domain, "integrate(sin(4*t)*t**3, t)") == _key(domain, "integrate(x**3*sin(4*x), x)")
    assert _key(domain, "integrate(2*sin(x)*cos(x), x)") == _key(domain, "integrate(sin(2*x), x)")
    assert _key(domain, "integrate(x**3*sin(4*x), x)") != _key(domain, "integrate(x**3*sin(3*x), x)")
    assert _key(domain, "integrate(x**2, (x, 0, 1))") != _key(domain, "integrate(x**2, (x, 0, 2))")
    assert _key(domain, "integrate(x**2, (x, 0, 1))") != _key(domain, "integrate(x**2, x)")


@pytest.mark.parametrize("hostile", ["", "integrate(", "__import__('os').system('true')", "integrate(9**9**9**9, x)",
                                     "integrate(" + "(" * 500 + "x" + ")" * 500 + ", x)", "x" * 100_000])
def test_equivalence_key_of_hostile_text_is_none_and_fast(domain, hostile):
    start = time.perf_counter()
    assert _key(domain, hostile) is None
    assert time.perf_counter() - start < 1.0


def test_validation_split_is_new_instances(domain):
    from ladder_integration.tinymodel import problem_sets as ps
    from ladder_integration.tinymodel.grammar import build_examples, term_key

    valid = domain.load_problems("validation")
    test, train = domain.load_problems("test"), domain.load_problems("train")
    assert len(valid) == ps.N_VALIDATION and valid[0].source == "tiny_hard_validation"
    # the shipped file is what the generator writes (a different seed than train/test)
    assert [p.text for p in valid] == [e.problem for e in build_examples(ps.validation_term_sets(), None)]
    train_sets, test_sets = ps.hard_term_sets()
    keys = {term_key(t) for t in [*train_sets, *test_sets]}
    assert not keys & {term_key(t) for t in ps.validation_term_sets()}
    # and no validation problem equals a train or test problem by canonical form or semantically
    d = Decontaminator(domain, {"test": test, "train": train})
    assert [p.id for p in valid if d.match(p)] == []
    assert domain.load_problems("validation") and IntegrationDomain(
        {"validation_set": ""}, DomainContext(model_scale="tiny")).load_problems("validation") == []


BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "data"
#: The held-out files of benchmarks/heldout_set.py in the order they were drawn; each ends with the same
#: 20 rung-2 products, its hard problems come first.
HELDOUT_FILES = ["heldout_tiny_products.jsonl", "heldout2_tiny_products.jsonl", "heldout3_tiny_products.jsonl",
                 "heldout4_tiny_products.jsonl"]
N_RUNG2 = 20


def test_benchmark_validation_files_hold_no_test_or_heldout_problem(domain):
    """benchmarks/data/validation_{150,600}.jsonl (tuning and the greedy-churn probe) are validation only:
    none of their problems equals a train, test or held-out problem, by canonical form or semantically."""
    assert sorted(p.name for p in BENCH.glob("heldout*_tiny_products.jsonl")) == sorted(HELDOUT_FILES)
    evaluation = {"test": domain.load_problems("test"), "train": domain.load_problems("train"),
                  **{name: domain.load_problem_set(str(BENCH / name)) for name in HELDOUT_FILES}}
    d = Decontaminator(domain, evaluation)
    for name in ("validation_150.jsonl", "validation_600.jsonl"):
        problems = domain.load_problem_set(str(BENCH / name))
        assert len(problems) == int(name.split("_")[1].split(".")[0])
        assert [p.id for p in problems if d.match(p)] == [], name


@pytest.mark.parametrize("version", [2, 3, 4])
def test_later_heldout_file_repeats_no_earlier_problem(domain, version):
    """benchmarks/data/heldout{2,3,4}_tiny_products.jsonl (sessions 16, 17, 18): their hard problems equal no train,
    test or validation problem (nor one of the benchmark validation files) and none of an earlier held-out
    file's, by canonical form or semantically."""
    files = [domain.load_problem_set(str(BENCH / name)) for name in HELDOUT_FILES[:version]]
    earlier = {"test": domain.load_problems("test"), "train": domain.load_problems("train"),
               "validation": domain.load_problems("validation"),
               "validation_600": domain.load_problem_set(str(BENCH / "validation_600.jsonl")),
               **{f"heldout{v + 1}": f[:-N_RUNG2] for v, f in enumerate(files[:-1])}}
    hard = files[-1][:-N_RUNG2]
    assert len(hard) == {2: 120, 3: 300, 4: 400}[version] and all(p.id.startswith(f"heldout{version}/") for p in hard)
    d = Decontaminator(domain, earlier)
    assert [p.id for p in hard if d.match(p)] == []
    # the check can fail: the previous file's own problems all match
    assert all(d.match(p) for p in files[-2][:5])


def test_full_scale_has_no_default_validation_set():
    d = IntegrationDomain(None, DomainContext(model_scale="full"))
    assert d.load_problems("validation") == []


def test_trees_of_the_tiny_roots_hold_no_test_problem(domain, tmp_path):
    """Without decontamination the rewrites reach test problems; with it, none (canonical, key and SymPy)."""
    import sympy

    from ladder_integration.parsing import parse_problem

    test = domain.load_problems("test")
    roots = domain.load_problems("train")[:4]
    d = Decontaminator(domain, {"test": test})
    cfg = TreeConfig(max_depth=3, per_root=40, children_per_node=10, max_rounds=10, seed=0)
    builder = TreeBuilder(domain, [(ProgrammaticVariantGenerator(), 1.0)], tmp_path, cfg, progress=False,
                          exclude=d.rejection_reason)
    result = builder.build(roots)
    rejections = result.summary()["rejections"]
    assert sum(v for k, v in rejections.items() if k.startswith("eval_overlap:test")) > 0  # leaks were caught
    # independent check with SymPy on trusted texts (our own generator's output and the shipped test set)
    normal = {sympy.expand(parse_problem(p.text).integrand) for p in test}
    for node in result.nodes:
        expr = sympy.expand(parse_problem(node.text).integrand)
        assert expr not in normal, node.text
