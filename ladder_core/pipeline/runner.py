"""Run the selected stages in order, skipping those already finished in this run directory.

A stage's time adds up over attempts: each attempt's wall time is kept in
``<stage>/stage_attempts.json`` (an :class:`~ladder_core.artifacts.Attempts`
record, refreshed every few seconds, so a killed attempt still counts), and
``timings.json`` / ``DONE.json`` get the total. Faults of plugin calls outside
the reward path (observers, variant generation and validation) are written to
``plugin_faults.json`` (:class:`~ladder_core.artifacts.PluginFaults`) after
every stage.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from ladder_core.artifacts import ArtifactError, PluginFaults, Report, StageDone, read_json, write_json
from ladder_core.deadlines import FAULTS, PluginDeadlines
from ladder_core.pipeline.context import RunContext
from ladder_core.pipeline.stages import STAGES, startup_checks
from ladder_core.plugins import PluginHost
from ladder_core.training.checkpoints import AttemptLedger

log = logging.getLogger(__name__)

DONE_FILE = "DONE.json"
ATTEMPTS_FILE = "stage_attempts.json"
FAULTS_FILE = "plugin_faults.json"
PARALLEL_STAGES = frozenset({"train"})


class StageError(ValueError):
    pass


def selected_stages(cfg: Any) -> list[str]:
    stages = [str(s) for s in cfg.pipeline.stages]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise StageError(f"unknown stage(s) {', '.join(unknown)} in pipeline.stages; valid stages, in order: "
                         f"{', '.join(STAGES)}")
    return [s for s in STAGES if s in stages]  # canonical order


def stage_done(run_dir: Path, stage: str) -> bool:
    return (run_dir / stage / DONE_FILE).exists()


def run_pipeline(cfg: Any, host: PluginHost) -> Report | None:
    """Run ``cfg.pipeline.stages`` in ``cfg.run_dir``; returns the report (``None`` without a report stage)."""
    from omegaconf import OmegaConf

    from ladder_core.training.distributed import process_state

    state = process_state(cfg)  # the process group, with trainer.process_group_timeout_s
    stages = selected_stages(cfg)
    host.deadlines = PluginDeadlines.of(cfg)  # a bad value is refused before any work starts
    FAULTS.reset()
    forced = {str(s) for s in cfg.pipeline.get("force", [])}
    if not cfg.ttrl.get("enabled", True) and "ttrl" in stages:
        stages.remove("ttrl")
    if state.num_processes > 1 and "ttrl" in stages:
        print("ladder: TTRL restores weights per problem and runs on one process; skipped under a multi-process "
              "launch (run `ladder ... pipeline.stages=[ttrl,report]` without accelerate afterwards)", file=sys.stderr)
        stages.remove("ttrl")
    run_dir = Path(str(cfg.run_dir)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    if state.is_main_process:
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    ctx = RunContext(cfg=cfg, host=host, run_dir=run_dir)
    earlier_faults = _earlier_faults(run_dir)
    _warn_foreign_embedded_model(cfg, host)
    startup_checks(ctx, announce=state.is_main_process)
    print(f"ladder: run directory {run_dir}", file=sys.stderr)
    host.run_start(cfg, run_dir)
    report: Report | None = None
    try:
        for stage in stages:
            if stage != "report" and stage_done(run_dir, stage) and stage not in forced:
                print(f"ladder: stage {stage}: already done, skipped", file=sys.stderr)
                continue
            print(f"ladder: stage {stage}: running", file=sys.stderr)
            ledger = AttemptLedger(ctx.stage_dir(stage) / ATTEMPTS_FILE) if state.is_main_process else None
            if ledger is not None:
                ledger.start(fresh=stage in forced or stage == "report")
            try:
                # Training runs on every rank; the other stages on the main process while the others wait.
                result = STAGES[stage](ctx) if (stage in PARALLEL_STAGES or state.is_main_process) else {}
                state.wait_for_everyone()
            finally:
                if ledger is not None:
                    seconds = ledger.stop()
                    _write_faults(run_dir, earlier_faults)
            if ledger is not None:
                ctx.record_timing(stage, seconds)
                write_json(ctx.stage_dir(stage) / DONE_FILE, StageDone(seconds=round(seconds, 2),
                                                                      attempts=ledger.attempts))
            if isinstance(result, Report):
                report = result
                print(f"ladder: report written to {run_dir / 'report.md'}", file=sys.stderr)
    finally:
        ctx.close()
    host.run_end(run_dir)
    return report


def _earlier_faults(run_dir: Path) -> dict[str, int]:
    """The fault totals an earlier attempt in this run directory wrote (an unreadable file is named and
    counted as none: the tally is a diagnostic, not a reason to stop a resumed run)."""
    path = run_dir / FAULTS_FILE
    if not path.is_file():
        return {}
    try:
        return dict(read_json(path, PluginFaults).total)
    except ArtifactError as exc:
        log.warning("%s; earlier plugin faults not counted", exc)
        return {}


def _write_faults(run_dir: Path, base: dict[str, int]) -> None:
    """This process's plugin faults plus those of earlier attempts, in ``plugin_faults.json``."""
    current = FAULTS.as_dict()
    total = {k: base.get(k, 0) + current.get(k, 0) for k in sorted({*base, *current})}
    write_json(run_dir / FAULTS_FILE, PluginFaults(total=total, earlier_attempts=dict(base), this_attempt=current))


def _warn_foreign_embedded_model(cfg: Any, host: PluginHost) -> None:
    """An embedded model trained for another domain runs, but its numbers mean little: say so."""
    path = str(cfg.model.name_or_path)
    domain = str(cfg.domain.name)
    for model in host.embedded_models().values():
        if str(model.path) == path and model.domains and domain not in model.domains:
            print(f"ladder: warning: model {model.name!r} was trained for {', '.join(model.domains)}, not {domain}; "
                  f"choose a model with model=... for meaningful results", file=sys.stderr)
