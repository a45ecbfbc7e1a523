"""Problem sets: the shipped files load, are disjoint and solvable, and regenerate identically."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from ladder_countdown.config import GeneratorNode
from ladder_countdown.notation import parse_puzzle
from ladder_countdown.problems import (
    SHIPPED,
    generate_problems,
    load_problem_set,
    problem_set_infos,
    problem_to_record,
    write_jsonl,
)
from ladder_countdown.solver import reachable_within
from ladder_countdown.verify import check_answer


def test_shipped_sets_are_listed_with_sizes() -> None:
    infos = {info.name: info for info in problem_set_infos()}
    assert infos["train"].size == 10 and infos["test"].size == 100
    assert infos["test"].description


def test_shipped_problems_are_canonical_solvable_and_disjoint() -> None:
    train, test = load_problem_set("train"), load_problem_set("test")
    assert len(train) == 10 and len(test) == 100
    keys = {"train": set(), "test": set()}
    for name, problems in (("train", train), ("test", test)):
        for problem in problems:
            puzzle = parse_puzzle(problem.text)
            assert problem.text == puzzle.text  # stored canonically
            assert problem.id.startswith(f"{name}/") and problem.source == name
            assert 4 <= len(puzzle.numbers) <= 6 and 100 <= puzzle.target <= 999
            assert puzzle.target not in reachable_within(puzzle.numbers, 1)  # not trivial
            status, _ = check_answer(puzzle.numbers, puzzle.target, problem.meta["solution"])
            assert status.value == "correct", problem
            keys[name].add(puzzle.key)
        assert len(keys[name]) == len(problems)  # no duplicates
    assert not keys["train"] & keys["test"]


def test_shipped_files_regenerate_identically() -> None:
    """The generator decides by node budget, not by the clock: same seed, same problems on any machine."""
    data = resources.files("ladder_countdown").joinpath("data")
    for name in ("train", "test"):
        lines = data.joinpath(f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[:3]
        fresh = generate_problems(replace(SHIPPED[name], size=3), name)
        assert [json.dumps(problem_to_record(p)) for p in fresh] == lines


def test_generator_knobs_shape_the_problems() -> None:
    gen = GeneratorNode(size=6, seed=3, count_min=3, count_max=3, small_max=6, large_max=0, target_min=10,
                        target_max=40, min_operations=2)
    problems = generate_problems(gen, "mini")
    assert [p.id for p in problems] == [f"mini/{i:03d}" for i in range(6)]
    for problem in problems:
        puzzle = parse_puzzle(problem.text)
        assert len(puzzle.numbers) == 3 and all(1 <= n <= 6 for n in puzzle.numbers)
        assert 10 <= puzzle.target <= 40
    assert generate_problems(gen, "mini") == problems  # seeded
    assert generate_problems(replace(gen, seed=4), "mini") != problems


def test_impossible_knobs_fail_clearly() -> None:
    gen = GeneratorNode(size=1, count_min=2, count_max=2, small_max=1, large_max=0, target_min=900, target_max=999)
    with pytest.raises(RuntimeError, match="loosen the generator knobs"):
        generate_problems(gen, "x")
    with pytest.raises(ValueError):
        generate_problems(replace(gen, count_min=1), "x")


def test_generated_sets_and_jsonl_paths(tmp_path: Path) -> None:
    gen = GeneratorNode(size=4, count_min=3, count_max=4, target_min=10, target_max=99)
    train = load_problem_set("generated_train", gen)
    test = load_problem_set("generated_test", gen)
    assert len(train) == len(test) == 4
    assert not {parse_puzzle(p.text).key for p in train} & {parse_puzzle(p.text).key for p in test}
    path = tmp_path / "mine.jsonl"
    write_jsonl(train, path)
    assert [p.text for p in load_problem_set(str(path))] == [p.text for p in train]
    path.write_text('{"id": "a", "text": "Numbers: [2, 3, 4], Target: 24"}\n')
    (loaded,) = load_problem_set(str(path))
    assert loaded.text == "numbers: 2 3 4; target: 24" and loaded.meta["target"] == 24


def test_bad_names_and_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid: test, train"):
        load_problem_set("nope")
    with pytest.raises(ValueError, match="does not exist"):
        load_problem_set(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "integrate(x, x)"}\n')
    with pytest.raises(ValueError, match="line 1"):
        load_problem_set(str(bad))
