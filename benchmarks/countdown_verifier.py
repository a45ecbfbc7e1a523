"""Countdown verifier: accuracy on a labelled set, and checks per second on one core.

The labelled set is built from the shipped problem sets (train + test, 110
problems) without any model:

* correct answers: the reference solution, the solver's solution of the same
  problem with its numbers shuffled (often a different expression), and
  rewritten spellings of the reference (``= target`` suffix, ``×``/``÷``/``−``,
  outer parentheses, swapped operands of the top operation);
* wrong answers, each labelled by the mistake: a number reused while keeping
  the value (``* n / n`` with an ``n`` already used), a value-preserving
  unavailable number (``* 1`` / ``+ 0`` when 1 or 0 is not given), a correct
  solution of target + 1 or target - 1, the bare target, a random expression
  over the numbers with another value, a division by zero, decimals, unary
  minus, and hostile strings (Python calls, ``**`` towers, 5,000 parentheses,
  200,000 digits, control characters, no tags).

It reports accuracy, false accepts and false rejects per kind, for the
default ``process`` mode (one killable worker process) and for ``inline``
mode, plus a *value-only* ablation (same parser, no sub-multiset check) to
show what checking the numbers used buys. Checks/s are measured with one
worker (process mode) and one thread (inline), batches of 64 like a GRPO
step. Writes ``benchmarks/results/countdown_verifier.json`` and replaces the
"Countdown verifier" section of ``docs/benchmarks.md``. Run:
``python benchmarks/countdown_verifier.py`` (about a minute on 2 shared cores, mostly building the labelled set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as `python benchmarks/X.py` or via runpy: find the helper
    sys.path.insert(0, str(HERE))
from _report import replace_markdown_section, write_json  # noqa: E402

SECTION = "## Countdown verifier"
BATCH = 64


def labelled_set(seed: int = 0) -> list[dict[str, Any]]:
    from ladder_countdown.notation import parse_puzzle
    from ladder_countdown.problems import load_problem_set
    from ladder_countdown.solver import solve
    from ladder_countdown.variants import random_expression

    rng = random.Random(seed)
    items: list[dict[str, Any]] = []

    def add(problem: str, answer: str | None, label: bool, kind: str, raw: str | None = None) -> None:
        completion = raw if raw is not None else f"Working...\n<ANSWER>{answer}</ANSWER>"
        items.append({"problem": problem, "completion": completion, "label": label, "kind": kind})

    for problem in load_problem_set("train") + load_problem_set("test"):
        puzzle = parse_puzzle(problem.text)
        numbers, target = list(puzzle.numbers), puzzle.target
        solution = problem.meta["solution"]
        text = problem.text
        add(text, solution, True, "reference")
        shuffled = numbers[:]
        rng.shuffle(shuffled)
        other = solve(shuffled, target, max_nodes=50_000)
        if other.solved:
            add(text, other.expression, True, "solver_shuffled")
        add(text, f"{solution} = {target}", True, "equals_suffix")
        add(text, solution.replace("*", "\u00d7").replace("/", "\u00f7").replace("-", "\u2212"), True, "unicode_ops")
        add(text, f"(({solution}))", True, "extra_parentheses")
        add(text, f"$ {solution} $", True, "latex_dollars")

        used = [int(t) for t in solution.replace("(", " ").replace(")", " ").split() if t.isdigit()]
        reused = rng.choice(used)
        add(text, f"({solution}) * {reused} / {reused}", False, "reuse_same_value")
        if 1 not in numbers:
            add(text, f"({solution}) * 1", False, "unavailable_same_value")
        else:
            add(text, f"{solution} + 0", False, "unavailable_same_value")
        for delta in (1, -1):
            near = solve(numbers, target + delta, max_nodes=20_000)
            if near.solved:
                add(text, near.expression, False, "solves_target_off_by_one")
        add(text, str(target), False, "bare_target")
        for _ in range(5):
            made = random_expression(numbers, rng)
            if made and made[0] != target:
                add(text, made[1], False, "wrong_value")
                break
        add(text, f"{solution} + {used[0]} / ({used[-1]} - {used[-1]})", False, "division_by_zero")
        add(text, f"{target}.0", False, "decimal")
        add(text, f"-{used[0]} + {used[0]} + {solution}", False, "unary_minus")
        for raw in (
            "<ANSWER>__import__('os').system('echo pwned')</ANSWER>",
            "<ANSWER>9**9**9**9</ANSWER>",
            "<ANSWER>" + "(" * 5000 + "</ANSWER>",
            "<ANSWER>" + "1" * 200_000 + "</ANSWER>",
            "<answer>\x00\xff\ud7ff</answer>",
            f"The answer is {solution}",  # right expression, no tags
        ):
            add(text, None, False, "hostile", raw=raw)
    return items


def value_only(problem: str, completion: str) -> bool:
    """Ablation: same parser and arithmetic, but no check of which numbers were used."""
    from ladder_countdown.notation import parse_puzzle
    from ladder_countdown.parsing import EvaluationError, ParseError, evaluate, parse_answer
    from ladder_countdown.verify import extract_answer

    answer = extract_answer(completion)
    if not answer:
        return False
    try:
        return evaluate(parse_answer(answer)) == parse_puzzle(problem).target
    except (ParseError, EvaluationError):
        return False


def score(items: list[dict[str, Any]], accepted: list[bool]) -> dict[str, Any]:
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for item, ok in zip(items, accepted):
        c = by_kind[item["kind"]]
        c["n"] += 1
        if ok and not item["label"]:
            c["false_accepts"] += 1
        if not ok and item["label"]:
            c["false_rejects"] += 1
    fa = sum(c["false_accepts"] for c in by_kind.values())
    fr = sum(c["false_rejects"] for c in by_kind.values())
    return {
        "n": len(items),
        "accuracy": round(1 - (fa + fr) / len(items), 4),
        "false_accepts": fa,
        "false_rejects": fr,
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
    }


def run_mode(items: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    from ladder_core.records import Problem
    from ladder_countdown.domain import CountdownDomain

    with CountdownDomain({"verifier": {"mode": mode, "workers": 1}}) as domain:
        problems = [Problem(str(i), item["problem"]) for i, item in enumerate(items)]
        completions = [item["completion"] for item in items]
        domain.verify_batch(problems[:8], completions[:8])  # start the worker outside the timing
        verdicts = []
        statuses: Counter = Counter()
        start = time.perf_counter()
        cpu = time.process_time()
        for i in range(0, len(items), BATCH):
            verdicts += domain.verify_batch(problems[i : i + BATCH], completions[i : i + BATCH])
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu
    for verdict in verdicts:
        statuses[verdict.status.value] += 1
    result = score(items, [v.correct for v in verdicts])
    result.update({
        "mode": mode,
        "seconds": round(seconds, 3),
        "checks_per_s": round(len(items) / seconds, 1),
        "caller_cpu_s": round(cpu_seconds, 3),
        "batch_ms": round(1000 * seconds / -(-len(items) // BATCH), 3),
        "max_check_s": round(max(v.seconds for v in verdicts), 4),
        "statuses": dict(statuses),
    })
    return result


def render(results: dict[str, Any]) -> str:
    proc, inline, ablation = results["process"], results["inline"], results["value_only"]
    kinds = proc["by_kind"]
    rows = "\n".join(
        f"| {kind} | {'correct' if kind in results['correct_kinds'] else 'wrong'} | {c['n']} | "
        f"{c.get('false_accepts', 0) + c.get('false_rejects', 0)} | "
        f"{ablation['by_kind'][kind].get('false_accepts', 0) + ablation['by_kind'][kind].get('false_rejects', 0)} |"
        for kind, c in kinds.items()
    )
    return f"""\
`python benchmarks/countdown_verifier.py` ({results['machine']}, Python {results['python']}). \
{proc['n']} labelled completions built from the 110 shipped problems (no model involved): \
{results['n_correct']} correct answers in several spellings and {results['n_wrong']} wrong ones, \
each labelled by its mistake (see the script's docstring). Batches of {BATCH} checks, like one GRPO step. \
The labels follow the game's rules by construction, so 100% means the verifier enforces every rule and \
survives the hostile strings; it is not agreement with an independent judge.

| verifier | accuracy | false accepts | false rejects | checks/s | mean time per batch of {BATCH} |
|---|---|---|---|---|---|
| `process` mode (default: 1 killable worker, {results['timeout_s']:g} s hard limit) | {proc['accuracy']:.2%} | \
{proc['false_accepts']} | {proc['false_rejects']} | {proc['checks_per_s']:,.0f} | {proc['batch_ms']:.1f} ms |
| `inline` mode (calling thread, bounded by the parser limits) | {inline['accuracy']:.2%} | \
{inline['false_accepts']} | {inline['false_rejects']} | {inline['checks_per_s']:,.0f} | {inline['batch_ms']:.1f} ms |
| ablation: value only, no sub-multiset check | {ablation['accuracy']:.2%} | {ablation['false_accepts']} | \
{ablation['false_rejects']} | - | - |

Errors per kind of completion (`process` mode vs the value-only ablation):

| kind | label | n | errors | value-only errors |
|---|---|---|---|---|
{rows}

Checks/s are wall-clock on a shared 2-core machine, so they vary between runs; `inline` runs on one \
core, `process` on the caller plus one worker. In `process` mode the time is dominated by the pipe round \
trip and JSON, not by arithmetic; the slowest single inline check ({inline['max_check_s'] * 1000:.1f} ms) is \
scanning the 200,000-digit hostile completion. Both modes check a GRPO batch in a few milliseconds, far \
below generation time. The value-only ablation shows why the \
sub-multiset check matters: it accepts every answer that reuses a number or brings in one that is not \
given as long as the value is right (`reuse_same_value`, `unavailable_same_value`, and `bare_target`), \
exactly the reward hacks a policy finds first.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "countdown_verifier.json")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args(argv)

    from ladder_countdown.config import VerifierNode

    items = labelled_set()
    correct_kinds = sorted({i["kind"] for i in items if i["label"]})
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "n_correct": sum(i["label"] for i in items),
        "n_wrong": sum(not i["label"] for i in items),
        "correct_kinds": correct_kinds,
        "timeout_s": VerifierNode().timeout_s,
        "process": run_mode(items, "process"),
        "inline": run_mode(items, "inline"),
        "value_only": score(items, [value_only(i["problem"], i["completion"]) for i in items]),
    }
    write_json(args.out, results)
    if not args.no_doc:
        replace_markdown_section(args.doc, SECTION, render(results))
    print(json.dumps({k: results[k] for k in ("n_correct", "n_wrong")}))
    for name in ("process", "inline", "value_only"):
        r = results[name]
        print(f"{name}: accuracy {r['accuracy']:.4f}, false accepts {r['false_accepts']}, "
              f"false rejects {r['false_rejects']}, checks/s {r.get('checks_per_s', '-')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
