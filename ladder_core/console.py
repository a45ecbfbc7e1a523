"""What the user sees in the terminal: one progress bar per training run, the results at the end.

TRL's per-step metric dicts are useful in a log file and noise on a console
(a run printed about 150 of them): :class:`ConsoleProgress` replaces
transformers' progress/printer callbacks, shows reward, the share of
zero-variance groups and the step time on the bar, and writes every metric
dict to the run's log file only. :func:`results_table` turns the
``report.json`` record into the few lines a run ends with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ladder_core.artifacts import EvalSection, MeanInterval, Report

#: Metric dicts go here; only file handlers are attached (see :func:`metrics_logger`).
METRICS_LOGGER = "ladder.metrics"

_REWARD_KEYS = ("reward", "rewards/DomainReward/mean")
_ZERO_VARIANCE_KEYS = ("frac_reward_zero_std", "ladder/zero_variance_share")


def metrics_logger() -> logging.Logger:
    """A logger that writes to the root logger's files (Hydra's ``ladder.log``) and never to the console."""
    logger = logging.getLogger(METRICS_LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and handler not in logger.handlers:
            logger.addHandler(handler)
    return logger


def _first(logs: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = logs.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _make_callback_class() -> type:
    from transformers import TrainerCallback

    class ConsoleProgress(TrainerCallback):
        """A tqdm bar over the optimisation steps; metric dicts go to the log file."""

        def __init__(self, desc: str = "train") -> None:
            self.desc = desc
            self.bar: Any = None
            self.last_step_time: float | None = None
            self.step_seconds: float | None = None
            self.postfix: dict[str, str] = {}
            self.logger = metrics_logger()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_local_process_zero:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.desc, unit="step",
                                dynamic_ncols=True)
            self.last_step_time = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            now = time.monotonic()
            if self.last_step_time is not None:
                self.step_seconds = now - self.last_step_time
            self.last_step_time = now
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if not state.is_local_process_zero or not logs:
                return
            self.logger.info("%s step %d: %s", self.desc, state.global_step, dict(logs))
            if self.bar is None:
                return
            postfix = self.postfix
            reward = _first(logs, _REWARD_KEYS)
            if reward is not None:
                postfix["reward"] = f"{reward:.3f}"
            zero = _first(logs, _ZERO_VARIANCE_KEYS)
            if zero is not None:
                postfix["zero_var"] = f"{zero:.0%}"
            if self.step_seconds is not None:
                postfix["step_s"] = f"{self.step_seconds:.1f}"
            self.bar.set_postfix(postfix, refresh=True)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return ConsoleProgress


def install_console_progress(trainer: Any, desc: str = "train") -> Any:
    """Swap a transformers Trainer's console callbacks for one :class:`ConsoleProgress`; returns it."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for cls in (ProgressCallback, PrinterCallback):
        trainer.remove_callback(cls)
    callback = _make_callback_class()(desc=desc)
    trainer.add_callback(callback)
    return callback


# ------------------------------------------------------------------------------------ results
def _pct(value: float | None, interval: MeanInterval | None = None) -> str:
    if value is None:
        return "-"
    text = f"{value:.1%}"
    if interval is not None:
        text += f" [{interval.ci95[0]:.1%}, {interval.ci95[1]:.1%}]"
    return text


def _eval_row(label: str, e: EvalSection) -> tuple[str, str, str, str]:
    ci = e.ci95
    return (label, _pct(e.pass_at_1, ci.pass_at_1 if ci else None),
            _pct(e.greedy_accuracy, ci.greedy if ci else None), "-" if e.n_problems is None else str(e.n_problems))


def results_table(report: Report) -> str:
    """The run's headline numbers from the ``report.json`` record: baseline, after training, after TTRL."""
    rows = [_eval_row(label, e) for label, e in (("baseline", report.baseline), ("after training", report.final))
            if e is not None]
    ttrl = report.ttrl
    if ttrl is not None and ttrl.attempted:
        n = "-" if ttrl.n_problems is None else str(ttrl.n_problems)
        ci = ttrl.ci95
        # the same samples without adaptation, then TTRL itself
        rows.append(("TTRL control", _pct(ttrl.pass_at_1_control), _pct(ttrl.accuracy_control), n))
        rows.append(("after TTRL", _pct(ttrl.pass_at_1, ci.pass_at_1 if ci else None),
                     _pct(ttrl.accuracy, ci.accuracy if ci else None), n))
    if not rows:
        return ""
    header = ("", "pass@1", "greedy / solved", "problems")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    title = f"results on {report.test_set}" if report.test_set else "results"
    return "\n".join([title, *lines])
