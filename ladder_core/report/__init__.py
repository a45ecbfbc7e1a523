"""The end-of-run report: ``report.md`` for people, ``report.json`` for machines, ``plots/*.png``.

``build_report`` is the report stage. It reads whatever the earlier stages left
in the run directory (see ``docs/run-directory.md``) and never raises because
an artifact is missing or malformed: the problem is logged and listed under
"Warnings" in the report, since crashing at the very end would hide the
results of everything that ran before. Importing this package is cheap;
matplotlib and omegaconf load only when a report is built.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ladder_core.artifacts import Report, write_json, write_text
from ladder_core.report.collect import collect_run
from ladder_core.report.summary import RunSummary
from ladder_core.report.metrics import DEFINITIONS, TtrlAccuracy, pass_at_k, ttrl_accuracy

__all__ = ["DEFINITIONS", "RunSummary", "TtrlAccuracy", "build_report", "collect_run", "pass_at_k", "ttrl_accuracy"]

log = logging.getLogger(__name__)


def build_report(run_dir: Path | str, cfg: Mapping[str, Any] | Any = None) -> Report:
    """Write ``report.md``, ``report.json`` and ``plots/*.png`` into ``run_dir``; return the ``report.json`` record.

    ``cfg`` is the run's composed config (a DictConfig or a plain mapping); where
    it lacks a value, ``run_dir/config.yaml`` is used. Plots follow
    ``report.plots`` (default on).
    """
    from ladder_core.report.markdown import render_markdown
    from ladder_core.report.report_json import to_report

    run_dir = Path(run_dir)
    summary = collect_run(run_dir, cfg)
    accuracy = ttrl_accuracy(summary.final or summary.baseline, summary.ttrl)

    plots = []
    plots_note = ""
    if not summary.plots_enabled:
        plots_note = "Plots are off (report.plots=false)."
    elif not run_dir.is_dir():
        plots_note = "Plots skipped: the run directory does not exist."
    else:
        try:
            from ladder_core.report.plots import make_plots

            plots = make_plots(summary, accuracy, run_dir)
        except Exception as exc:  # noqa: BLE001 - e.g. matplotlib missing or broken
            log.warning("report: no plots: %s", exc)
            summary.warnings.append(f"plots not drawn ({exc.__class__.__name__}: {exc})")
            plots_note = "Plots skipped: matplotlib failed (see Warnings)."

    report = to_report(summary, accuracy, plots={p.name: p.path for p in plots},
                       plots_skipped={p.name: p.skipped for p in plots if p.skipped})
    try:
        markdown = render_markdown(report, plots, plots_note)
    except Exception as exc:  # noqa: BLE001 - the JSON is still worth writing
        log.warning("report: markdown rendering failed: %s", exc, exc_info=True)
        report.warnings.append(f"report.md rendering failed ({exc.__class__.__name__}: {exc})")
        markdown = "# LADDER run report\n\nRendering failed; see report.json.\n"
    try:
        write_json(run_dir / "report.json", report)
        write_text(run_dir / "report.md", markdown)
    except OSError as exc:
        log.error("report: could not write the report into %s: %s", run_dir, exc)
        report.warnings.append(f"report files not written ({exc})")
    return report
