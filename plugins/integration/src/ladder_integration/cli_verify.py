"""``ladder-verify``: check JSONL lines of ``{"problem": ..., "completion": ...}``.

Each input line gives exactly one output line, whatever it holds: the input's
keys plus ``correct``, ``status``, ``reason`` and ``seconds``. A bad line gets
status ``error``, its line number and the reason, and never stops the rest:
invalid JSON or UTF-8, an empty line, integers too long to convert, nesting
too deep for the parser, escaped lone surrogates (written back escaped), a
record that cannot be written back (then only the verdict is written). The
exit status is 0 unless reading the input or writing the output fails. A summary goes
to stderr: count, checks per second, and accuracy / false accepts / false
rejects when lines carry a boolean ``label``.

    ladder-verify checks.jsonl -o verdicts.jsonl --mode derivative --workers 2
    cat checks.jsonl | ladder-verify --timeout 1
"""

from __future__ import annotations

import argparse
import io
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


def _parse_line(raw: bytes) -> tuple[dict[str, Any], str]:
    """The record and an error reason ("" when the line is usable). Never raises."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, f"invalid UTF-8 at byte {exc.start}"
    if not line.strip():
        return {}, "empty line"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {}, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return {}, "invalid JSON: nested too deeply"
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:  # e.g. a 5,000-digit integer
        return {}, f"invalid JSON: {type(exc).__name__}: {str(exc)[:120]}"
    if not isinstance(record, dict):
        return {}, "a line must be a JSON object"
    missing = [k for k in ("problem", "completion") if not isinstance(record.get(k), str)]
    if missing:
        return record, f"missing or non-string key(s): {', '.join(missing)}"
    return record, ""


def _chunks(stream: IO[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    """Lines as bytes (decoded per line, so one invalid byte spoils one line, not the stream)."""
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(stream, 1):
        chunk.append((number, line.rstrip(b"\r\n")))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _stdin_bytes() -> IO[bytes]:
    """Standard input as bytes (a text stand-in without ``.buffer``, as in tests, is re-encoded)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return buffer
    return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))


def _dumps(out: dict[str, Any], number: int) -> str:
    """One output line; falls back to an escaped line, then to the verdict alone (the record is unwritable)."""
    try:
        text = json.dumps(out, ensure_ascii=False)
        text.encode("utf-8")  # lone surrogates cannot be written as UTF-8
        return text
    except UnicodeEncodeError:
        try:
            return json.dumps(out, ensure_ascii=True)
        except (ValueError, TypeError, RecursionError):
            pass
    except (ValueError, TypeError, RecursionError):
        pass
    keep = {k: out[k] for k in ("correct", "status", "reason", "seconds") if k in out}
    keep["line"] = number
    keep["reason"] = f"{keep.get('reason', '')} (the input record could not be written back)".strip()
    return json.dumps(keep, ensure_ascii=True, default=str)


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
        source = _stdin_bytes() if args.input == "-" else open(args.input, "rb")
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
                try:
                    verdicts = iter([v.to_dict() for v in verifier.check_batch(good)])
                except Exception as exc:  # noqa: BLE001 - the verifier should not raise; answer every line anyway
                    failed = {"correct": False, "status": "error", "seconds": 0.0,
                              "reason": f"verifier failed: {type(exc).__name__}: {exc}"[:300]}
                    verdicts = iter([failed] * len(good))
                for number, record, err in parsed:
                    if err:
                        out = {**record, "line": number, "correct": False, "status": "error", "reason": err,
                               "seconds": 0.0}
                    else:
                        out = {**record, **next(verdicts)}
                    summary.add(record, out["correct"], out["status"])
                    sink.write(_dumps(out, number) + "\n")
                sink.flush()
    except OSError as exc:
        print(f"ladder-verify: reading or writing failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.input != "-":
            source.close()
        if sink is not sys.stdout:
            try:
                sink.close()
            except OSError:
                pass
    print(summary.text(time.perf_counter() - start), file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
