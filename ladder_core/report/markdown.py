"""``report.md``: the run's results for people, rendered from the ``report.json`` record.

Rendering from the same :class:`~ladder_core.artifacts.Report` record that is
written to ``report.json`` guarantees that the two reports never disagree.
Every section exists even when its stage did not run, and then says so, so a
reader can tell "not run" from "ran and got 0".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from ladder_core.artifacts import (
    DecontaminationSection,
    EvalSection,
    MeanInterval,
    PairedDelta,
    PairedEval,
    Report,
    TtrlSection,
    ValidationSection,
)
from ladder_core.report.plots import PlotResult

_DASH = "–"
_MAX_TTRL_ROWS = 200
_MAX_REJECTION_ROWS = 10


_ORDERS = {"closest": "most correct samples first (nearest misses), then test-file order",
           "file": "test-file order"}


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


def _fields(record: Any) -> str:
    """A record's fields in one cell: ``proposed 50, accepted 26, acceptance_rate 0.520``."""
    return _cell(", ".join(f"{f.name} {_num(getattr(record, f.name))}" for f in fields(record)))


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


def _header(r: Report) -> list[str]:
    path = _cell(r.model.name_or_path or _DASH).replace("`", "'")
    model_text = f"{_cell(r.model.name or _DASH)} (`{path}`)"  # truncate inside the backticks
    status_text = {"partial": "started, not finished", "missing": "no artifacts"}
    missing = []
    for stage in r.stages_missing:
        why = "not in pipeline.stages" if r.stages_configured and stage not in r.stages_configured else \
            status_text.get(r.stage_status.get(stage, "missing"), "not run")
        missing.append(f"{stage} ({why})")
    rows = [
        ("model", model_text),
        ("domain", _cell(r.domain or _DASH)),
        ("train set", _cell(r.train_set or _DASH)),
        ("test set", _cell(r.test_set or _DASH)),
        ("run directory", f"`{_cell(r.run_dir)}`"),
        ("stages run", ", ".join(r.stages_run) or "none"),
        ("stages not run", ", ".join(missing) or "none"),
        ("total wall time", _seconds(r.wall_time_total)),
    ]
    return ["# LADDER run report", ""] + _table(["", ""], rows)


def _ci(entry: MeanInterval | None) -> str:
    """``3.1% [1.2, 5.4]``: a mean and its 95% interval."""
    if entry is None:
        return _DASH
    low, high = entry.ci95
    return f"{100 * entry.mean:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _paired(entry: PairedDelta | None) -> str:
    """``+2.3 points [0.4, 4.1], p = 0.02``: a paired comparison."""
    if entry is None:
        return _DASH
    low, high = entry.ci95
    verdict = "" if entry.significant else " (not significant)"
    return (f"{100 * entry.delta:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}], "
            f"p = {entry.p_value:.3g}{verdict}")


def _eval_rows(label: str, e: EvalSection | None, ks: list[int]) -> list[Any]:
    if e is None:
        return [label] + [_DASH] * (len(ks) + 2) + ["not run"]
    pass1 = e.ci95.pass_at_1 if e.ci95 else None
    greedy = e.ci95.greedy if e.ci95 else None
    return ([label] + [_ci(pass1) if k == 1 and pass1 else _pct(e.pass_at_k.get(str(k))) for k in ks]
            + [_ci(greedy) if greedy else _pct(e.greedy_accuracy), _pct(e.solved_accuracy), _num(e.n_problems)])


def _ks(*sections: EvalSection | None) -> list[int]:
    return sorted({int(k) for e in sections if e for k in e.pass_at_k}) or [1]


def _paired_rows(comparison: PairedEval) -> list[str]:
    return _table(["metric", "change"], [("pass@1", _paired(comparison.pass_at_1)),
                                         ("greedy", _paired(comparison.greedy))])


def _results(r: Report, plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Results (test set)", ""]
    base, final, ttrl = r.baseline, r.final, r.ttrl
    if not (base or final or ttrl):
        return lines + ["No evaluation ran (stages baseline, evaluate and ttrl missing).", ""]
    ks = _ks(base, final)
    header = ["model"] + [f"pass@{k}" for k in ks] + ["greedy", "solved", "problems"]
    rows = [_eval_rows("baseline", base, ks), _eval_rows("after training", final, ks)]
    if ttrl is None:
        rows.append(["after TTRL"] + [_DASH] * (len(ks) + 2) + ["not run"])
    else:
        pass1 = ttrl.ci95.pass_at_1 if ttrl.ci95 else None
        accuracy = ttrl.ci95.accuracy if ttrl.ci95 else None
        rows.append(["TTRL control", _pct(ttrl.pass_at_1_control)] + [_DASH] * (len(ks) - 1)
                    + [_DASH, _pct(ttrl.accuracy_control), _num(ttrl.n_problems)])
        rows.append(["after TTRL", _ci(pass1) if pass1 else _pct(ttrl.pass_at_1)] + [_DASH] * (len(ks) - 1)
                    + [_DASH, _ci(accuracy) if accuracy else _pct(ttrl.accuracy), _num(ttrl.n_problems)])
    lines += _table(header, rows)
    lines += ["Brackets: 95% bootstrap interval over problems.", ""]
    seen = base.trained_on if base else None
    if seen:
        lines += [f"**{len(seen)} of the {_num(base.n_problems)} test problems are in the model's own training data** "
                  "(the domain's check of the model it ships; decontamination only keeps them out of what this "
                  "run trains on): results on them measure memory as well as learning. "
                  f"Their ids are in report.json (`baseline.trained_on`).", ""]
    if r.comparison.final_vs_baseline:
        lines += ["Training, after minus before on the same problems (paired):", ""]
        lines += _paired_rows(r.comparison.final_vs_baseline)
    lines += ["“solved”: the greedy answer is verified correct (see Definitions). After TTRL, a problem TTRL "
              "attempted counts as solved when the adapted model solves it, and pass@1 uses the adapted "
              "model's samples. Compare it with “TTRL control” (the same fresh samples from the model before "
              "adaptation), not with “after training”: TTRL may pick the problems whose evaluation samples went "
              "best (`ttrl.order`), and fresh samples of those regress; see “Test-time RL”.", ""]
    lines += _plot(plots, "accuracy") + _plot(plots, "pass_at_k")
    return lines


def _validation(v: ValidationSection | None) -> list[str]:
    if v is None:
        return []
    lines = ["## Validation set (for tuning; not a test result)", ""]
    ks = _ks(v.baseline, v.final)
    header = ["model"] + [f"pass@{k}" for k in ks] + ["greedy", "solved", "problems"]
    lines += _table(header, [_eval_rows("baseline", v.baseline, ks), _eval_rows("after training", v.final, ks)])
    if v.final_vs_baseline:
        lines += _paired_rows(v.final_vs_baseline)
    return lines


def _decontamination(d: DecontaminationSection) -> list[str]:
    lines = ["## Decontamination", ""]
    if d.label:
        lines += [f"**{d.label}**", ""]
    rows = []
    for stage, record in (("variants", d.variants), ("train", d.train)):
        for set_name, counts in (record.dropped if record else {}).items():
            rows.append((stage, _cell(set_name), _num(counts.canonical), _num(counts.equivalent)))
    if rows:
        lines += ["Tree nodes dropped because they equal an evaluation problem (same canonical form, or the "
                  "domain's equivalence key):", ""]
        lines += _table(["stage", "evaluation set", "same canonical form", "equivalent"], rows)
    else:
        lines += ["No tree node equalled an evaluation problem." if d.variants or d.train else
                  "No decontamination record (the variants and train stages did not run).", ""]
    first = d.variants or d.train
    if first and first.overlapping_roots:
        kept = "kept" if first.kept_overlapping_roots else "removed from training"
        lines += [f"Training roots that are evaluation problems ({kept}):", ""]
        lines += _table(["root", "equals", "how"],
                        [(_cell(x.root_id), _cell(f"{x.set_name} {x.problem_id}"), x.reason)
                         for x in first.overlapping_roots])
    if d.ttrl:
        lines += [f"TTRL: {d.ttrl}.", ""]
    return lines


def _variants(r: Report) -> list[str]:
    lines = ["## Variant trees", ""]
    v = r.variants
    if v is None:
        return lines + ["The variants stage did not run.", ""]
    rows = [("candidates generated", _num(v.generated)), ("accepted variants", _num(v.accepted)),
            ("acceptance rate", _pct(v.acceptance_rate)), ("roots", _num(v.roots)),
            ("duplicates removed", _num(v.duplicates))]
    lines += _table(["", ""], rows)
    if v.per_depth:
        lines += _table(["depth", "nodes"], [(d if d != "0" else "0 (roots)", _num(n)) for d, n in v.per_depth.items()])
    if v.rejections:
        total = sum(v.rejections.values()) or 1
        top = list(v.rejections.items())[:_MAX_REJECTION_ROWS]
        lines += ["Top rejection reasons:", ""]
        lines += _table(["reason", "candidates", "share of rejections"],
                        [(_cell(k), _num(n), _pct(n / total)) for k, n in top])
    if v.per_generator:
        lines += _table(["generator", "stats"], [(_cell(k), _fields(g)) for k, g in v.per_generator.items()])
    if v.tree_html:
        first = v.tree_html[0]
        more = f" ({len(v.tree_html) - 1} more in `variants/`)" if len(v.tree_html) > 1 else ""
        lines += [f"Tree picture: [{first}]({first}){more}", ""]
    return lines


def _group_rows(counters: Mapping[str, int | float]) -> list[tuple[str, str]]:
    """The group counters of training, named for what ran: with dynamic sampling off
    (``curriculum.dynamic_sampling``) only the zero-variance counts, under that name."""
    from ladder_core.difficulty.dynamic_sampling import DynamicSamplingStats

    stats = DynamicSamplingStats.from_dict(counters)
    if stats.sampling_was_off:
        return [("groups trained (dynamic sampling off)", _num(stats.groups_seen)),
                ("zero-variance groups (dynamic sampling off)", _num(stats.zero_variance)),
                ("zero-variance share (dynamic sampling off)", _num(stats.zero_variance_rate))]
    return [(f"dynamic sampling: {_cell(k)}", _num(v)) for k, v in counters.items()]


def _training(r: Report, plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Training", ""]
    t = r.training
    if t is None:
        return lines + ["The train stage did not run.", ""] + _plot(plots, "depth_reward")
    rows = [("steps", _num(t.steps)), ("wall time", _seconds(t.seconds)),
            ("reward, first step", _num(t.reward_first)), ("reward, last step", _num(t.reward_last)),
            ("reward, best step", _num(t.reward_best)),
            ("reward checks failed (error/timeout)", _num(t.reward_failures_total)),
            ("roots mastered at the end", _num(t.roots_mastered_last)),
            ("trained model saved (train/final)", _num(t.final_model_saved))]
    rows += [(f"reward checks failed: {_cell(k)}", _num(v)) for k, v in (t.reward_failures or {}).items()]
    rows += _group_rows(t.dynamic_sampling)
    lines += _table(["", ""], rows)
    if t.final_depth_success:
        lines += ["Curriculum success estimate at the end, per depth:", ""]
        lines += _table(["depth", "success"], [(d, _pct(s)) for d, s in t.final_depth_success.items()])
    return lines + _plot(plots, "depth_reward")


def _ttrl(t: TtrlSection | None, plots: Mapping[str, PlotResult]) -> list[str]:
    lines = ["## Test-time RL", ""]
    if t is None:
        return lines + ["The ttrl stage did not run.", ""] + _plot(plots, "ttrl_steps")
    if t.trained_on_problem:
        lines += ["**Not the authors' protocol: the test problems were training prompts "
                  "(ttrl.train_on_problem=true). This is verifier-filtered best-of-N, not test-time learning.**", ""]
    attempted = t.vs_control.attempted if t.vs_control else None
    every = t.vs_control.all_test_problems if t.vs_control else None
    rows = [("protocol", _cell(t.protocol or _DASH)),
            ("weights reset after each problem", _num(t.reset_weights)),
            ("problems attempted", _num(t.attempted)),
            ("still failed, left out by ttrl.max_problems", _num(t.not_attempted)),
            ("order of attempts", _cell(_ORDERS.get(t.order or "", t.order or _DASH))),
            ("skipped (already solved)", _num(t.skipped_already_solved)),
            ("samples per problem (adapted and control)", _num(t.eval_samples)),
            ("solved by the adapted model", _num(t.solved)),
            ("solved by the control (un-adapted, same samples)", _num(t.control_solved)),
            ("attempted: pass@1 adapted", _ci(t.attempted_pass_at_1)),
            ("attempted: pass@1 control", _ci(t.attempted_control_pass_at_1)),
            ("attempted: adapted minus control, pass@1", _paired(attempted.pass_at_1 if attempted else None)),
            ("attempted: adapted minus control, solved", _paired(attempted.solved if attempted else None)),
            (f"all test problems: accuracy (from {t.base_stage or _DASH})", _pct(t.accuracy)),
            ("all test problems: accuracy, control", _pct(t.accuracy_control)),
            ("all test problems: TTRL minus control, solved", _paired(every.solved if every else None)),
            ("all test problems: TTRL minus control, pass@1", _paired(every.pass_at_1 if every else None)),
            ("wall time", _seconds(t.seconds))]
    lines += _table(["", ""], rows)
    lines += [f"*{note}*" for note in t.notes] + ([""] if t.notes else [])
    if t.problems:
        rows = [(_cell(p.problem_id), _num(p.trained_on_problem), _num(p.variants), _num(p.steps),
                 f"{p.adapted_correct}/{p.samples}", _num(p.adapted_greedy),
                 f"{p.control_correct}/{p.samples}", _num(p.control_greedy))
                for p in t.problems[:_MAX_TTRL_ROWS]]
        lines += _table(["problem", "trained on problem", "variants", "steps", "adapted correct",
                         "adapted greedy", "control correct", "control greedy"], rows)
        if len(t.problems) > _MAX_TTRL_ROWS:
            lines += [f"({len(t.problems) - _MAX_TTRL_ROWS} more in `ttrl/results.jsonl`)", ""]
    return lines + _plot(plots, "ttrl_steps")


def _timings(r: Report) -> list[str]:
    lines = ["## Wall time", ""]
    if not r.wall_time:
        return lines + ["timings.json is missing.", ""]
    rows = [(stage, _seconds(sec)) for stage, sec in r.wall_time.items()]
    rows.append(("**total**", _seconds(r.wall_time_total)))
    return lines + _table(["stage", "wall time"], rows)


def render_markdown(report: Report, plots: Sequence[PlotResult] = (), plots_note: str = "") -> str:
    """The full ``report.md`` text for a ``report.json`` record and the plots drawn for it."""
    by_name = {p.name: p for p in plots}
    lines = _header(report)
    if plots_note:
        lines += [f"*{plots_note}*", ""]
    lines += _results(report, by_name) + _validation(report.validation)
    lines += _decontamination(report.decontamination) + _variants(report)
    lines += _training(report, by_name)
    lines += _ttrl(report.ttrl, by_name) + _timings(report)
    lines += ["## Definitions", ""] + [f"- **{k}**: {v}" for k, v in report.definitions.items()] + [""]
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {str(w).replace(chr(10), ' ')}" for w in report.warnings]
        lines += [""]
    return "\n".join(lines).rstrip() + "\n"
