"""Where the configs live and how plugins extend them, before Hydra composes.

The configs ship inside the wheel as ``ladder_core/conf`` (hatch force-include);
in a source checkout they are the top-level ``conf/`` folder. Domains are not
files in ``conf/``: each plugin's ``DomainSpec.config`` node is stored in
Hydra's ConfigStore under the ``domain`` group, so installing a plugin adds an
option to ``+domain=...`` without editing anything here. The core's own
sections are typed by :mod:`ladder_core.schema`, stored here too (as
``ladder_schema``) before composition.
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

    from ladder_core.schema import register_schema

    register_schema()
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


def default_embedded_model(host: PluginHost, domain: str) -> str:
    """The embedded model a domain names as its own (the one whose ``domains`` list it); ``ValueError`` if none."""
    models = host.embedded_models()
    own = sorted(name for name, model in models.items() if domain in tuple(model.domains))
    if own:
        return own[0]
    shipped = "; ".join(f"{n} (for {', '.join(m.domains) or 'any domain'})" for n, m in sorted(models.items()))
    raise ValueError(f"domain {domain!r} ships no embedded model, so model=tiny has nothing to load; choose a model "
                     f"with model=NAME (see `ladder list`). Embedded models: {shipped or '(none)'}")


def register_resolvers(host: PluginHost) -> None:
    """``${ladder_embedded:NAME}`` -> path of a model a plugin ships.

    ``${ladder_domain_model:DOMAIN}`` / ``${ladder_domain_model_path:DOMAIN}``: name and path of the
    domain's own embedded model (``model=tiny``); the path fails, naming the fix, for a domain without one.
    """
    from omegaconf import OmegaConf

    def embedded(name: str) -> str:
        models = host.embedded_models()
        if name not in models:
            raise ValueError(f"unknown embedded model {name!r}; installed: {', '.join(sorted(models)) or '(none)'}")
        return str(models[name].path)

    OmegaConf.register_new_resolver("ladder_embedded", embedded, replace=True)
    def domain_model_name(domain: str) -> str:
        try:
            return default_embedded_model(host, str(domain))
        except ValueError:
            return "tiny"  # only a label; the path resolver below gives the error if the path is needed

    OmegaConf.register_new_resolver("ladder_domain_model", domain_model_name, replace=True)
    OmegaConf.register_new_resolver(
        "ladder_domain_model_path", lambda domain: embedded(default_embedded_model(host, str(domain))), replace=True)
