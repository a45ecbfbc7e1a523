"""Two CPU processes (gloo): dynamic sampling decides identically on every rank from gathered rewards, and the
configured process-group timeout is the one a waiting rank gets."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import torch.multiprocessing as mp
from omegaconf import OmegaConf

GROUP = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str, timeout_s: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
    import torch
    import torch.distributed as dist
    from accelerate.utils import gather, gather_object

    from ladder_core.difficulty import CurriculumConfig, CurriculumSampler, DynamicSampler
    from ladder_core.records import TreeNode
    from ladder_core.difficulty.dynamic_sampling import total_rewards
    from ladder_core.training.distributed import process_state

    cfg = OmegaConf.create({"trainer": {"process_group_timeout_s": timeout_s, "device": "cpu"}})
    state = process_state(cfg)
    assert state.num_processes == world and dist.get_rank() == rank, (state.num_processes, state.process_index, rank)
    # Each rank holds two groups of its own (as TRL's sampler lays a generation batch out over ranks).
    local_ids = [f"n{rank * 2}", f"n{rank * 2 + 1}"]
    local = {0: [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]],  # n0 dead (total 1, 1), n1 dead (1, 1)
             1: [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]}[rank]  # n2 live, n3 dead
    per_func = gather(torch.tensor(local)).tolist()  # what TRL's _calculate_rewards returns on every rank
    node_ids = gather_object(local_ids)
    nodes = [TreeNode(f"n{i}", None, 0, f"n{i}") for i in range(12)]
    curriculum = CurriculumSampler(nodes, CurriculumConfig.from_dict({"mode": "uniform"}), seed=0)
    policy = DynamicSampler(curriculum, GROUP, replacement_budget=1, update_estimates=False)
    plan = policy.new_batch(shards=world)
    zero = plan.observe(node_ids, total_rewards(per_func, [1.0, 1.0], GROUP))
    more = plan.next_prompts()
    plan.observe(more, [1.0, 0.0] * len(more))  # every replacement informative
    result = plan.finish()
    record = {"zero": zero, "more": more, "node_ids": node_ids,
              "assignments": [(slot, ref.node_id, plan.shard_of(ref)) for slot, ref in result.assignments]}
    Path(out, f"rank{rank}.json").write_text(json.dumps(record))
    dist.barrier()
    # The timeout: rank 1 waits for rank 0, which takes longer than the configured timeout.
    if rank == 0:
        time.sleep(timeout_s + 4)
    else:
        start = time.monotonic()
        try:
            dist.barrier()
            waited = None
        except RuntimeError:
            waited = time.monotonic() - start
        Path(out, "waited.json").write_text(json.dumps(waited))


@pytest.mark.timeout(120)
def test_two_ranks_decide_identically_and_honour_the_configured_timeout(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), 10), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0 == r1  # same gathered inputs, same decisions, on both ranks
    assert r0["node_ids"] == ["n0", "n1", "n2", "n3"]
    assert r0["zero"] == [0, 1, 3]  # judged on the weighted total: n0's domain reward differs, its total does not
    assert len(r0["more"]) == 4  # rank 0 needs two, rank 1 one: two each (equal local batches)
    # each slot is filled from its own rank: slots 0, 1 (rank 0) by the first two, slot 3 (rank 1) by the third
    assert [(slot, shard) for slot, _, shard in r0["assignments"]] == [(0, 0), (1, 0), (3, 1)]
    waited = json.loads((tmp_path / "waited.json").read_text())
    assert waited is not None and 8 <= waited < 14, waited  # the configured 10 s, not torch's 30 min


def test_a_bad_timeout_is_refused_naming_the_key():
    from ladder_core.training.distributed import timeout_seconds

    with pytest.raises(ValueError, match="process_group_timeout_s"):
        timeout_seconds(OmegaConf.create({"trainer": {"process_group_timeout_s": 0}}))
    assert timeout_seconds(OmegaConf.create({})) == 7200
