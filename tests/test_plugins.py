"""Plugin discovery and the plugin manager's failure modes."""

import subprocess
import sys
import textwrap
import warnings

import pytest

from ladder_core.hookspecs import DomainSpec, EmbeddedModel, hookimpl
from ladder_core.plugins import (
    DISABLE_AUTOLOAD_ENV,
    PluginError,
    PluginHost,
    PluginLoadWarning,
    create_plugin_manager,
)
from ladder_core.testing.toy_domain import ToyConfig, ToyDomain


class ToyPlugin:
    @hookimpl
    def ladder_domains(self):
        return [DomainSpec(name="toy", config=ToyConfig(), factory=lambda cfg, ctx: ToyDomain(cfg, ctx))]


class AnotherToyPlugin:
    @hookimpl
    def ladder_domains(self):
        return [DomainSpec(name="toy", config=ToyConfig(), factory=lambda cfg, ctx: ToyDomain(cfg, ctx))]


def _fake_distribution(tmp_path, name: str, module: str, source: str):
    """A minimal installed distribution on sys.path with one `ladder` entry point."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    dist = tmp_path / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[ladder]\n{name} = {module}\n")


def test_integration_is_found_through_entry_points():
    host = PluginHost(create_plugin_manager(autoload=True))
    assert "integration" in host.domains()
    assert host.domain_owners()["integration"] == "integration"  # the entry point's name, not an import
    assert "integration-tiny" in host.embedded_models()
    assert "llm" in host.variant_generators()  # the core's own contribution, through the same hook


def test_entry_points_group_lists_integration():
    out = subprocess.run(
        [sys.executable, "-c",
         "import importlib.metadata as m; print([e.name for e in m.entry_points(group='ladder')])"],
        capture_output=True, text=True, check=True)
    assert "integration" in out.stdout


def test_disable_switch_skips_entry_points(monkeypatch):
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    host = PluginHost(create_plugin_manager())
    assert host.domains() == {}
    assert "llm" in host.variant_generators()  # built-ins stay


def test_explicit_plugin_registration():
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    domain = host.domain("toy").factory(ToyConfig(), None)
    assert isinstance(domain, ToyDomain)


def test_duplicate_domain_names_both_plugins():
    pm = create_plugin_manager(autoload=False)
    pm.register(ToyPlugin(), name="first-plugin")
    pm.register(AnotherToyPlugin(), name="second-plugin")
    with pytest.raises(PluginError) as err:
        PluginHost(pm).domains()
    assert "first-plugin" in str(err.value) and "second-plugin" in str(err.value)


def test_unknown_domain_lists_installed():
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))
    with pytest.raises(PluginError, match="installed domains: toy"):
        host.domain("nope")


def test_broken_plugin_is_a_warning_naming_it(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "ladder-broken", "ladder_broken_plugin", "raise ImportError('no such thing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        host = PluginHost(create_plugin_manager(autoload=True))
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert any("ladder-broken" in m and "no such thing" in m for m in messages), messages
    assert "integration" in host.domains()  # the run goes on with the others


def test_third_party_plugin_from_entry_point(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "ladder-extra", "ladder_extra_plugin", """
        from pathlib import Path
        from ladder_core.hookspecs import EmbeddedModel, hookimpl

        @hookimpl
        def ladder_embedded_models():
            return [EmbeddedModel("extra-model", Path("/nonexistent"))]
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    host = PluginHost(create_plugin_manager(autoload=True))
    assert isinstance(host.embedded_models()["extra-model"], EmbeddedModel)


def test_misspelled_hook_fails_loudly():
    class Misspelled:
        @hookimpl
        def ladder_domain(self):  # missing "s"
            return []

    with pytest.raises(PluginError, match="ladder_domains"):
        create_plugin_manager(autoload=False, extra_plugins=[Misspelled()])


def test_observer_hooks_reach_plugins(tmp_path):
    seen = []

    class Observer:
        @hookimpl
        def ladder_run_start(self, cfg, run_dir):
            seen.append(("start", run_dir))

        @hookimpl
        def ladder_tree_grew(self, root_id, nodes):
            seen.append(("grew", root_id, len(nodes)))

    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[Observer()]))
    host.run_start({}, tmp_path)
    host.tree_grew("r0", [1, 2])
    assert seen == [("start", tmp_path), ("grew", "r0", 2)]


def test_hook_modules_import_nothing_heavy():
    code = (
        "import sys\n"
        "from ladder_core.plugins import PluginHost\n"
        "import ladder_core.cli\n"
        "host = PluginHost(); host.domains(); host.variant_generators(); host.embedded_models()\n"
        "heavy = [m for m in ('torch', 'trl', 'transformers', 'vllm', 'sympy', 'datasets') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
