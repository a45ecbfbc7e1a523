"""Decontamination: evaluation problems never become training nodes, for any domain."""

from __future__ import annotations


import pytest

from ladder_core.records import Problem, TreeNode
from ladder_core.testing.toy_domain import ToyDomain, ToyRulesGenerator
from ladder_core.variants.builder import TreeBuilder, TreeConfig
from ladder_core.artifacts import Decontamination, MatchCounts, from_dict, to_dict
from ladder_core.variants.decontaminate import Decontaminator, counts_from_rejections, relink


class SumDomain(ToyDomain):
    """The toy domain with a semantic key: two sums with the same total count as the same problem."""

    def equivalence_key(self, problem: Problem) -> str | None:
        from ladder_core.testing.toy_domain import parse_numbers

        numbers = parse_numbers(problem.text)
        return None if numbers is None else f"total={sum(numbers)}"


TEST = [Problem("test/0", "add(10, 20)"), Problem("test/1", "add(7, 8, 9)")]
VALID = [Problem("valid/0", "add(50, 50)")]


def _node(i: str, parent: str | None, depth: int, root: str, text: str) -> TreeNode:
    return TreeNode(i, parent, depth, root, text)


def test_match_by_canonical_form_and_by_equivalence_key():
    d = Decontaminator(SumDomain(), {"test": TEST, "validation": VALID})
    assert d.match(Problem("a", "add(20, 10)")).reason == "canonical"  # reordered: same canonical form
    found = d.match(Problem("b", "add(5, 25)"))  # same total as test/0
    assert (found.set_name, found.problem_id, found.reason) == ("test", "test/0", "equivalent")
    assert d.match(Problem("c", "add(25, 75)")).set_name == "validation"
    assert d.match(Problem("d", "add(1, 2)")) is None
    # a domain without the hook still matches by canonical form
    plain = Decontaminator(ToyDomain(), {"test": TEST})
    assert plain.match(Problem("e", "add(5, 25)")) is None and plain.match(Problem("f", "add(20, 10)"))


def test_dropped_nodes_are_relinked_into_a_valid_forest():
    from ladder_core.difficulty.config import CurriculumConfig
    from ladder_core.difficulty.sampler import CurriculumSampler

    nodes = [_node("r", None, 0, "r", "add(10, 20)"),  # the root is a test problem
             _node("a", "r", 1, "r", "add(3, 4)"), _node("b", "r", 1, "r", "add(15, 15)"),  # b: equivalent
             _node("c", "b", 2, "r", "add(1, 1)"), _node("d", "c", 3, "r", "add(1, 2)")]
    kept, counts = Decontaminator(SumDomain(), {"test": TEST}).filter_nodes(nodes)
    by_id = {n.id: n for n in kept}
    assert set(by_id) == {"a", "c", "d"}
    assert by_id["a"] == _node("a", None, 0, "a", "add(3, 4)")
    assert by_id["c"] == _node("c", None, 0, "c", "add(1, 1)")
    assert by_id["d"] == _node("d", "c", 1, "c", "add(1, 2)")
    assert counts.dropped == {"test": MatchCounts(canonical=1, equivalent=1)} and counts.total_dropped == 2
    CurriculumSampler([TreeNode(n.id, n.parent_id, n.depth, n.root_id) for n in kept],
                      CurriculumConfig(), seed=0)  # raises on an inconsistent forest
    assert relink(nodes, set()) == nodes


def test_overlapping_roots_are_removed_or_kept_and_named(caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="ladder_core.variants.decontaminate")  # the user's warning is at start-up
    d = Decontaminator(ToyDomain(), {"test": TEST})
    roots = [Problem("train/0", "add(20, 10)"), Problem("train/1", "add(40, 41)")]
    kept, counts = d.split_roots(roots, keep=False)
    assert [r.id for r in kept] == ["train/1"] and counts.total_dropped == 1
    assert counts.overlapping_roots[0].root_id == "train/0" and "train/0" in caplog.text
    kept, counts = d.split_roots(roots, keep=True)
    assert len(kept) == 2 and counts.kept_overlapping_roots and counts.total_dropped == 0
    nodes = [_node(r.id, None, 0, r.id, r.text) for r in roots]
    assert len(d.filter_nodes(nodes, keep_roots=["train/0"])[0]) == 2


def test_tree_builder_never_accepts_an_evaluation_problem(tmp_path):
    # halving 20 in add(10, 20, 40) gives add(10, 10, 40); dropping 40 from it gives add(10, 10): plant both
    test = [Problem("test/a", "add(10, 10, 40)"), Problem("test/b", "add(5, 20, 40)")]
    d = Decontaminator(ToyDomain(), {"test": test})
    root = Problem("train/0", "add(10, 20, 40)")
    builder = TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], tmp_path, TreeConfig(max_depth=3, per_root=30,
                          children_per_node=6, max_rounds=20), progress=False, exclude=d.rejection_reason)
    result = builder.build([root])
    assert not [n for n in result.nodes if d.match(n.to_problem())]
    rejections = result.summary()["rejections"]
    overlap = {k: v for k, v in rejections.items() if k.startswith("eval_overlap:")}
    assert overlap and set(overlap) <= {"eval_overlap:test:canonical"}
    counts = counts_from_rejections(rejections)
    assert counts.dropped["test"].canonical == sum(overlap.values())


def test_counts_round_trip_and_merge():
    a = counts_from_rejections({"eval_overlap:test:canonical": 2, "duplicate_exact": 5})
    b = from_dict(Decontamination, {"dropped": {"test": {"equivalent": 1}, "validation": {"canonical": 3}}})
    a.merge(b)
    assert to_dict(a)["dropped"] == {"test": {"canonical": 2, "equivalent": 1, "schema_version": 1},
                                     "validation": {"canonical": 3, "equivalent": 0, "schema_version": 1}}
    assert a.total_dropped == 6 and from_dict(Decontamination, to_dict(a)) == a


@pytest.mark.parametrize("bad", ["", "add(", "x" * 10_000])
def test_unparseable_text_never_raises(bad):
    d = Decontaminator(SumDomain(), {"test": TEST})
    assert d.match(Problem("x", bad)) is None or d.match(Problem("x", bad)).set_name == "test"


def test_the_published_llama_split_has_overlapping_roots_named_at_start_up(capsys):
    """The paper's 10/100 split: two roots verbatim in the test set, a third written with the terms swapped."""
    pytest.importorskip("ladder_integration")
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from ladder_core.domain import DomainContext
    from ladder_core.pipeline.stages import warn_overlapping_roots
    from ladder_integration.domain import IntegrationDomain

    domain = IntegrationDomain(None, DomainContext(model_scale="full"))
    for keep in (False, True):
        cfg = OmegaConf.create({
                                "decontamination": {"keep_overlapping_roots": keep}})
        ctx = SimpleNamespace(cfg=cfg, domain=domain, train_problems=lambda: domain.load_problems("train"))
        warn_overlapping_roots(ctx)  # type: ignore[arg-type]
        err = capsys.readouterr().err
        assert "3 training root(s) are evaluation problems" in err
        assert "ladder_llama_train/001 (= test ladder_llama_test/001)" in err
        assert ("kept" in err) == keep and ("removed from training" in err) == (not keep)
    domain.close()
