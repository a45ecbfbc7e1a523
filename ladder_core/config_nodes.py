"""Turning a plugin's config node into its dataclass, rejecting typos by name.

A domain plugin's config node is a plain dataclass that serves both as a Hydra
structured config and as a typed object in scripts and tests, so its
constructor may receive ``None``, the dataclass itself, a mapping or an
OmegaConf ``DictConfig``. :func:`coerce_node` accepts all four and fails on an
unknown key with a message naming it and the valid ones: a misspelled
override must stop the run, not be ignored.

Imports only the standard library; OmegaConf is imported only when a value
that is not a plain dict arrives (it can then only be an OmegaConf container).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

#: Keys Hydra may leave in a node that are not fields (``_target_`` is for ``instantiate``), unless the class has them.
IGNORED_KEYS = frozenset({"_target_"})


def to_plain(value: Any) -> Any:
    """Plain containers from an OmegaConf container (resolving interpolations); a dict is copied; else as is."""
    if isinstance(value, dict):
        return dict(value)
    try:
        from omegaconf import OmegaConf
    except ImportError:  # pragma: no cover - omegaconf ships with ladder-core
        return value
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def coerce_node(cls: type[T], value: Any, *, where: str | None = None) -> T:
    """An instance of the dataclass ``cls`` from ``None`` (defaults), an instance, a mapping or a ``DictConfig``.

    Fields whose annotation is itself a dataclass are coerced the same way,
    recursively, so nested nodes may be given as mappings too. ``where`` names
    the node in error messages (``"countdown"`` gives ``unknown countdown
    config keys: ...``, and ``unknown countdown verifier config keys: ...`` for
    its ``verifier`` field); it defaults to the class name. An instance is
    returned as is; no values are validated here beyond the key names.
    """
    label = where or cls.__name__
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    data = to_plain(value)
    if not isinstance(data, Mapping):
        raise TypeError(f"{label} config must be a mapping, got {type(value).__name__}")
    known = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    data = {key: item for key, item in data.items() if key not in IGNORED_KEYS or key in known}
    unknown = sorted(map(str, set(data) - known))
    if unknown:
        raise ValueError(f"unknown {label} config keys: {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    for name in list(data):
        hint = hints.get(name)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            data[name] = coerce_node(hint, data[name], where=f"{label} {name}")
    return cls(**data)
