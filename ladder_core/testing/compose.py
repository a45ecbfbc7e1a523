"""Compose a run config in tests exactly as ``ladder`` would, without Hydra's job runtime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ladder_core.config import config_dir, register_plugin_configs
from ladder_core.plugins import PluginHost


def compose_config(host: PluginHost, overrides: Sequence[str] = (), *, run_dir: Path | None = None) -> Any:
    """The composed ``DictConfig`` for ``overrides``; ``run_dir`` replaces Hydra's output directory."""
    from hydra import compose, initialize_config_dir

    register_plugin_configs(host)
    extra = [f"run_dir={run_dir}"] if run_dir is not None else []
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=[*overrides, *extra])
