"""Zero-variance detection, the replacement budget and its counters."""

import pytest

from ladder_core.difficulty import (
    CurriculumConfig,
    CurriculumSampler,
    DynamicSampler,
    group_successes,
    zero_variance_groups,
)
from ladder_core.records import TreeNode


def test_zero_variance_groups_finds_all_equal_groups():
    rewards = [1.05, 1.05, 1.05,  0.0, 0.05, 1.05,  0.0, 0.0, 0.0,  0.05, 0.05, 0.05 + 1e-12]
    assert zero_variance_groups(rewards, 3) == [0, 2, 3]
    assert zero_variance_groups(rewards, 3, atol=0.0) == [0, 2]
    assert zero_variance_groups([], 4) == []
    assert zero_variance_groups([0.3], 1) == [0]  # a group of one never has variance


def test_zero_variance_groups_rejects_bad_layouts_clearly():
    with pytest.raises(ValueError, match="multiple of the group size"):
        zero_variance_groups([1.0, 0.0, 1.0], 2)
    with pytest.raises(ValueError, match="group_size"):
        zero_variance_groups([1.0], 0)
    with pytest.raises(ValueError, match="non-finite"):
        zero_variance_groups([1.0, float("nan")], 2)
    with pytest.raises(ValueError, match="non-finite"):
        zero_variance_groups([1.0, None], 2)  # type: ignore[list-item]


def test_group_successes_uses_the_threshold():
    assert group_successes([1.05, 0.05, 0.0, 1.05, 1.05, 1.05], 3, 0.5) == [1, 3]


class ScriptedCurriculum:
    """Records calls; hands out fresh ids for replacements."""

    def __init__(self):
        self.updates = []
        self.requests = []
        self.counter = 0

    def sample(self, k, *, exclude=(), probe=True):
        self.requests.append((k, set(exclude), probe))
        out = []
        for _ in range(k):
            self.counter += 1
            out.append(f"n{self.counter}")
        return out

    def update(self, node_id, successes, trials):
        self.updates.append((node_id, successes, trials))


def group(*values):
    return list(values)


MIXED = group(1.0, 0.0)
ALL_RIGHT = group(1.0, 1.0)
ALL_WRONG = group(0.0, 0.0)


def test_replacements_fill_the_batch_within_budget_and_count():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=2)
    plan = dyn.new_batch()
    zero = plan.observe(["a", "b", "c", "d"], MIXED + ALL_WRONG + ALL_RIGHT + MIXED)
    assert zero == [1, 2]
    assert plan.need == 2
    first = plan.next_prompts()
    assert first == ["n1", "n2"]
    assert cur.requests[-1] == (2, {"a", "b", "c", "d"}, False)  # no repeats, no probes
    plan.observe(first, MIXED + ALL_WRONG)  # one replacement still zero-variance
    second = plan.next_prompts()
    assert second == ["n3"] and cur.requests[-1][1] == {"a", "b", "c", "d", "n1", "n2"}
    plan.observe(second, MIXED)
    assert plan.next_prompts() == []  # full
    result = plan.finish()
    assert [g.node_id for g in result.keep] == ["a", "d", "n1", "n3"]
    assert result.padding == () and {g.node_id for g in result.discarded} == {"b", "c", "n2"}
    s = dyn.stats
    assert (s.batches, s.groups_seen, s.zero_variance) == (1, 7, 3)
    assert (s.replaced, s.dropped_unreplaced) == (2, 0)
    assert (s.extra_rounds, s.extra_groups, s.extra_generations) == (2, 3, 6)
    # every group, replacements included, updated the estimates with its successes
    assert cur.updates == [("a", 1, 2), ("b", 0, 2), ("c", 2, 2), ("d", 1, 2), ("n1", 1, 2), ("n2", 0, 2),
                           ("n3", 1, 2)]


def test_budget_exhausted_leaves_dropped_groups_as_padding():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=1)
    plan = dyn.new_batch()
    plan.observe(["a", "b", "c"], ALL_WRONG + ALL_WRONG + MIXED)
    more = plan.next_prompts()
    assert len(more) == 2
    plan.observe(more, ALL_WRONG + ALL_RIGHT)
    assert plan.next_prompts() == []  # budget of one round spent
    result = plan.finish()
    assert [g.node_id for g in result.keep] == ["c"]
    assert [g.node_id for g in result.padding] == ["a", "b"]  # original zero-variance groups pad first
    assert len(result.keep) + len(result.padding) == result.target == 3
    s = dyn.stats
    assert (s.replaced, s.dropped_unreplaced, s.zero_variance, s.extra_generations) == (0, 2, 4, 4)
    with pytest.raises(RuntimeError):
        plan.finish()
    with pytest.raises(RuntimeError):
        plan.observe(["x"], MIXED)


def test_counters_accumulate_over_batches_and_round_trip():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=3)
    for _ in range(3):
        plan = dyn.new_batch()
        plan.observe(["a", "b"], ALL_RIGHT + MIXED)
        while more := plan.next_prompts():
            plan.observe(more, MIXED * len(more))
        plan.finish()
    s = dyn.stats
    assert (s.batches, s.groups_seen, s.zero_variance, s.replaced, s.extra_rounds) == (3, 9, 3, 3, 3)
    assert s.as_dict()["zero_variance_rate"] == pytest.approx(3 / 9)
    other = DynamicSampler(cur, group_size=2)
    other.load_state_dict(dyn.state_dict())
    assert other.stats == dyn.stats


def test_disabled_policy_never_replaces_but_still_counts():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=5, enabled=False)
    plan = dyn.new_batch()
    plan.observe(["a", "b"], ALL_WRONG + MIXED)
    assert plan.next_prompts() == []
    result = plan.finish()
    assert [g.node_id for g in result.keep] == ["a", "b"]  # trains on the batch as generated
    assert dyn.stats.zero_variance == 1 and dyn.stats.replaced == 0 and dyn.stats.extra_generations == 0
    assert len(cur.updates) == 2


def test_zero_budget_means_no_extra_rounds():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=0)
    plan = dyn.new_batch()
    plan.observe(["a"], ALL_WRONG)
    assert plan.next_prompts() == [] and cur.requests == []
    assert plan.finish().padding[0].node_id == "a"
    assert dyn.stats.dropped_unreplaced == 1


def test_mismatched_ids_and_rewards_are_an_error():
    dyn = DynamicSampler(ScriptedCurriculum(), group_size=2)
    plan = dyn.new_batch()
    with pytest.raises(ValueError, match="node ids"):
        plan.observe(["a", "b"], MIXED)
    with pytest.raises(ValueError, match="multiple"):
        plan.observe(["a"], [1.0, 0.0, 1.0])
    with pytest.raises(RuntimeError):
        dyn.new_batch().finish()
    with pytest.raises(ValueError):
        DynamicSampler(None, group_size=2, replacement_budget=1)


def test_with_the_real_sampler_replacements_avoid_the_batch_and_feed_estimates():
    nodes = [TreeNode("r", None, 0, "r")] + [TreeNode(f"r.{i}", "r", 1, "r") for i in range(6)]
    cfg = CurriculumConfig(root_probe_rate=0.0, min_trials=2)
    sampler = CurriculumSampler(nodes, cfg, seed=0)
    sampler.update("r", 0, 4)  # out of reach: children are the frontier
    dyn = DynamicSampler.from_config(sampler, cfg, group_size=2)
    plan = dyn.new_batch()
    ids = sampler.sample(3)
    plan.observe(ids, ALL_RIGHT * 3)
    more = plan.next_prompts()
    assert len(more) == 3 and not set(more) & set(ids)
    assert all(sampler.estimator.seen(i) for i in ids)
    plan.observe(more, MIXED * 3)
    result = plan.finish()
    assert len(result.keep) == 3 and dyn.stats.replaced == 3
    assert dyn.replacement_budget == cfg.replacement_budget


def test_total_rewards_weights_functions_and_fills_unscorable_with_the_group_mean():
    from ladder_core.difficulty import total_rewards

    nan = float("nan")
    rows = [[1.0, 0.5], [0.0, 0.5], [nan, 1.0], [nan, nan]]
    assert total_rewards(rows, [1.0, 2.0], 2) == [2.0, 1.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="weights"):
        total_rewards([[1.0]], [1.0, 1.0], 1)


def test_zero_variance_is_judged_on_the_weighted_total_not_the_domain_reward():
    from ladder_core.difficulty import total_rewards

    # domain reward all wrong, but an extra reward function differs: the group has an advantage
    per_func = [[0.0, 0.2], [0.0, 0.9]]
    assert zero_variance_groups([r[0] for r in per_func], 2) == [0]
    assert zero_variance_groups(total_rewards(per_func, [1.0, 1.0], 2), 2) == []


def test_sharded_batches_fill_slots_on_their_own_rank_and_ask_equal_counts():
    """Two ranks, as every rank sees the gathered batch: decisions and requests are identical and rank-local."""
    def run():
        cur = ScriptedCurriculum()
        dyn = DynamicSampler(cur, group_size=2, replacement_budget=2)
        plan = dyn.new_batch(shards=2)
        # rank 0 owns a, b; rank 1 owns c, d. Rank 0 has two dead slots, rank 1 one.
        plan.observe(["a", "b", "c", "d"], ALL_WRONG + ALL_RIGHT + MIXED + ALL_WRONG)
        first = plan.next_prompts()
        assert first == ["n1", "n2", "n3", "n4"]  # two per rank: rank 0 gets n1, n2; rank 1 gets n3, n4
        # n1 (rank 0) informative, n2 dead; n3 (rank 1) dead, n4 informative
        plan.observe(first, MIXED + ALL_WRONG + ALL_WRONG + MIXED)
        second = plan.next_prompts()
        assert second == ["n5", "n6"]  # rank 0 still needs one, rank 1 none: one each
        plan.observe(second, MIXED + MIXED)
        assert plan.next_prompts() == []
        return plan.finish(), dyn.stats

    result, stats = run()
    again, _ = run()
    assert result == again
    pairs = [(slot, ref.round, ref.index, ref.node_id) for slot, ref in result.assignments]
    # slot 0 (a) <- n1 (round 1, index 0, rank 0); slot 1 (b) <- n5 (round 2, index 0, rank 0);
    # slot 3 (d) <- n4 (round 1, index 3, rank 1). n6 (rank 1) is surplus, never moved to rank 0.
    assert pairs == [(0, 1, 0, "n1"), (1, 2, 0, "n5"), (3, 1, 3, "n4")]
    assert result.unfilled == ()
    assert "n6" in {g.node_id for g in result.discarded}
    assert (stats.replaced, stats.dropped_unreplaced, stats.extra_generations) == (3, 0, 12)


def test_unsharded_multi_rank_batch_is_judged_but_not_replaced():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=2)
    plan = dyn.new_batch(shards=1, replace=False)
    plan.observe(["a", "b"], ALL_WRONG + MIXED)
    assert plan.next_prompts() == [] and cur.requests == []
    result = plan.finish()
    assert result.unfilled == (0,) and dyn.stats.dropped_unreplaced == 1
    with pytest.raises(ValueError, match="shards"):
        dyn.new_batch(shards=2).observe(["a", "b", "c"], MIXED * 3)


def test_recently_dead_nodes_are_not_drawn_as_replacements():
    cur = ScriptedCurriculum()
    dyn = DynamicSampler(cur, group_size=2, replacement_budget=1, dead_memory=1)
    plan = dyn.new_batch()
    plan.observe(["a", "b"], ALL_WRONG + MIXED)
    plan.observe(plan.next_prompts(), ALL_RIGHT)  # n1 dead too
    plan.finish()
    plan = dyn.new_batch()
    plan.observe(["c", "d"], ALL_WRONG + MIXED)
    plan.next_prompts()
    assert cur.requests[-1][1] == {"a", "n1", "c", "d"}  # batch ids plus last batch's dead nodes
    plan.observe(["n2"], MIXED)
    plan.finish()
    plan = dyn.new_batch()
    plan.observe(["e", "f"], MIXED + ALL_RIGHT)
    plan.next_prompts()
    assert cur.requests[-1][1] == {"c", "e", "f"}  # a and n1 are forgotten after dead_memory batches
