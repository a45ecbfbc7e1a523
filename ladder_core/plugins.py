"""Finding, loading and querying plugins.

The core registers its own built-in features through the same hooks as
third parties (``ladder_core.builtin_plugin``), and finds every domain --
the reference integration domain included -- through the ``ladder``
entry-point group. The core never imports a domain by name.

Environment switches (handy in tests and when debugging a research fork):

``LADDER_DISABLE_PLUGIN_AUTOLOAD=1``
    Do not load entry points; only built-ins and explicitly registered plugins.
``LADDER_TRACE_HOOKS=1``
    Print every hook call and its result to stderr.
``LADDER_PLUGINS=pkg.module[:attr],...``
    Also register these modules (or module attributes, a class is instantiated)
    as plugins, without installing them: e.g.
    ``LADDER_PLUGINS=ladder_core.testing.faulty_domain`` adds the fault-injecting
    test domain. A name that does not import is an error naming it.

Observer hooks are isolated: each implementation runs under the core's
deadline (``plugin_deadlines.observer_s``); one that raises or overruns is
logged once per plugin and hook, counted in :data:`ladder_core.deadlines.FAULTS`
(``observer.<hook>.<plugin>.raised|timeout``), and the run goes on.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pluggy

from ladder_core import hookspecs
from ladder_core.artifacts import TtrlProblemResult
from ladder_core.deadlines import FAULTS, PluginDeadlines, call_with_deadline
from ladder_core.observers import RunReport, TrainStepInfo
from ladder_core.records import DomainSpec, EmbeddedModel, RewardSpec, TreeNode, VariantGeneratorSpec

ENTRY_POINT_GROUP = "ladder"
DISABLE_AUTOLOAD_ENV = "LADDER_DISABLE_PLUGIN_AUTOLOAD"
TRACE_ENV = "LADDER_TRACE_HOOKS"
PLUGINS_ENV = "LADDER_PLUGINS"

log = logging.getLogger(__name__)


class PluginError(RuntimeError):
    """A plugin misbehaved in a way the run cannot recover from (duplicate names, bad hooks)."""


class PluginLoadWarning(UserWarning):
    """A plugin failed to import; the run goes on without it."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def create_plugin_manager(*, autoload: bool | None = None, extra_plugins: Iterable[Any] = ()) -> pluggy.PluginManager:
    """A fresh plugin manager with built-ins, entry points (unless disabled) and ``extra_plugins``.

    Entry points that fail to import become a :class:`PluginLoadWarning`
    naming the plugin. ``check_pending`` then makes a misspelled hook
    implementation fail loudly instead of being silently ignored.
    """
    from ladder_core import builtin_plugin

    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin_plugin, name="ladder_core.builtin")
    if autoload is None:
        autoload = not _truthy(os.environ.get(DISABLE_AUTOLOAD_ENV))
    if autoload:
        _load_entry_points(pm)
    for plugin in [*_env_plugins(), *extra_plugins]:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc} (is a hook name misspelled? valid hooks: {', '.join(hook_names())})") from exc
    if _truthy(os.environ.get(TRACE_ENV)):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def _env_plugins() -> list[Any]:
    """Plugins named in ``LADDER_PLUGINS`` (``module`` or ``module:attr``; a class is instantiated)."""
    plugins = []
    for spec in filter(None, (s.strip() for s in os.environ.get(PLUGINS_ENV, "").split(","))):
        module_name, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"{PLUGINS_ENV}: cannot load plugin {spec!r}: {type(exc).__name__}: {exc}") from exc
        plugins.append(obj() if isinstance(obj, type) else obj)
    return plugins


def hook_names() -> list[str]:
    """Names of every hook specification, sorted."""
    return sorted(n for n in dir(hookspecs) if n.startswith("ladder_") and callable(getattr(hookspecs, n)))


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the run
            dist = getattr(ep, "dist", None)
            where = f" from {dist.name}" if dist is not None else ""
            warnings.warn(
                f"ladder plugin {ep.name!r} ({ep.value}{where}) failed to import and was skipped: "
                f"{type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=3,
            )
            continue
        try:
            pm.register(plugin, name=ep.name)
        except ValueError as exc:
            warnings.warn(f"ladder plugin {ep.name!r} could not be registered: {exc}", PluginLoadWarning, stacklevel=3)


class PluginHost:
    """A typed facade over ``pm.hook``: one method per hook, duplicates rejected.

    Contribution hooks are called implementation by implementation so that a
    duplicate name can be reported with both plugins that claimed it.
    """

    def __init__(self, pm: pluggy.PluginManager | None = None,
                 deadlines: PluginDeadlines | None = None) -> None:
        self.pm = pm if pm is not None else create_plugin_manager()
        #: The run directory of the pipeline run in progress (set by :meth:`run_start`), passed to observers.
        self.run_dir: Path | None = None
        self.deadlines = deadlines or PluginDeadlines()
        self._reported: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ contributions
    def _collect(self, hook_name: str, kind: str) -> dict[str, tuple[Any, str]]:
        caller = getattr(self.pm.hook, hook_name)
        found: dict[str, tuple[Any, str]] = {}
        for impl in reversed(caller.get_hookimpls()):  # registration order
            records = impl.function() or []
            for record in records:
                name = record.name
                if name in found:
                    raise PluginError(
                        f"{kind} {name!r} is registered twice: by plugin {found[name][1]!r} "
                        f"and by plugin {impl.plugin_name!r}; uninstall or disable one of them"
                    )
                found[name] = (record, impl.plugin_name)
        return found

    def domains(self) -> dict[str, DomainSpec]:
        return {n: r for n, (r, _) in self._collect("ladder_domains", "domain").items()}

    def domain_owners(self) -> dict[str, str]:
        """Domain name -> name of the plugin that registered it."""
        return {n: p for n, (_, p) in self._collect("ladder_domains", "domain").items()}

    def variant_generators(self) -> dict[str, VariantGeneratorSpec]:
        return {n: r for n, (r, _) in self._collect("ladder_variant_generators", "variant generator").items()}

    def reward_functions(self) -> dict[str, RewardSpec]:
        return {n: r for n, (r, _) in self._collect("ladder_reward_functions", "reward function").items()}

    def embedded_models(self) -> dict[str, EmbeddedModel]:
        return {n: r for n, (r, _) in self._collect("ladder_embedded_models", "embedded model").items()}

    def domain(self, name: str) -> DomainSpec:
        """The spec of one domain, or an error listing the installed ones."""
        specs = self.domains()
        if name not in specs:
            raise PluginError(f"unknown domain {name!r}; installed domains: {', '.join(sorted(specs)) or '(none)'}")
        return specs[name]

    # --------------------------------------------------------------- observers
    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of an observer hook, each isolated (see module docstring)."""
        caller = getattr(self.pm.hook, hook_name)
        impls = list(reversed(caller.get_hookimpls()))  # registration order
        if any(impl.hookwrapper or impl.wrapper for impl in impls) or _truthy(os.environ.get(TRACE_ENV)):
            # wrappers (and tracing) need pluggy's own call loop: isolate the hook call as a whole
            calls = [(lambda: caller(**kwargs), "all plugins")]
        else:
            calls = [(_bind(impl.function, {n: kwargs[n] for n in impl.argnames if n in kwargs}), impl.plugin_name)
                     for impl in impls]
        for call, plugin_name in calls:
            outcome = call_with_deadline(call, timeout_s=self.deadlines.observer_s, name=f"{plugin_name}.{hook_name}")
            if outcome.ok:
                continue
            FAULTS.add(f"observer.{hook_name}.{plugin_name}.{outcome.status}")
            key = (plugin_name, hook_name)
            if key not in self._reported:
                self._reported.add(key)
                log.warning("plugin %r: observer %s failed (%s); the run goes on (further failures are only "
                            "counted)", plugin_name, hook_name, outcome.error)

    def run_start(self, cfg: Any, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._notify("ladder_run_start", cfg=cfg, run_dir=run_dir)

    def run_end(self, run_dir: Path) -> None:
        """Tell observers the run ended, with every stage's summary record read back from ``run_dir``."""
        self._notify("ladder_run_end", report=RunReport.read(run_dir), run_dir=run_dir)

    def train_step_end(self, info: TrainStepInfo) -> None:
        self._notify("ladder_train_step_end", info=info)

    def tree_grew(self, root_id: str, nodes: list[TreeNode]) -> None:
        self._notify("ladder_tree_grew", root_id=root_id, nodes=nodes, run_dir=self.run_dir)

    def ttrl_problem_end(self, result: TtrlProblemResult) -> None:
        self._notify("ladder_ttrl_problem_end", result=result, run_dir=self.run_dir)


def _bind(function: Any, args: dict[str, Any]) -> Any:
    return lambda: function(**args)


_default_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host (created on first use)."""
    global _default_host
    if _default_host is None:
        _default_host = PluginHost()
    return _default_host


def set_host(host: PluginHost | None) -> None:
    """Replace the process-wide host (tests use a fresh one per test)."""
    global _default_host
    _default_host = host

