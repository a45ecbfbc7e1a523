"""``ladder-verify``: JSONL in, one verdict line per input line out, summary on stderr."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from ladder_integration.cli_verify import main

LINES = [
    {"problem": "integrate(x**2, x)", "completion": "<ANSWER>x**3/3 + C</ANSWER>", "label": True, "id": 1},
    {"problem": "integrate(x**2, x)", "completion": "<ANSWER>x**3</ANSWER>", "label": False, "id": 2},
    {"problem": "integrate(cos(x), x)", "completion": "<ANSWER>1.005*sin(x)</ANSWER>", "label": False, "id": 3},
    {"problem": "integrate(cos(x), x)", "completion": "no tags at all", "label": False, "id": 4},
]


def _write_input(tmp_path, extra_lines=()):
    path = tmp_path / "in.jsonl"
    body = [json.dumps(r) for r in LINES[:2]] + list(extra_lines) + [json.dumps(r) for r in LINES[2:]]
    path.write_text("\n".join(body) + "\n")
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_file_to_file_with_labels_and_bad_lines(tmp_path, capsys):
    src = _write_input(tmp_path, ['{"problem": "integrate(x, x)"', '{"completion": "<ANSWER>1</ANSWER>"}', "[1, 2]"])
    out = tmp_path / "out.jsonl"
    assert main([str(src), "-o", str(out), "--workers", "1", "--timeout", "2"]) == 0
    rows = _read(out)
    assert len(rows) == 7
    by_id = {r["id"]: r for r in rows if "id" in r}
    assert by_id[1]["correct"] is True and by_id[1]["status"] == "correct" and by_id[1]["label"] is True
    assert by_id[2]["correct"] is False and by_id[2]["status"] == "incorrect"
    assert by_id[3]["status"] == "incorrect"  # 0.5% off: exact by default
    assert by_id[4]["status"] == "unparseable" and "no <ANSWER> block" in by_id[4]["reason"]
    bad = [r for r in rows if "id" not in r]
    assert [r["status"] for r in bad] == ["error"] * 3
    assert "invalid JSON" in bad[0]["reason"]
    assert "problem" in bad[1]["reason"]
    assert "object" in bad[2]["reason"]
    assert [r["line"] for r in bad] == [3, 4, 5]
    assert all({"correct", "status", "reason"} <= set(r) for r in rows)
    err = capsys.readouterr().err
    assert "7 checks" in err and "checks/s" in err
    assert "accuracy 1.0000 on 4 labelled" in err
    assert "false accepts 0, false rejects 0" in err


def test_paper_mode_option_shows_its_false_accept(tmp_path, capsys):
    src = _write_input(tmp_path)
    out = tmp_path / "out.jsonl"
    assert main([str(src), "-o", str(out), "--mode", "paper", "--workers", "1"]) == 0
    rows = {r["id"]: r for r in _read(out)}
    assert rows[3]["correct"] is True  # the paper's 1e-2 tolerance accepts an answer 0.5% off
    assert "false accepts 1" in capsys.readouterr().err


def test_stdin_to_stdout(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(r) for r in LINES[:2]) + "\n\n"))
    assert main(["--workers", "1"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["correct"] for r in rows] == [True, False, False]  # one line out per line in, the empty one too
    assert rows[2]["status"] == "error" and rows[2]["reason"] == "empty line" and rows[2]["line"] == 3
    assert "3 checks" in captured.err


def test_missing_input_file_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_console_script_entry_point_runs(tmp_path):
    src = _write_input(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "ladder_integration.cli_verify", str(src), "--workers", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 4
    assert "false rejects 0" in proc.stderr


HOSTILE = [
    b'{"problem": "integrate(x, x)", "completion": "<ANSWER>x**2/2</ANSWER>", "id": "ok"}',
    b'{"problem": "integrate(x, x)", "completion": "<ANSWER>' + b"9" * 5000 + b'</ANSWER>", "id": "bigtext"}',
    b'{"problem": "integrate(x, x)", "completion": "x", "n": ' + b"7" * 5000 + b"}",  # 5,000-digit integer
    b'{"problem": "integrate(x, x)", "completion": "<ANSWER>\\ud800</ANSWER> \\ud800", "id": "surrogate"}',
    b'{"problem": "integrate(x, x)", "completion": "x", "deep": ' + b"[" * 60000 + b"]" * 60000 + b"}",
    b"[" * 60000 + b"]" * 60000,
    b'{"problem": "integrate(x, x)", "completion": "\xff\xfe bad utf-8"}',
    b"",
    b'{"problem": "integrate(x, x)", "completion": "<ANSWER>x**2/2</ANSWER>' + b" " * 20_000_000 + b'", "id": "long"}',
    b'{"problem": "integrate(x, x)", "completion": "<ANSWER>x**2/2</ANSWER>", "id": "last"}',
]


def _check_hostile(lines):
    assert len(lines) == len(HOSTILE)
    rows = [json.loads(line) for line in lines]
    by_id = {r["id"]: r for r in rows if "id" in r}
    assert by_id["ok"]["correct"] is True and by_id["last"]["correct"] is True
    assert by_id["long"]["status"] in ("correct", "unparseable", "error")  # answered, whatever it is
    assert by_id["bigtext"]["status"] in ("incorrect", "unparseable")
    assert by_id["surrogate"]["status"] in ("unparseable", "incorrect") and by_id["surrogate"]["completion"].startswith(
        "<ANSWER>\ud800")
    bad = {r["line"]: r for r in rows if r.get("status") == "error" and "line" in r}
    assert "invalid JSON" in bad[3]["reason"]
    assert "could not be written back" in bad[5]["reason"] or "nested" in bad[5]["reason"]
    assert "nested too deeply" in bad[6]["reason"]
    assert "invalid UTF-8" in bad[7]["reason"]
    assert bad[8]["reason"] == "empty line"


def test_hostile_lines_from_a_file_each_get_one_answer(tmp_path):
    src = tmp_path / "hostile.jsonl"
    src.write_bytes(b"\n".join(HOSTILE) + b"\n")
    out = tmp_path / "out.jsonl"
    assert main([str(src), "-o", str(out), "--workers", "1", "--timeout", "2"]) == 0
    _check_hostile(out.read_text(encoding="utf-8").splitlines())


def test_hostile_lines_from_a_pipe_each_get_one_answer(tmp_path):
    src = tmp_path / "hostile.jsonl"
    src.write_bytes(b"\n".join(HOSTILE) + b"\n")
    with src.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "ladder_integration.cli_verify", "--workers", "1"],
                              stdin=stdin, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _check_hostile(proc.stdout.decode("utf-8").splitlines())


def test_a_write_failure_is_exit_status_1(tmp_path, capsys):
    src = _write_input(tmp_path)
    assert main([str(src), "-o", str(tmp_path / "no" / "such" / "dir.jsonl")]) == 1
