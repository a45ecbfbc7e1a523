"""The process group of a multi-process (``accelerate launch``) run, with a timeout that suits the work.

Only training runs on every rank. Baseline, variants, evaluation and the
report run on the main rank while the others wait at a barrier, and TTRL is
not run under several processes. A barrier that waits longer than the process
group's timeout kills the run (torch's default is 10 to 30 minutes, less than
generating thousands of variants or evaluating a 3B model). So the group is
created once, here, with ``trainer.process_group_timeout_s``, before
anything else touches accelerate; ``grpo_config`` passes the same value to
transformers as ``ddp_timeout``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def timeout_seconds(cfg: Any) -> int:
    """``trainer.process_group_timeout_s`` (the schema refuses anything but a positive number of seconds)."""
    from ladder_core.schema import TrainerConfig

    return int(TrainerConfig.of(cfg).process_group_timeout_s)


def process_state(cfg: Any) -> Any:
    """accelerate's ``PartialState``; the first call in a process sets up the group with the configured timeout.

    CPU runs (``trainer.device=cpu``, ``accelerate launch --cpu`` or no CUDA) use gloo.
    """
    import os

    import torch
    from accelerate import PartialState

    from ladder_core.schema import TrainerConfig

    device = TrainerConfig.of(cfg).device
    timeout = timedelta(seconds=timeout_seconds(cfg))
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return PartialState(timeout=timeout)  # one process: no process group to set up
    cpu = (device == "cpu" or not torch.cuda.is_available()
           or os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes"))
    return PartialState(cpu=cpu, timeout=timeout)
