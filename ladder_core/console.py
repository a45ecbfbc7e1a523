"""What the user sees in the terminal: one progress bar per training run, the results at the end.

TRL's per-step metric dicts are useful in a log file and noise on a console
(a run printed about 150 of them): :class:`ConsoleProgress` replaces
transformers' progress/printer callbacks, shows reward, the share of
zero-variance groups and the step time on the bar, and writes every metric
dict to the run's log file only. :func:`results_table` turns ``report.json``
into the few lines a run ends with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

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
def _metric(section: Mapping[str, Any] | None, key: str) -> tuple[float | None, tuple[float, float] | None]:
    """A metric's value and, when the report carries one, its 95% interval."""
    if not isinstance(section, Mapping):
        return None, None
    value = section.get(key)
    interval = None
    if isinstance(value, Mapping):
        interval = value.get("ci95")
        value = value.get("mean")
    for name, item in section.items():
        if interval is None and name != key and name.startswith(key) and ("ci" in name or "interval" in name):
            interval = item.get("ci95") if isinstance(item, Mapping) else item
    report_ci = section.get("ci95")  # report.json: {"ci95": {"pass@1": {"mean", "ci95"}, "greedy": ...}}
    alias = {"greedy_accuracy": "greedy"}.get(key, key)
    if interval is None and isinstance(report_ci, Mapping) and isinstance(report_ci.get(alias), Mapping):
        interval = report_ci[alias].get("ci95")
    intervals = section.get("intervals")
    if interval is None and isinstance(intervals, Mapping) and key in intervals:
        item = intervals[key]
        interval = item.get("ci95") if isinstance(item, Mapping) else item
    ok = isinstance(interval, (list, tuple)) and len(interval) == 2 and all(
        isinstance(x, (int, float)) for x in interval)
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return number, (float(interval[0]), float(interval[1])) if ok else None


def _pct(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.1%}"
    if interval is not None:
        text += f" [{interval[0]:.1%}, {interval[1]:.1%}]"
    return text


def results_table(report: Mapping[str, Any]) -> str:
    """The run's headline numbers from ``report.json``: baseline, after training, after TTRL."""
    rows = []
    for label, key in (("baseline", "baseline"), ("after training", "final")):
        section = report.get(key)
        if isinstance(section, Mapping):
            n = section.get("n_problems")
            rows.append((label, _pct(*_metric(section, "pass@1")), _pct(*_metric(section, "greedy_accuracy")),
                         str(n) if n is not None else "-"))
    ttrl = report.get("ttrl")
    if isinstance(ttrl, Mapping) and ttrl.get("attempted"):
        rows.append(("TTRL control", _pct(*_metric(ttrl, "pass@1_control")), _pct(*_metric(ttrl, "accuracy_control")),
                     str(ttrl.get("n_problems", "-"))))  # the same samples without adaptation, then TTRL itself
        rows.append(("after TTRL", _pct(*_metric(ttrl, "pass@1")), _pct(*_metric(ttrl, "accuracy")),
                     str(ttrl.get("n_problems", "-"))))
    if not rows:
        return ""
    header = ("", "pass@1", "greedy / solved", "problems")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    test_set = report.get("test_set")
    title = f"results on {test_set}" if test_set else "results"
    return "\n".join([title, *lines])
