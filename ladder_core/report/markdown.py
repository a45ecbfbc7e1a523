"""``report.md``: the run's results for people, rendered from ``report.json`` data.

Rendering from the JSON dict (not from the dataclasses) guarantees that the
two reports never disagree. Every section exists even when its stage did not
run, and then says so, so a reader can tell "not run" from "ran and got 0".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ladder_core.report.plots import PlotResult

_DASH = "–"
_MAX_TTRL_ROWS = 200
_MAX_REJECTION_ROWS = 10


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) and not isinstance(value, bool) else _DASH


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _DASH if value is None else _cell(value)


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return _DASH
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.2f} h"


def _cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 80 else text[:77] + "..."


def _kv(value: Any) -> str:
    """``{"proposed": 50, "accepted": 26}`` -> ``proposed 50, accepted 26``."""
    if isinstance(value, Mapping):
        return _cell(", ".join(f"{k} {_num(v)}" for k, v in value.items()))
    return _num(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _plot(plots: Mapping[str, PlotResult], name: str) -> list[str]:
    plot = plots.get(name)
    if plot is None:
        return []
    if plot.path:
        return [f"![{plot.title}]({plot.path})", ""]
    return [f"*Plot “{plot.title}” skipped: {plot.skipped}.*", ""]


def _header(r: Mapping[str, Any]) -> list[str]:
    model = r["model"]
    model_text = f"{model.get('name') or _DASH} (`{model.get('name_or_path') or _DASH}`)"
    configured = r.get("stages_configured") or []
    status_text = {"partial": "started, not finished", "missing": "no artifacts"}
    missing = []
    for stage in r["stages_missing"]:
        why = "not in pipeline.stages" if configured and stage not in configured else \
            status_text.get(r["stage_status"].get(stage, "missing"), "not run")
        missing.append(f"{stage} ({why})")
    rows = [
        ("model", _cell(model_text)),
        ("domain", _cell(r.get("domain") or _DASH)),
        ("train set", _cell(r.get("train_set") or _DASH)),
        ("test set", _cell(r.get("test_set") or _DASH)),
        ("run directory", f"`{_cell(r['run_dir'])}`"),
        ("stages run", ", ".join(r["stages_run"]) or "none"),
        ("stages not run", ", ".join(missing) or "none"),
        ("total wall time", _seconds(r.get("wall_time_total"))),
    ]
    return ["# LADDER run report", ""] + _table(["", ""], rows)


def _results(r: Mapping[str, Any], plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Results", ""]
    base, final, ttrl = r.get("baseline"), r.get("final"), r.get("ttrl")
    if not (base or final or ttrl):
        return lines + ["No evaluation ran (stages baseline, evaluate and ttrl missing).", ""]
    ks = sorted({int(k) for e in (base, final) if e for k in e["pass_at_k"]}) or [1]
    header = ["model"] + [f"pass@{k}" for k in ks] + ["greedy", "solved", "problems"]
    rows = []
    for label, e in (("baseline", base), ("after training", final)):
        if e is None:
            rows.append([label] + [_DASH] * (len(ks) + 2) + ["not run"])
            continue
        rows.append([label] + [_pct(e["pass_at_k"].get(str(k))) for k in ks]
                    + [_pct(e["greedy_accuracy"]), _pct(e["solved_accuracy"]), _num(e["n_problems"])])
    if ttrl is None:
        rows.append(["after TTRL"] + [_DASH] * (len(ks) + 2) + ["not run"])
    else:
        rows.append(["after TTRL", _pct(ttrl["pass@1"])] + [_DASH] * (len(ks) - 1)
                    + [_DASH, _pct(ttrl["paper_metric_accuracy"]), _num(ttrl["n_problems"])])
    lines += _table(header, rows)
    if r.get("delta_pass@1") is not None:
        lines += [f"Change in pass@1 from training: **{100 * r['delta_pass@1']:+.1f} points**"
                  + (f"; greedy accuracy {100 * r['delta_greedy_accuracy']:+.1f} points."
                     if r.get("delta_greedy_accuracy") is not None else "."), ""]
    lines += ["“solved”: the greedy answer is verified correct (see Definitions). After TTRL, “solved” is the "
              "paper's metric (solved by the trained model, or TTRL found a verified correct answer at any step) "
              "and pass@1 uses each TTRL problem's samples after its TTRL run.", ""]
    lines += _plot(plots, "accuracy") + _plot(plots, "pass_at_k")
    return lines


def _variants(r: Mapping[str, Any]) -> list[str]:
    lines = ["## Variant trees", ""]
    v = r.get("variants")
    if v is None:
        return lines + ["The variants stage did not run.", ""]
    rows = [("candidates generated", _num(v["generated"])), ("accepted variants", _num(v["accepted"])),
            ("acceptance rate", _pct(v["acceptance_rate"])), ("roots", _num(v["roots"])),
            ("duplicates removed", _num(v["duplicates"]))]
    lines += _table(["", ""], rows)
    per_depth = v.get("per_depth") or {}
    if per_depth:
        lines += _table(["depth", "nodes"], [(d if d != "0" else "0 (roots)", _num(n)) for d, n in per_depth.items()])
    rejections = v.get("rejections") or {}
    if rejections:
        total = sum(rejections.values()) or 1
        top = list(rejections.items())[:_MAX_REJECTION_ROWS]
        lines += ["Top rejection reasons:", ""]
        lines += _table(["reason", "candidates", "share of rejections"],
                        [(_cell(k), _num(n), _pct(n / total)) for k, n in top])
    if v.get("per_generator"):
        lines += _table(["generator", "stats"], [(_cell(k), _kv(val)) for k, val in v["per_generator"].items()])
    if v.get("tree_html"):
        first = v["tree_html"][0]
        more = f" ({len(v['tree_html']) - 1} more in `variants/`)" if len(v["tree_html"]) > 1 else ""
        lines += [f"Tree picture: [{first}]({first}){more}", ""]
    return lines


def _training(r: Mapping[str, Any], plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Training", ""]
    t = r.get("training")
    if t is None:
        return lines + ["The train stage did not run.", ""] + _plot(plots, "depth_reward")
    rows = [("steps", _num(t["steps"])), ("wall time", _seconds(t["seconds"])),
            ("reward, first step", _num(t["reward_first"])), ("reward, last step", _num(t["reward_last"])),
            ("reward, best step", _num(t["reward_best"])),
            ("reward checks failed (error/timeout)", _num(t["reward_failures_total"])),
            ("roots mastered at the end", _num(t["roots_mastered_last"])),
            ("trained model saved (train/final)", _num(t["final_model_saved"]))]
    if isinstance(t["reward_failures"], Mapping):
        rows += [(f"reward checks failed: {_cell(k)}", _num(v)) for k, v in t["reward_failures"].items()]
    rows += [(f"dynamic sampling: {_cell(k)}", _num(v)) for k, v in t["dynamic_sampling"].items()]
    lines += _table(["", ""], rows)
    if t["final_depth_success"]:
        lines += ["Curriculum success estimate at the end, per depth:", ""]
        lines += _table(["depth", "success"], [(d, _pct(s)) for d, s in t["final_depth_success"].items()])
    return lines + _plot(plots, "depth_reward")


def _ttrl(r: Mapping[str, Any], plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Test-time RL", ""]
    t = r.get("ttrl")
    if t is None:
        return lines + ["The ttrl stage did not run.", ""] + _plot(plots, "ttrl_steps")
    steps = t["steps_to_solve"]
    rows = [("problems attempted", _num(t["attempted"])),
            ("skipped (already solved)", _num(t["skipped_already_solved"])),
            ("solved at any time", _num(t["solved_any_time"])),
            ("solved by the final TTRL model", _num(t["solved_final"])),
            ("steps to solve (median, max)",
             f"{sorted(steps)[len(steps) // 2]}, {max(steps)}" if steps else _DASH),
            (f"accuracy, paper metric (from {t['base_stage'] or _DASH})", _pct(t["paper_metric_accuracy"])),
            ("accuracy, final models only", _pct(t["final_model_accuracy"])),
            ("pass@1 after TTRL", _pct(t["pass@1"])),
            ("wall time", _seconds(t["seconds"]))]
    lines += _table(["", ""], rows)
    lines += [f"*{note}*" for note in t["notes"]] + ([""] if t["notes"] else [])
    problems = t["problems"]
    if problems:
        rows = [(_cell(p["problem_id"]), _num(p["solved_any_time"]), _num(p["solved_final"]),
                 _num(p["steps_to_solve"]), _num(p["steps"]), _pct(p["final_pass"]))
                for p in problems[:_MAX_TTRL_ROWS]]
        lines += _table(["problem", "solved any time", "solved final", "steps to solve", "steps run", "final pass"],
                        rows)
        if len(problems) > _MAX_TTRL_ROWS:
            lines += [f"({len(problems) - _MAX_TTRL_ROWS} more in `ttrl/results.jsonl`)", ""]
    return lines + _plot(plots, "ttrl_steps")


def _timings(r: Mapping[str, Any]) -> list[str]:
    lines = ["## Wall time", ""]
    timings = r.get("wall_time") or {}
    if not timings:
        return lines + ["timings.json is missing.", ""]
    rows = [(stage, _seconds(sec)) for stage, sec in timings.items()]
    rows.append(("**total**", _seconds(r.get("wall_time_total"))))
    return lines + _table(["stage", "wall time"], rows)


def render_markdown(report: Mapping[str, Any], plots: Sequence[PlotResult] = (), plots_note: str = "") -> str:
    """The full ``report.md`` text for a ``report.json`` dict and the plots drawn for it."""
    by_name = {p.name: p for p in plots}
    lines = _header(report)
    if plots_note:
        lines += [f"*{plots_note}*", ""]
    lines += _results(report, by_name) + _variants(report) + _training(report, by_name)
    lines += _ttrl(report, by_name) + _timings(report)
    lines += ["## Definitions", ""] + [f"- **{k}**: {v}" for k, v in report["definitions"].items()] + [""]
    if report.get("warnings"):
        lines += ["## Warnings", ""] + [f"- {str(w).replace(chr(10), ' ')}" for w in report["warnings"]]
        lines += [""]
    return "\n".join(lines).rstrip() + "\n"
