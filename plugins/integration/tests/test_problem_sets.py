"""The shipped problem sets and the JSONL loader."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from ladder_core.records import Problem, ProblemSetInfo
from ladder_integration.problem_sets import available_problem_sets, load_problem_set, problem_set_names

PAPER_SETS = {
    "ladder_llama_train": 10,
    "ladder_llama_test": 100,
    "mit_bee_2025_qualifier": 19,
    "mit_bee_qualifiers_2010_2024": 272,
    "mit_bee_regular_season": 85,
    "mit_bee_quarterfinals": 35,
    "mit_bee_semifinals": 24,
    "mit_bee_finals": 23,
    "simple_base": 174,
}


def test_shipped_sets_are_listed_with_their_sizes() -> None:
    infos = {info.name: info for info in available_problem_sets()}
    assert all(isinstance(i, ProblemSetInfo) for i in infos.values())
    for name, size in PAPER_SETS.items():
        assert infos[name].size == size
        assert infos[name].description
    assert "verifier_public" not in infos


def test_every_jsonl_in_the_data_folder_is_a_set_except_verifier_public() -> None:
    data = resources.files("ladder_integration").joinpath("data")
    stems = {p.name[: -len(".jsonl")] for p in data.iterdir() if p.name.endswith(".jsonl")}
    assert set(problem_set_names()) == stems - {"verifier_public"}


def test_every_listed_set_loads_with_unique_ids_and_its_size() -> None:
    for info in available_problem_sets():
        problems = load_problem_set(info.name)
        assert len(problems) == info.size
        assert len({p.id for p in problems}) == len(problems)
        assert all(isinstance(p, Problem) and p.text.strip() for p in problems)


def test_problem_fields() -> None:
    problems = load_problem_set("ladder_llama_train")
    first = problems[0]
    assert first == Problem(id="ladder_llama_train/000", text="integrate((x-3)/(x**2+3), x)",
                            source="ladder_llama_train")
    assert first.meta == {"kind": "indefinite"}
    finals = load_problem_set("mit_bee_finals")
    assert {p.meta["kind"] for p in finals} <= {"definite", "indefinite"}
    assert any(p.meta["kind"] == "definite" for p in finals)


def test_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(ValueError) as info:
        load_problem_set("ladder_llama_tarin")
    message = str(info.value)
    assert "ladder_llama_tarin" in message
    for name in PAPER_SETS:
        assert name in message


def test_a_path_to_a_jsonl_file_works(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"id": "a", "raw": "integrate(x, x)", "kind": "indefinite"},
            {"problem": "integrate(sin(x), (x, 0, pi))", "kind": "definite", "answer": "2"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    problems = load_problem_set(str(path))
    assert [p.text for p in problems] == ["integrate(x, x)", "integrate(sin(x), (x, 0, pi))"]
    assert [p.id for p in problems] == ["a", "mine/001"]
    assert all(p.source == "mine" for p in problems)
    assert problems[1].meta == {"kind": "definite", "answer": "2"}
    assert load_problem_set(path) == problems  # a Path object too


def test_missing_file_and_malformed_lines_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        load_problem_set(str(tmp_path / "absent.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"raw": "integrate(x, x)"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_problem_set(str(bad))
    empty = tmp_path / "empty_raw.jsonl"
    empty.write_text('{"id": "z", "raw": "  "}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="raw"):
        load_problem_set(str(empty))
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "z", "raw": "integrate(x, x)"}\n{"id": "z", "raw": "integrate(x**2, x)"}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id"):
        load_problem_set(str(dup))
