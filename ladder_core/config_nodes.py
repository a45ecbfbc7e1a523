"""Turning a plugin's config node into its dataclass, rejecting typos by name.

A domain plugin's config node is a plain dataclass that serves both as a Hydra
structured config and as a typed object in scripts and tests, so its
constructor may receive ``None``, the dataclass itself, a mapping or an
OmegaConf ``DictConfig``. :func:`coerce_node` accepts all four and fails on an
unknown key with a message naming it and the valid ones: a misspelled
override must stop the run, not be ignored.

:func:`knob` declares a field with its default, its one-line documentation and
its allowed values; :func:`check_fields` enforces them (the core's schema,
:mod:`ladder_core.schema`, and any plugin node may use both).

Imports only the standard library; OmegaConf is imported only when a value
that is not a plain dict arrives (it can then only be an OmegaConf container).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, TypeVar

T = TypeVar("T")

#: Keys Hydra may leave in a node that are not fields (``_target_`` is for ``instantiate``), unless the class has them.
IGNORED_KEYS = frozenset({"_target_"})


class ConfigError(ValueError):
    """A config value outside what its key allows; ``key`` is the dotted path."""

    def __init__(self, key: str, value: Any = None, allowed: str = "", message: str | None = None) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(message or f"{key}={_show(value)} is not allowed; allowed: {allowed}")


def _show(value: Any) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def knob(default: Any, doc: str = "", *, ge: float | None = None, gt: float | None = None,
         le: float | None = None, lt: float | None = None, choices: Sequence[Any] | None = None,
         items_ge: float | None = None, items_in: Sequence[Any] | None = None) -> Any:
    """A dataclass field with its default, its documentation and its allowed values.

    ``ge``/``gt``/``le``/``lt`` bound a number (``None`` is always allowed
    for an ``Optional`` field: it means "off" or "all"); ``choices`` lists the
    allowed values; ``items_ge``/``items_in`` apply to every item of a list.
    A list or dict default is copied per instance.
    """
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "lt": lt, "choices": tuple(choices) if choices else None,
            "items_ge": items_ge, "items_in": tuple(items_in) if items_in else None}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def allowed_text(meta: typing.Mapping[str, Any]) -> str:
    """``">= 1"``, ``"one of a, b"``... for errors and the generated docs; empty when anything goes."""
    parts = []
    for key, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if meta.get(key) is not None:
            parts.append(f"{sign} {meta[key]:g}")
    if meta.get("choices"):
        parts.append("one of " + ", ".join(map(str, meta["choices"])))
    if meta.get("items_ge") is not None:
        parts.append(f"each >= {meta['items_ge']:g}")
    if meta.get("items_in"):
        parts.append("each one of " + ", ".join(map(str, meta["items_in"])))
    return " and ".join(parts)


def check_fields(obj: Any, prefix: str) -> None:
    """Raise :class:`ConfigError` for the first field of a dataclass outside what its :func:`knob` allows."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata and _violates(f.metadata, value):
            raise ConfigError(f"{prefix}.{f.name}", value, allowed_text(f.metadata))


def _violates(meta: typing.Mapping[str, Any], value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return True
        bounds = ((meta.get("ge"), value.__ge__), (meta.get("gt"), value.__gt__),
                  (meta.get("le"), value.__le__), (meta.get("lt"), value.__lt__))
        if any(bound is not None and not test(bound) for bound, test in bounds):
            return True
    if meta.get("choices") and value not in meta["choices"]:
        return True
    if isinstance(value, (list, tuple)):
        if meta.get("items_ge") is not None and any(item < meta["items_ge"] for item in value):
            return True
        if meta.get("items_in") and any(item not in meta["items_in"] for item in value):
            return True
    return False


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
