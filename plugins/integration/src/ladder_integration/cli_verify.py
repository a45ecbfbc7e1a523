"""``ladder-verify``: check JSONL lines of ``{"problem": ..., "completion": ...}``.

Each input line gives one output line: the input's keys plus ``correct``,
``status``, ``reason`` and ``seconds``. A bad line (invalid JSON, missing keys)
gets status ``error`` with the reason and never stops the rest. A summary goes
to stderr: count, checks per second, and accuracy / false accepts / false
rejects when lines carry a boolean ``label``.

    ladder-verify checks.jsonl -o verdicts.jsonl --mode derivative --workers 2
    cat checks.jsonl | ladder-verify --timeout 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import IO, Any, Iterator

from ladder_integration.verify.config import MODE_ALIASES, MODES, VerifierConfig

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ladder-verify", description="Verify integration answers from JSONL lines.")
    p.add_argument("input", nargs="?", default="-", help="JSONL file with problem/completion keys (default: stdin)")
    p.add_argument("-o", "--output", default="-", help="where to write one JSONL verdict per input line (default: stdout)")
    p.add_argument("--mode", default="derivative", choices=sorted(MODES + tuple(MODE_ALIASES)),
                   help="derivative (default, exact), paper (the paper's 1e-2 interval check) or simplify (baseline)")
    p.add_argument("--timeout", type=float, default=2.0, help="hard limit per check in seconds (default 2)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0 = one per CPU)")
    p.add_argument("--chunk", type=int, default=1024, help="lines verified per batch (bounds memory on big files)")
    return p


def _parse_line(line: str) -> tuple[dict[str, Any], str]:
    """The record and an error reason ("" when the line is usable)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {}, f"invalid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(record, dict):
        return {}, "a line must be a JSON object"
    missing = [k for k in ("problem", "completion") if not isinstance(record.get(k), str)]
    if missing:
        return record, f"missing or non-string key(s): {', '.join(missing)}"
    return record, ""


def _chunks(stream: IO[str], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Summary:
    def __init__(self) -> None:
        self.count = 0
        self.statuses: Counter = Counter()
        self.labelled = self.right = self.false_accepts = self.false_rejects = 0
        self.startup_s = 0.0

    def add(self, record: dict[str, Any], correct: bool, status: str) -> None:
        self.count += 1
        self.statuses[status] += 1
        label = record.get("label")
        if isinstance(label, bool):
            self.labelled += 1
            self.right += label == correct
            self.false_accepts += correct and not label
            self.false_rejects += label and not correct

    def text(self, seconds: float) -> str:
        rate = self.count / seconds if seconds > 0 else 0.0
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        lines = [f"ladder-verify: {self.count} checks in {seconds:.2f} s ({rate:.0f} checks/s, after "
                 f"{self.startup_s:.1f} s starting workers); {statuses}"]
        if self.labelled:
            lines.append(f"ladder-verify: accuracy {self.right / self.labelled:.4f} on {self.labelled} labelled; "
                         f"false accepts {self.false_accepts}, false rejects {self.false_rejects}")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        config = VerifierConfig(mode=args.mode, timeout_s=args.timeout, workers=args.workers)
    except ValueError as exc:
        print(f"ladder-verify: {exc}", file=sys.stderr)
        return 2
    try:
        source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"ladder-verify: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        sink = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        print(f"ladder-verify: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1

    from ladder_integration.verify import IntegrationVerifier

    summary = _Summary()
    t0 = time.perf_counter()
    try:
        with IntegrationVerifier(config) as verifier:
            verifier.check("integrate(x, x)", "<ANSWER>x**2/2</ANSWER>")  # start workers outside the timing
            summary.startup_s = time.perf_counter() - t0
            start = time.perf_counter()
            for chunk in _chunks(source, max(1, args.chunk)):
                parsed = [(number, *_parse_line(line)) for number, line in chunk]
                good = [(rec["problem"], rec["completion"]) for _, rec, err in parsed if not err]
                verdicts = iter(verifier.check_batch(good))
                for number, record, err in parsed:
                    if err:
                        out = {**record, "line": number, "correct": False, "status": "error", "reason": err,
                               "seconds": 0.0}
                    else:
                        out = {**record, **next(verdicts).to_dict()}
                    summary.add(record, out["correct"], out["status"])
                    sink.write(json.dumps(out, ensure_ascii=False) + "\n")
                sink.flush()
    finally:
        if source is not sys.stdin:
            source.close()
        if sink is not sys.stdout:
            sink.close()
    print(summary.text(time.perf_counter() - start), file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
