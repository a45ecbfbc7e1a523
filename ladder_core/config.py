"""Where the configs live and how plugins extend them, before Hydra composes.

The configs ship inside the wheel as ``ladder_core/conf`` (hatch force-include);
in a source checkout they are the top-level ``conf/`` folder. Domains are not
files in ``conf/``: each plugin's ``DomainSpec.config`` node is stored in
Hydra's ConfigStore under the ``domain`` group, so installing a plugin adds an
option to ``+domain=...`` without editing anything here.
"""

from __future__ import annotations

from pathlib import Path

from ladder_core.plugins import PluginHost

_PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """Absolute path of the primary config folder (installed wheel first, then checkout)."""
    for candidate in (_PACKAGE_DIR / "conf", _PACKAGE_DIR.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"ladder configs not found next to {_PACKAGE_DIR}")


def register_plugin_configs(host: PluginHost) -> list[str]:
    """Store every installed domain's config node as ``domain/<name>``; return the names."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    names = []
    for name, spec in sorted(host.domains().items()):
        node = spec.config
        if not OmegaConf.is_config(node):
            node = OmegaConf.structured(node) if not isinstance(node, dict) else OmegaConf.create(node)
        if node.get("name") != name:
            raise ValueError(f"domain {name!r}: its config node must have name: {name}")
        store.store(group="domain", name=name, node=node, provider=f"ladder plugin {name}")
        names.append(name)
    register_resolvers(host)
    return names


def register_resolvers(host: PluginHost) -> None:
    """``${ladder_embedded:NAME}`` -> path of a model a plugin ships."""
    from omegaconf import OmegaConf

    def embedded(name: str) -> str:
        models = host.embedded_models()
        if name not in models:
            raise ValueError(f"unknown embedded model {name!r}; installed: {', '.join(sorted(models)) or '(none)'}")
        return str(models[name].path)

    OmegaConf.register_new_resolver("ladder_embedded", embedded, replace=True)
