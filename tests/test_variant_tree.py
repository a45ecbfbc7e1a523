"""Variant trees built with programmatic generators: shape, filters, dedup, mixing, hooks, rendering."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest
from omegaconf import OmegaConf

from ladder_core.hookspecs import DomainSpec, VariantGeneratorSpec, hookimpl
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.records import Problem, TreeNode, VariantProposal
from ladder_core.testing.toy_domain import ToyDomain, ToyRulesGenerator, make_problems
from ladder_core.variants import (
    UNPARSEABLE_REPLY,
    TreeBuilder,
    TreeConfig,
    read_nodes,
    read_rejections,
    read_rounds,
    resolve_generators,
    stats_from_store,
)
from ladder_core.variants.render import render_tree_html, render_tree_png
from ladder_core.variants.resolve import expand_names


def check_tree_invariants(nodes: Sequence[TreeNode], max_depth: int) -> None:
    """Every node has one parent in its own tree, one level up; ids unique; no duplicate text or canonical form."""
    by_id = {n.id: n for n in nodes}
    assert len(by_id) == len(nodes), "node ids must be unique"
    per_root: dict[str, list[TreeNode]] = {}
    for node in nodes:
        per_root.setdefault(node.root_id, []).append(node)
        if node.depth == 0:
            assert node.parent_id is None and node.id == node.root_id
            continue
        parent = by_id[node.parent_id]
        assert parent.root_id == node.root_id
        assert node.depth == parent.depth + 1 <= max_depth
        assert node.id == f"{node.root_id}/v{node.seq}"
    for root_id, tree in per_root.items():
        seqs = sorted(n.seq for n in tree)
        assert seqs == list(range(len(tree))), f"{root_id}: sequence numbers must be contiguous from 0"
        texts = [n.text for n in tree]
        assert len(set(texts)) == len(texts), f"{root_id}: exact duplicates"
        canon = [n.canonical for n in tree if n.canonical]
        assert len(set(canon)) == len(canon), f"{root_id}: canonical duplicates"


class Recorder:
    """A plugin that records ``ladder_tree_grew`` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[TreeNode]]] = []

    @hookimpl
    def ladder_tree_grew(self, root_id, nodes):
        self.calls.append((root_id, list(nodes)))


def test_toy_tree_grows_recursively_to_target(tmp_path):
    domain = ToyDomain()
    roots = make_problems("toy", 3, seed=4, size=6)
    recorder = Recorder()
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[recorder]))
    config = TreeConfig(max_depth=3, per_root=60, children_per_node=8, seed=3)
    result = TreeBuilder(domain, [(ToyRulesGenerator(), 1.0)], tmp_path, config, host=host, progress=False).build(roots)

    check_tree_invariants(result.nodes, max_depth=3)
    assert len(result.nodes) == 3 * 61
    assert {n.depth for n in result.nodes} >= {0, 1, 2, 3}, "the tree must go deeper than one level"
    for root in roots:
        stats = result.stats[root.id]
        assert stats.variants == 60 and stats.complete
        assert stats.proposed == stats.accepted + sum(stats.rejections.values())
        assert sum(stats.nodes_per_depth.values()) == 61 and stats.nodes_per_depth[0] == 1
        assert stats.per_generator["toy-rules"].accepted == 60
        assert stats.to_dict()["rejection_rates"]
    children = [n for n in result.nodes if n.depth > 0]
    assert all(n.generator == "toy-rules" and n.transformations for n in children)
    # Every accepted variant is announced exactly once, after it is stored.
    announced = [n.id for _, grown in recorder.calls for n in grown]
    assert sorted(announced) == sorted(n.id for n in children)
    assert all(all(n.root_id == root_id for n in grown) for root_id, grown in recorder.calls)
    # What is on disk is what build returned, and the stats agree.
    on_disk = {n.id: n.to_dict() for n in read_nodes(tmp_path)}
    assert on_disk == {n.id: n.to_dict() for n in result.nodes}
    assert {k: v.to_dict() for k, v in stats_from_store(tmp_path, target=60).items()} == \
        {k: v.to_dict() for k, v in result.stats.items()}


def test_same_seed_same_trees_other_seed_other_trees(tmp_path):
    domain = ToyDomain()
    roots = make_problems("toy", 2, seed=1, size=5)

    def build(folder, seed):
        config = TreeConfig(max_depth=3, per_root=25, children_per_node=6, seed=seed)
        return TreeBuilder(domain, [(ToyRulesGenerator(), 1.0)], tmp_path / folder, config, progress=False).build(roots)

    a, b, c = build("a", 7), build("b", 7), build("c", 8)
    assert [n.to_dict() for n in a.nodes] == [n.to_dict() for n in b.nodes]
    assert [n.text for n in a.nodes] != [n.text for n in c.nodes]


class StrictToy(ToyDomain):
    """Toy domain with a reference check (fails on any 7) and a validator bug (raises on 'boom')."""

    def reference_solvable(self, problem: Problem, timeout_s: float) -> bool | None:
        assert timeout_s == 5.0
        return "7" not in problem.text

    def validate_variant(self, parent, candidate):
        if "boom" in candidate.text:
            raise RuntimeError("validator bug")
        return super().validate_variant(parent, candidate)


class ListGenerator:
    """Proposes a fixed list for the first problem it sees, nothing afterwards."""

    name = "list"

    def __init__(self, proposals: list[VariantProposal]) -> None:
        self.proposals = proposals
        self.used = False

    def propose(self, problems, n, rng):
        out = []
        for _ in problems:
            out.append([] if self.used else list(self.proposals))
            self.used = True
        return out


def test_every_filter_reason_is_counted(tmp_path):
    root = Problem("r", "add(10, 20, 30)")
    proposals = [
        VariantProposal("the model rambled", note=UNPARSEABLE_REPLY),  # unparseable_reply
        VariantProposal("   "),  # empty
        VariantProposal("garbage(("),  # unparseable (domain)
        VariantProposal("add(5)"),  # trivial (domain)
        VariantProposal("add(30, 20, 10)"),  # same_as_parent (domain)
        VariantProposal("add(10, 20, 30)"),  # duplicate_exact: the root itself
        VariantProposal("boom"),  # validator_error
        VariantProposal("add(10, 20)", ("drop a number",)),  # accepted v1
        VariantProposal(" add(10, 20) "),  # duplicate_exact of v1
        VariantProposal("add(10,20)"),  # same text once normalised by the domain: duplicate_exact
        VariantProposal("add(20, 10)"),  # duplicate_canonical of v1
        VariantProposal("add(7, 20)"),  # reference_unsolved
        VariantProposal("add(10, 5)"),  # accepted v2
        VariantProposal("add(3, 4)"),  # accepted v3
        VariantProposal("add(1, 2)"),  # over_quota
        VariantProposal("add(1, 3)"),  # over_quota
    ]
    config = TreeConfig(max_depth=2, per_root=3, children_per_node=len(proposals), max_rounds=1,
                        reference_check_timeout_s=5.0)
    result = TreeBuilder(StrictToy(), [(ListGenerator(proposals), 1.0)], tmp_path, config, progress=False).build([root])
    stats = result.stats["r"]
    assert stats.rejections == {
        "unparseable_reply": 1, "empty": 1, "unparseable": 1, "trivial": 1, "same_as_parent": 1,
        "duplicate_exact": 3, "validator_error": 1, "duplicate_canonical": 1, "reference_unsolved": 1,
        "over_quota": 2,
    }
    assert stats.accepted == 3 and stats.proposed == len(proposals)
    assert [n.text for n in result.nodes] == ["add(10, 20, 30)", "add(10, 20)", "add(10, 5)", "add(3, 4)"]
    assert result.nodes[1].transformations == ("drop a number",)
    stored = read_rejections(tmp_path)
    assert Counter(r.reason for r in stored) == Counter(stats.rejections)
    assert all(r.parent_id == "r" and r.generator == "list" for r in stored)


def test_dedup_modes(tmp_path):
    root = Problem("r", "add(10, 20, 30)")

    def build(mode):
        proposals = [VariantProposal("add(10, 20)"), VariantProposal("add(20, 10)"), VariantProposal("add(10, 20)")]
        config = TreeConfig(max_depth=1, per_root=10, children_per_node=3, max_rounds=1, dedup=mode)
        return TreeBuilder(ToyDomain(), [(ListGenerator(proposals), 1.0)], tmp_path / mode, config,
                           progress=False).build([root]).stats["r"]

    assert build("canonical").rejections == {"duplicate_canonical": 1, "duplicate_exact": 1}
    assert build("exact").rejections == {"duplicate_exact": 1}
    assert build("none").accepted == 3


def test_give_up_after_max_rounds_and_depth_zero(tmp_path):
    root = Problem("r", "add(10, 20, 30)")

    class Echo:
        name = "echo"

        def propose(self, problems, n, rng):
            return [[VariantProposal(p.text)] * n for p in problems]

    config = TreeConfig(max_depth=2, per_root=5, children_per_node=4, max_rounds=3)
    result = TreeBuilder(ToyDomain(), [(Echo(), 1.0)], tmp_path / "a", config, progress=False).build([root])
    stats = result.stats["r"]
    assert stats.rounds == 3 and not stats.complete and stats.variants == 0
    assert stats.rejections == {"duplicate_exact": 12}
    flat = TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], tmp_path / "b", TreeConfig(max_depth=0),
                       progress=False).build([root])
    assert [n.id for n in flat.nodes] == ["r"] and flat.rounds_run == 0


class NamedRules(ToyRulesGenerator):
    def __init__(self, name: str) -> None:
        self.name = name


def test_generators_are_mixed_by_share(tmp_path):
    roots = make_problems("toy", 4, seed=9, size=7)
    gens = [(NamedRules("rules-a"), 3.0), (NamedRules("rules-b"), 1.0)]
    config = TreeConfig(max_depth=3, per_root=40, children_per_node=4)
    result = TreeBuilder(ToyDomain(), gens, tmp_path, config, progress=False).build(roots)
    requested = Counter()
    for record in read_rounds(tmp_path):
        requested.update(record.requested)
    share_a = requested["rules-a"] / (requested["rules-a"] + requested["rules-b"])
    assert abs(share_a - 0.75) < 0.05, requested
    made = Counter(n.generator for n in result.nodes if n.depth)
    assert made["rules-a"] > made["rules-b"] > 0
    check_tree_invariants(result.nodes, 3)


def test_bad_inputs_are_refused(tmp_path):
    gen = [(ToyRulesGenerator(), 1.0)]
    with pytest.raises(ValueError, match="unique"):
        TreeBuilder(ToyDomain(), gen, tmp_path, progress=False).build([Problem("a", "add(1, 2)")] * 2)
    TreeBuilder(ToyDomain(), gen, tmp_path, TreeConfig(per_root=2), progress=False).build(
        [Problem("a", "add(1, 2, 3)")])
    with pytest.raises(ValueError, match="another text"):
        TreeBuilder(ToyDomain(), gen, tmp_path, progress=False).build([Problem("a", "add(4, 5, 6)")])
    with pytest.raises(ValueError, match="dedup"):
        TreeConfig(dedup="fuzzy")
    with pytest.raises(ValueError, match="distinct names"):
        TreeBuilder(ToyDomain(), gen * 2, tmp_path)
    with pytest.raises(ValueError, match="shares"):
        TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 0.0)], tmp_path)


def test_tree_config_from_run_config():
    cfg = OmegaConf.create({"seed": 5, "variants": {"max_depth": 3, "per_root": 500, "batch": 10,
                                                      "children_per_node": 10, "max_rounds": 50,
                                                      "reference_check_timeout_s": None, "dedup": "canonical"}})
    config = TreeConfig.from_cfg(cfg, max_depth=2, per_root=60)
    assert (config.max_depth, config.per_root, config.seed, config.children_per_node) == (2, 60, 5, 10)
    assert config.reference_check_timeout_s is None
    assert TreeConfig.from_cfg(cfg.variants).seed == 0


# ------------------------------------------------------------------ generator resolution
class OtherRules(ToyRulesGenerator):
    name = "other-rules"


class ToyPlugin:
    @hookimpl
    def ladder_domains(self):
        return [DomainSpec("toy", {"name": "toy"}, lambda cfg, ctx: ToyDomain())]

    @hookimpl
    def ladder_variant_generators(self):
        return [
            VariantGeneratorSpec("toy-rules", lambda domain, cfg: ToyRulesGenerator(), domains=("toy",)),
            VariantGeneratorSpec("other-rules", lambda domain, cfg: OtherRules(), domains=("elsewhere",)),
        ]


def run_cfg(generators, mix=(), scale="tiny", llm=True):
    return OmegaConf.create({
        "seed": 0,
        "model": {"scale": scale, "name_or_path": "unused"},
        "generator": {} if llm else None,
        "variants": {"generators": list(generators), "mix": list(mix)},
    })


def test_resolve_generators_auto_names_and_errors():
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    domain = ToyDomain()
    got = resolve_generators(run_cfg(["auto"]), domain, host)
    assert [(g.name, s) for g, s in got] == [("toy-rules", 1.0)]
    specs = host.variant_generators()
    assert expand_names(run_cfg(["auto"], scale="full"), domain, specs) == [("llm", 1.0)]
    assert expand_names(run_cfg(["auto"], scale="full", llm=False), domain, specs) == [("toy-rules", 1.0)]
    assert expand_names(run_cfg(["toy-rules", "llm"], mix=[0.7, 0.3], scale="full"), domain, specs) == \
        [("toy-rules", 0.7), ("llm", 0.3)]
    with pytest.raises(ValueError, match=r"unknown variant generator 'nope'; valid names: auto, llm, other-rules"):
        resolve_generators(run_cfg(["nope"]), domain, host)
    with pytest.raises(ValueError, match="only for domain"):
        resolve_generators(run_cfg(["other-rules"]), domain, host)
    with pytest.raises(ValueError, match="one share per generator"):
        resolve_generators(run_cfg(["toy-rules", "llm"], mix=[1.0]), domain, host)


# ------------------------------------------------------------------------- rendering
def test_render_one_tree_as_html_and_png(tmp_path):
    roots = [Problem("root/1", "add(11, 22, 33, 44)"), Problem("root/2", "add(5, 6, 7)")]
    result = TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], tmp_path / "v",
                         TreeConfig(max_depth=3, per_root=12, children_per_node=4), progress=False).build(roots)
    hostile = TreeNode(id="root/1/v99", root_id="root/1", parent_id="root/1", depth=1,
                          text="<script>alert(1)</script>", seq=99, persona="Euler & co", temperature=1.2)
    nodes = result.nodes + [hostile]
    page = render_tree_html(nodes, "root/1", tmp_path / "tree.html")
    assert (tmp_path / "tree.html").read_text(encoding="utf-8") == page
    tree = [n for n in nodes if n.root_id == "root/1"]
    for node in tree:
        assert node.id in page
    for node in tree[:-1]:
        assert node.text in page
    assert "add(5, 6, 7)" not in page, "only the asked root's tree"
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "Euler &amp; co" in page
    assert "T=1.2" in page and ">d1<" in page and ">d2<" in page
    png = render_tree_png(nodes, "root/1", tmp_path / "tree.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        render_tree_html(nodes, "missing")


def test_random_generator_state_is_per_round(tmp_path):
    """The generator's rng is derived from (seed, round, name): two builders agree round by round."""
    seen: list[list[float]] = []

    class Spy(ToyRulesGenerator):
        def propose(self, problems, n, rng: random.Random):
            seen.append([rng.random()])
            return super().propose(problems, n, rng)

    for folder in ("a", "b"):
        TreeBuilder(ToyDomain(), [(Spy(), 1.0)], tmp_path / folder, TreeConfig(per_root=10, children_per_node=4),
                    progress=False).build([Problem("r", "add(1, 2, 3, 4)")])
    half = len(seen) // 2
    assert seen[:half] == seen[half:] and len({x[0] for x in seen[:half]}) == half


# ------------------------------------------------------------------ integration domain
def test_integration_domain_tree_with_its_programmatic_generator(tmp_path):
    """The reference domain, found through its entry point, builds a tree on CPU with ``auto``."""
    host = PluginHost(create_plugin_manager())
    specs = host.domains()
    assert "integration" in specs, "the integration plugin is installed in this environment"
    from ladder_core.domain import DomainContext

    domain = specs["integration"].factory(specs["integration"].config, DomainContext(model_scale="tiny"))
    try:
        cfg = run_cfg(["auto"], scale="tiny")
        cfg.variants.easier_fraction = 0.7
        [(gen, share)] = resolve_generators(cfg, domain, host)
        assert gen.name == "integration-rules" and share == 1.0
        roots = [Problem("int/0", "integrate(x**2*cos(2*x) + exp(x), x)"),
                 Problem("int/1", "integrate(-5*x**5 + x**2*exp(5*x), x)")]
        config = TreeConfig(max_depth=3, per_root=25, children_per_node=6, seed=2)
        result = TreeBuilder(domain, [(gen, share)], tmp_path, config, progress=False).build(roots)
        check_tree_invariants(result.nodes, 3)
        for root in roots:
            stats = result.stats[root.id]
            assert stats.variants == 25 and stats.proposed == stats.accepted + sum(stats.rejections.values())
        variants = [n for n in result.nodes if n.depth]
        assert all(n.text.startswith("integrate(") and n.transformations for n in variants)
        assert {n.depth for n in variants} >= {1, 2}
        # Canonical forms make duplicates visible across the whole tree, the root included.
        assert all(n.canonical for n in result.nodes)
    finally:
        domain.close()
