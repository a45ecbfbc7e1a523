"""The ``ladder`` command: Hydra composes the config, :func:`run` does the work.

``main`` registers the typed schema and the installed plugins' config nodes
first, so that ``+domain=<name>`` offers exactly the installed domains and
every value is type-checked while Hydra composes. :class:`CheckConfigBeforeRun`
(a Hydra callback named in ``conf/config.yaml``) checks ranges, choices and the
domain before Hydra creates the run directory, so a usage error leaves nothing
behind. ``ladder list`` answers without Hydra. Heavy libraries (torch, trl,
transformers) are imported only once a stage needs them, which keeps ``ladder
--help`` and ``ladder --cfg job`` fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from ladder_core.artifacts import Report
from ladder_core.config import config_dir, register_plugin_configs
from ladder_core.plugins import PluginHost, get_host


class UsageError(SystemExit):
    """A short error for the user, exit status 2."""

    def __init__(self, message: str) -> None:
        print(f"ladder: error: {message}", file=sys.stderr)
        super().__init__(2)


def check_run_config(cfg: Any, host: PluginHost | None = None) -> dict[str, Any]:
    """The typed sections of a composed config, or :class:`UsageError` naming the bad key (nothing is written)."""
    from ladder_core.schema import ConfigError, check_config

    host = host or get_host()
    if "domain" not in cfg or cfg.domain is None:
        installed = ", ".join(sorted(host.domains())) or "(none installed)"
        raise UsageError(f"no domain selected; add +domain=NAME with one of: {installed}")
    try:
        sections = check_config(cfg)
        _check_domain_node(cfg, host)
        return sections
    except ConfigError as exc:
        raise UsageError(f"{exc}\n  (every key, its type and allowed values: `ladder list`, docs/configuration.md)")


def _check_domain_node(cfg: Any, host: PluginHost) -> None:
    """Build the domain's own dataclass from its node, so its ``__post_init__`` checks run before any work."""
    import dataclasses

    from ladder_core.config_nodes import ConfigError, coerce_node

    spec = host.domains().get(str(cfg.domain.name))
    if spec is None or not dataclasses.is_dataclass(spec.config):
        return
    try:
        coerce_node(type(spec.config), cfg.domain, where="domain")
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError("domain", None, "", message=f"domain: {exc}") from None


class CheckConfigBeforeRun(Callback):
    """Hydra calls this after composing and before creating the run directory."""

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        check_run_config(config)


def run(cfg: Any, host: PluginHost | None = None) -> Report | None:
    """Run the pipeline for a composed config; returns the ``report.json`` record (``None`` without a report)."""
    host = host or get_host()
    check_run_config(cfg, host)
    from ladder_core.pipeline.runner import run_pipeline

    report = run_pipeline(cfg, host)
    _print_results(Path(str(cfg.run_dir)))
    return report


def _print_results(run_dir: Path) -> None:
    """The headline numbers from ``report.json`` and where the report is (nothing without a report stage)."""
    from ladder_core.artifacts import ArtifactError, read_json
    from ladder_core.console import results_table

    path = run_dir.resolve() / "report.json"
    if not path.is_file():
        return
    try:
        table = results_table(read_json(path, Report))
    except ArtifactError as exc:
        print(f"ladder: {exc}", file=sys.stderr)
        return
    if table:
        print("\n" + table)
    print(f"report: {path.with_name('report.md')}")


def list_installed(host: PluginHost) -> str:
    """``ladder list``: what the installed plugins offer and the config options under ``conf/``."""
    from ladder_core.config import default_embedded_model

    lines = ["domains (+domain=NAME):"]
    for name, spec in sorted(host.domains().items()):
        try:
            model = f" [embedded model: {default_embedded_model(host, name)}]"
        except ValueError:
            model = " [no embedded model: choose model=...]"
        lines.append(f"  {name:<22} {spec.description}{model}")
    lines.append("variant generators (variants.generators=[NAME,...]; auto = the domain's default):")
    for name, spec in sorted(host.variant_generators().items()):
        where = f" (domains: {', '.join(spec.domains)})" if spec.domains else ""
        lines.append(f"  {name:<22} {spec.description}{where}")
    lines.append("reward functions (reward.extra=[NAME,...]):")
    rewards = host.reward_functions()
    lines += [f"  {name:<22} {spec.description}" for name, spec in sorted(rewards.items())] or ["  (none)"]
    lines.append("embedded models (model=tiny picks the domain's own):")
    for name, model in sorted(host.embedded_models().items()):
        lines.append(f"  {name:<22} {model.description} (domains: {', '.join(model.domains) or 'any'})")
    conf = config_dir()
    lines.append("config options (GROUP=OPTION):")
    for group in sorted(p for p in conf.iterdir() if p.is_dir()):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        lines.append(f"  {group.name:<22} {', '.join(options)}")
    lines.append("keys, types, defaults and allowed values: docs/configuration.md (python -m ladder_core.schema)")
    return "\n".join(lines)


def main() -> None:
    """Console entry point."""
    import os

    # OpenMP's default busy-waiting makes torch on a shared CPU several times slower (measured: 9.3 s
    # against 1.1 s a step for the tiny model); must be set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    host = get_host()
    if sys.argv[1:] == ["list"]:
        print(list_installed(host))
        return
    import hydra

    register_plugin_configs(host)

    @hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")
    def _main(cfg: Any) -> None:
        run(cfg, host)

    _main()


if __name__ == "__main__":
    main()
