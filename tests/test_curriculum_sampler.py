"""Tree moves, modes, probes and checkpointing of the curriculum sampler."""

import json
from collections import Counter
from dataclasses import replace

import pytest

from ladder_core.difficulty import (
    CurriculumConfig,
    CurriculumSampler,
    NodeStatus,
    nodes_from_records,
)
from ladder_core.records import TreeNode

# The mechanics below are written against an explicit band (0.2) and hard weight (0.05), not
# the shipped defaults, so that "two failed groups" is clearly out of reach.
CFG = CurriculumConfig(root_probe_rate=0.0, decay=1.0, band_low=0.2, hard_weight=0.05)


def forest(roots=2, branching=3, depth=2):
    """Ids like r0, r0.1, r0.1.2."""
    nodes = []
    for r in range(roots):
        rid = f"r{r}"
        nodes.append(TreeNode(rid, None, 0, rid))
        level = [rid]
        for d in range(1, depth + 1):
            nxt = []
            for parent in level:
                for c in range(branching):
                    nid = f"{parent}.{c}"
                    nodes.append(TreeNode(nid, parent, d, rid))
                    nxt.append(nid)
            level = nxt
    return nodes


def children(sampler, node_id):
    return [n.id for n in sampler.nodes if n.parent_id == node_id]


def fail(sampler, node_id, groups=2):
    for _ in range(groups):
        sampler.update(node_id, 0, 8)


def succeed(sampler, node_id, groups=3):
    for _ in range(groups):
        sampler.update(node_id, 8, 8)


def test_rejects_inconsistent_trees():
    with pytest.raises(ValueError, match="duplicate"):
        CurriculumSampler([TreeNode("a", None, 0, "a")] * 2, CFG)
    with pytest.raises(ValueError, match="unknown parent"):
        CurriculumSampler([TreeNode("a", None, 0, "a"), TreeNode("b", "zz", 1, "a")], CFG)
    with pytest.raises(ValueError, match="depth"):
        CurriculumSampler([TreeNode("a", None, 0, "a"), TreeNode("b", "a", 2, "a")], CFG)
    with pytest.raises(ValueError, match="root"):
        CurriculumSampler([TreeNode("a", None, 1, "a")], CFG)


def test_nodes_from_records_reads_objects_and_mappings():
    class Rec:
        id, parent_id, depth, root_id, text = "v1", "r", 1, "r", "integrate(x, x)"

    nodes = nodes_from_records([{"id": "r", "parent_id": None, "depth": 0, "root_id": "r", "text": "t"}, Rec()])
    assert nodes == [TreeNode("r", None, 0, "r", "t"), TreeNode("v1", "r", 1, "r", "integrate(x, x)")]


def test_start_explores_roots_not_the_whole_tree():
    s = CurriculumSampler(forest(), CFG)
    probs = s.probabilities()
    assert s.status("r0") is NodeStatus.UNTRIED
    assert probs["r0"] > 1000 * probs["r0.0"]  # nothing below an unmeasured root is worth measuring yet
    assert set(s.sample(2)) == {"r0", "r1"}
    batch = s.sample(5)
    assert {"r0", "r1"} <= set(batch) and len(set(batch)) == 5  # fillers only to stay distinct


def test_out_of_reach_node_hands_probability_to_its_children():
    s = CurriculumSampler(forest(), CFG)
    before = s.probabilities()
    fail(s, "r0")
    after = s.probabilities()
    assert s.status("r0") is NodeStatus.HARD
    assert after["r0"] < before["r0"] / 5
    for child in children(s, "r0"):
        assert after[child] > 5 * before[child]
    # grandchildren stay quiet until their own parent proves out of reach
    assert after["r0.0.0"] < after["r0.0"] / 1000
    fail(s, "r0.0")
    assert s.probabilities()["r0.0.0"] > 5 * after["r0.0.0"]


def test_out_of_reach_needs_enough_trials():
    s = CurriculumSampler(forest(), replace(CFG, min_trials=16))
    s.update("r0", 0, 8)
    assert s.status("r0") is NodeStatus.UNCERTAIN
    assert s.weight("r0") == 1.0  # keep measuring
    s.update("r0", 0, 8)
    assert s.status("r0") is NodeStatus.HARD


def test_learnable_nodes_beat_mastered_and_hard_ones_and_peak_at_half():
    s = CurriculumSampler(forest(), CFG)
    s.update("r0", 4, 8)
    s.update("r1", 0, 8)
    s.update("r0.0", 6, 8)
    for _ in range(3):
        s.update("r0.1", 8, 8)
    assert s.status("r0") is NodeStatus.LEARNABLE and s.status("r0.1") is NodeStatus.MASTERED
    assert s.status("r1") is NodeStatus.HARD
    assert s.weight("r0") > s.weight("r0.0") > s.weight("r0.1")
    assert s.weight("r0") == pytest.approx(1.0)
    assert s.weight("r1") == pytest.approx(CFG.hard_weight)


def test_mastered_nodes_are_rare_but_never_zero():
    s = CurriculumSampler(forest(roots=1, depth=1), CFG)
    for node in ("r0", "r0.0", "r0.1", "r0.2"):
        succeed(s, node)
    s2 = CurriculumSampler(forest(roots=1, depth=1), CFG)
    # all mastered: every node keeps the floor weight and can still be drawn
    assert all(s.weight(n.id) == pytest.approx(CFG.mastered_weight) for n in s.nodes)
    drawn = Counter(i for _ in range(200) for i in s.sample(1))
    assert len(drawn) == 4
    # one learnable node among mastered ones dominates draws of size 1
    s2.update("r0", 4, 8)
    for node in ("r0.0", "r0.1", "r0.2"):
        succeed(s2, node)
    s2.update("r0", 4, 8)
    drawn = Counter(i for _ in range(400) for i in s2.sample(1))
    share = drawn["r0"] / 400
    expected = 1.0 / (1.0 + 3 * CFG.mastered_weight)
    assert abs(share - expected) < 0.06
    assert sum(drawn[c] for c in ("r0.0", "r0.1", "r0.2")) > 0


def test_mastered_children_bring_the_parent_back():
    s = CurriculumSampler(forest(roots=1, depth=2), CFG)
    fail(s, "r0", groups=5)
    fail(s, "r0.0", groups=5)
    assert s.status("r0.0") is NodeStatus.HARD
    grandkids = children(s, "r0.0")
    succeed(s, grandkids[0])
    assert s.status("r0.0") is NodeStatus.UNCERTAIN, "one of one tried child mastered: comes back"
    assert s.weight("r0.0") == 1.0
    assert s.estimator.trials("r0.0") <= CFG.min_trials / 2
    # re-measured and still out of reach: stays down until another child is mastered
    fail(s, "r0.0", groups=1)
    assert s.status("r0.0") is NodeStatus.HARD
    s.update(grandkids[1], 4, 8)  # tried, learnable: 1 of 2 mastered = 0.5, but no new mastery
    assert s.status("r0.0") is NodeStatus.HARD
    succeed(s, grandkids[1], groups=6)
    assert s.status("r0.0") is NodeStatus.UNCERTAIN
    # the same climb one level up: the root comes back once its children are mastered
    for child in children(s, "r0"):
        succeed(s, child)
    assert s.status("r0") is NodeStatus.UNCERTAIN
    assert s.summary()["revisits"] == 3
    probs = s.probabilities()
    assert probs["r0"] == max(probs.values())


def test_revisit_respects_revisit_fraction():
    s = CurriculumSampler(forest(roots=1, depth=1, branching=4), replace(CFG, revisit_fraction=0.75))
    fail(s, "r0")
    kids = children(s, "r0")
    for kid in kids:
        s.update(kid, 4, 8)
    succeed(s, kids[0], groups=6)
    succeed(s, kids[1], groups=6)
    assert s.status("r0") is NodeStatus.HARD  # 2 of 4 < 0.75
    succeed(s, kids[2], groups=6)
    assert s.status("r0") is NodeStatus.UNCERTAIN


def test_roots_are_probed_at_the_configured_rate_round_robin():
    nodes = forest(roots=4, depth=2)
    s = CurriculumSampler(nodes, replace(CFG, root_probe_rate=0.25), seed=3)
    roots = {"r0", "r1", "r2", "r3"}
    for r in roots:
        fail(s, r)  # out of reach: the weighted draw alone would hardly pick them
    for r in roots:
        for c in children(s, r):
            s.update(c, 4, 8)
    counts = Counter()
    batches = 40
    for _ in range(batches):
        ids = s.sample(8)
        assert len(set(ids)) == 8
        counts.update(i for i in ids if i in roots)
    total = sum(counts.values())
    assert 2 * batches <= total <= 2 * batches + 8  # 25% of 8 = 2 probes a batch, plus rare weighted picks
    assert max(counts.values()) - min(counts.values()) <= 3  # round robin


def test_fractional_probe_rate_is_met_on_average():
    s = CurriculumSampler(forest(roots=3, depth=1), replace(CFG, root_probe_rate=0.1), seed=1)
    for r in ("r0", "r1", "r2"):
        fail(s, r)
    probes = sum(sum(i.startswith("r") and "." not in i for i in s.sample(5)) for _ in range(400))
    assert 0.35 * 400 < probes < 0.75 * 400  # 0.5 a batch expected, plus hard_weight picks


def test_sample_is_distinct_where_possible_and_repeats_only_when_needed():
    s = CurriculumSampler(forest(roots=1, depth=1), CFG)
    ids = s.sample(4)
    assert sorted(ids) == ["r0", "r0.0", "r0.1", "r0.2"]
    ids = s.sample(10)
    assert len(ids) == 10 and set(ids) == {"r0", "r0.0", "r0.1", "r0.2"}
    assert max(Counter(ids).values()) - min(Counter(ids).values()) <= 1
    assert s.sample(0) == []
    excluded = s.sample(3, exclude={"r0"})
    assert "r0" not in excluded
    with pytest.raises(ValueError):
        s.sample(-1)


def test_uniform_mode_draws_every_node_alike():
    cfg = replace(CFG, mode="uniform")
    s = CurriculumSampler(forest(roots=2, depth=1), cfg, seed=5)
    fail(s, "r0")
    succeed(s, "r1")
    counts = Counter(i for _ in range(800) for i in s.sample(2))
    assert len(counts) == 8
    assert max(counts.values()) / min(counts.values()) < 1.5
    assert s.mean("r1") > 0.8  # estimates are still kept for logging


def test_roots_only_mode_never_samples_variants():
    cfg = replace(CFG, mode="roots_only", root_probe_rate=0.5)
    s = CurriculumSampler(forest(roots=3, depth=2), cfg)
    ids = s.sample(7)
    assert all("." not in i for i in ids)
    assert sorted(Counter(ids).values()) == [2, 2, 3]


def test_depth_success_and_mastered_roots():
    s = CurriculumSampler(forest(roots=2, depth=1), CFG)
    succeed(s, "r0")
    s.update("r1", 2, 8)
    s.update("r0.0", 4, 8)
    s.update("r1.0", 8, 8)
    ds = s.depth_success()
    assert set(ds) == {0, 1}
    assert ds[0] == pytest.approx((s.mean("r0") + s.mean("r1")) / 2)
    assert ds[1] == pytest.approx((5 / 10 + 9 / 10) / 2)
    assert s.mastered_roots() == ["r0"]
    assert s.summary()["status_counts"]["mastered"] == 1
    assert s.mean("r0.2") == 0.5  # untried: prior mean


def test_state_dict_round_trip_resumes_identically():
    nodes = forest(roots=3, depth=2)
    cfg = replace(CFG, root_probe_rate=0.2, decay=0.98)
    a = CurriculumSampler(nodes, cfg, seed=11)
    for i, node in enumerate(a.sample(9)):
        a.update(node, i % 9, 8)
    fail(a, "r0")
    state = json.loads(json.dumps(a.state_dict()))
    b = CurriculumSampler(nodes, cfg, seed=999)
    b.load_state_dict(state)
    for n in nodes:
        assert b.estimator.estimate(n.id) == a.estimator.estimate(n.id)
        assert b.weight(n.id) == a.weight(n.id)
    for _ in range(5):
        batch = a.sample(6)
        assert b.sample(6) == batch
        for node in batch:
            a.update(node, 3, 8)
            b.update(node, 3, 8)
    assert a.state_dict() == b.state_dict()


def test_load_state_dict_checks_node_ids():
    a = CurriculumSampler(forest(roots=2, depth=1), CFG)
    a.update("r1.2", 1, 8)
    state = a.state_dict()
    b = CurriculumSampler(forest(roots=1, depth=1), CFG)
    with pytest.raises(ValueError, match="not in this tree"):
        b.load_state_dict(state)
    b.load_state_dict(state, strict=False)
    assert not b.estimator.seen("r1.2")
    with pytest.raises(ValueError, match="version"):
        b.load_state_dict({**state, "version": 99})


def test_unknown_node_update_is_a_clear_error():
    s = CurriculumSampler(forest(roots=1, depth=1), CFG)
    with pytest.raises(KeyError, match="unknown curriculum node"):
        s.update("nope", 1, 2)
    with pytest.raises(ValueError):
        s.update("r0", 3, 2)
