"""Storage of variant trees: datasets-loadable, crash-safe, resumable without loss or duplication."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from ladder_core.artifacts import to_dict
from ladder_core.testing.toy_domain import ToyDomain, ToyRulesGenerator, make_problems
from ladder_core.variants import (
    StoreError,
    TreeBuilder,
    TreeConfig,
    VariantStore,
    load_hf_dataset,
    read_nodes,
    read_rejections,
    read_rounds,
)
from ladder_core.variants.store import NODES_FILE, PROGRESS_FILE, REJECTIONS_FILE

CONFIG = dict(max_depth=3, per_root=120, children_per_node=6, seed=11)
ROOTS = dict(prefix="kill", count=5, seed=3, size=7)


def build(folder, **overrides):
    config = TreeConfig(**{**CONFIG, **overrides})
    roots = make_problems(**ROOTS)
    return TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], folder, config, progress=False).build(roots)


def dump(folder):
    nodes = [json.dumps(n.to_dict(), sort_keys=True) for n in read_nodes(folder)]
    rejections = [json.dumps(to_dict(r), sort_keys=True) for r in read_rejections(folder)]
    return nodes, rejections


def check_no_loss_no_duplicates(folder, per_root):
    nodes = read_nodes(folder)
    assert len({n.id for n in nodes}) == len(nodes)
    by_root = {}
    for node in nodes:
        by_root.setdefault(node.root_id, []).append(node)
    for root_id, tree in by_root.items():
        assert sorted(n.seq for n in tree) == list(range(per_root + 1)), root_id
        assert len({n.text for n in tree}) == len(tree), f"{root_id}: a variant stored twice"


def test_nodes_file_loads_with_hf_datasets(tmp_path):
    result = build(tmp_path / "v", per_root=20)
    ds = load_hf_dataset(tmp_path / "v", cache_dir=str(tmp_path / "hf-cache"))
    assert len(ds) == len(result.nodes) == 5 * 21
    for column in ("id", "parent_id", "depth", "root_id", "text", "transformations", "temperature", "generator"):
        assert column in ds.column_names
    roots = ds.filter(lambda row: row["depth"] == 0)
    assert len(roots) == 5 and all(p is None for p in roots["parent_id"])
    assert sorted(ds["id"]) == sorted(n.id for n in result.nodes)
    assert max(ds["depth"]) <= 3


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from ladder_core.testing.toy_domain import ToyDomain, ToyRulesGenerator, make_problems
    from ladder_core.variants import TreeBuilder, TreeConfig

    class Slow(ToyRulesGenerator):
        def propose(self, problems, n, rng):
            time.sleep(0.25)
            return super().propose(problems, n, rng)

    config = TreeConfig(**{config})
    roots = make_problems(**{roots})
    TreeBuilder(ToyDomain(), [(Slow(), 1.0)], sys.argv[1], config, progress=False).build(roots)
    print("finished")
    """
)


def test_kill_and_resume_loses_nothing_and_repeats_nothing(tmp_path):
    reference = build(tmp_path / "reference")
    total_rounds = len(read_rounds(tmp_path / "reference"))
    assert total_rounds >= 5, "the reference build must take several rounds for the kill to land mid-way"

    script = tmp_path / "build.py"
    script.write_text(SCRIPT.format(config=repr(CONFIG), roots=repr(ROOTS)))
    folder = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(read_rounds(folder)) >= 3:  # roots + two generation rounds committed
                break
            if proc.poll() is not None:
                pytest.fail(f"builder exited early: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    committed = len(read_rounds(folder))
    assert 3 <= committed < total_rounds, "the kill must land before the build finished"
    before = len(read_nodes(folder))
    assert 0 < before < len(reference.nodes)

    resumed = build(folder)
    assert resumed.resumed and resumed.new_nodes == len(reference.nodes) - before
    check_no_loss_no_duplicates(folder, CONFIG["per_root"])
    # Exactly what an uninterrupted build writes: same nodes, ids, parents, rejections, round records.
    assert dump(folder) == dump(tmp_path / "reference")
    assert [r.expanded for r in read_rounds(folder)] == [r.expanded for r in read_rounds(tmp_path / "reference")]
    assert {k: v.to_dict() for k, v in resumed.stats.items()} == {k: v.to_dict() for k, v in reference.stats.items()}


class Crash(Exception):
    pass


class CrashingStore(VariantStore):
    """Dies after writing a round's nodes and half a rejection line, before the commit record."""

    def __init__(self, directory, crash_round):
        super().__init__(directory)
        self.crash_round = crash_round

    def commit_round(self, round_index, nodes, rejections, **kwargs):
        if round_index == self.crash_round:
            with self.nodes_path.open("a") as fh:
                fh.writelines(json.dumps(n.to_dict()) + "\n" for n in nodes)
            with self.rejections_path.open("a") as fh:
                fh.write(json.dumps(to_dict(rejections[0]))[:25])
            raise Crash
        return super().commit_round(round_index, nodes, rejections, **kwargs)


def test_crash_between_writes_is_rolled_back_and_redone(tmp_path):
    reference = build(tmp_path / "reference")
    folder = tmp_path / "crashed"
    config = TreeConfig(**CONFIG)
    builder = TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], CrashingStore(folder, 3), config,
                          progress=False)
    with pytest.raises(Crash):
        builder.build(make_problems(**ROOTS))
    committed_nodes = len(read_nodes(folder))
    raw_lines = (folder / NODES_FILE).read_text().count("\n")
    assert raw_lines > committed_nodes, "the crash left uncommitted nodes behind"
    resumed = build(folder)
    assert resumed.new_nodes == len(reference.nodes) - committed_nodes
    assert dump(folder) == dump(tmp_path / "reference")
    assert (folder / NODES_FILE).read_bytes() == (tmp_path / "reference" / NODES_FILE).read_bytes()


def test_torn_tail_is_dropped_and_readers_do_not_modify(tmp_path):
    folder = tmp_path / "v"
    build(folder, per_root=15)
    originals = {name: (folder / name).read_bytes() for name in (NODES_FILE, REJECTIONS_FILE, PROGRESS_FILE)}
    nodes = read_nodes(folder)
    with (folder / NODES_FILE).open("ab") as fh:
        fh.write(json.dumps(nodes[-1].to_dict()).encode() + b"\n" + b'{"id": "kill/000/v99", "ro')
    with (folder / PROGRESS_FILE).open("ab") as fh:
        fh.write(b'{"round": 99, "nodes_by')
    assert [n.id for n in read_nodes(folder)] == [n.id for n in nodes]
    assert (folder / NODES_FILE).read_bytes() != originals[NODES_FILE], "readers must not truncate"
    snapshot = VariantStore(folder).recover()
    assert snapshot.dropped_bytes > 0 and len(snapshot.nodes) == len(nodes)
    for name, data in originals.items():
        assert (folder / name).read_bytes() == data, name
    again = build(folder, per_root=15)
    assert again.rounds_run == 0 and again.new_nodes == 0


def test_hand_written_nodes_without_commit_log(tmp_path):
    folder = tmp_path / "v"
    build(folder, per_root=5)
    (folder / PROGRESS_FILE).unlink()
    (folder / REJECTIONS_FILE).unlink()
    count = len(read_nodes(folder))
    with (folder / NODES_FILE).open("ab") as fh:
        fh.write(b'{"id": "torn')
    snapshot = VariantStore(folder).recover()
    assert len(snapshot.nodes) == count and snapshot.dropped_bytes == len(b'{"id": "torn')


def test_store_shorter_than_its_commit_is_an_error(tmp_path):
    folder = tmp_path / "v"
    build(folder, per_root=5)
    data = (folder / NODES_FILE).read_bytes()
    (folder / NODES_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="shorter"):
        VariantStore(folder).recover()


def test_resume_with_a_larger_target_extends_the_trees(tmp_path):
    folder = tmp_path / "v"
    small = build(folder, per_root=30)
    first = {n.id: n.to_dict() for n in small.nodes}
    big = build(folder, per_root=70)
    assert big.resumed and big.new_nodes == 5 * 40
    after = {n.id: n.to_dict() for n in read_nodes(folder)}
    assert all(after[k] == v for k, v in first.items()), "existing nodes are kept unchanged"
    check_no_loss_no_duplicates(folder, 70)
    assert all(s.variants == 70 for s in big.stats.values())
    assert Counter(n.root_id for n in big.nodes) == Counter({r.id: 71 for r in make_problems(**ROOTS)})
    # Roots asked for later join the same store; earlier roots not asked for are left alone on disk.
    extra = TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], folder, TreeConfig(**{**CONFIG, "per_root": 10}),
                        progress=False).build(make_problems("extra", 1, seed=5, size=5))
    assert list(extra.stats) == ["extra/000"] and extra.stats["extra/000"].variants == 10
    assert len(read_nodes(folder)) == 5 * 71 + 11


def test_store_files_are_one_json_object_per_line(tmp_path):
    folder = tmp_path / "v"
    build(folder, per_root=10)
    for name in (NODES_FILE, REJECTIONS_FILE, PROGRESS_FILE):
        lines = Path(folder / name).read_text(encoding="utf-8").splitlines()
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    keys = {tuple(sorted(json.loads(line))) for line in (folder / NODES_FILE).read_text().splitlines()}
    assert len(keys) == 1, "every node row has the same columns"


def test_root_meta_survives_storage(tmp_path):
    from ladder_core.records import Problem

    root = Problem("m/1", "add(10, 20, 30)", source="set-a", meta={"answer": "60", "level": 3, "tags": ["x"]})
    TreeBuilder(ToyDomain(), [(ToyRulesGenerator(), 1.0)], tmp_path, TreeConfig(per_root=4), progress=False).build(
        [root])
    nodes = read_nodes(tmp_path)
    assert nodes[0].meta == {"answer": "60", "level": 3, "tags": ["x"]} and nodes[0].source == "set-a"
    problem = nodes[0].to_problem()
    assert problem.meta["answer"] == "60" and problem.meta["depth"] == 0 and problem.meta["parent_id"] is None
    child = nodes[1].to_problem()
    assert "answer" not in child.meta, "a variant does not inherit its root's reference answer"
    assert child.meta["root_id"] == "m/1" and child.source == "set-a"
