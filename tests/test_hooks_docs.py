"""The hooks reference documents every hook with its exact signature (datasette's test_docs idea)."""

import dataclasses
import inspect
import re
from pathlib import Path

from ladder_core import hookspecs
from ladder_core.plugins import hook_names

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin-hooks.md"


def _signature(name: str) -> str:
    return f"def {name}{inspect.signature(getattr(hookspecs, name))}".replace("'", "")


def _documented() -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"^def (ladder_\w+)\(.*$", DOC.read_text(), re.M)}


def test_every_hook_is_documented_with_its_signature():
    documented = _documented()
    for name in hook_names():
        assert name in documented, f"{name} missing from {DOC.name}"
        assert documented[name] == _signature(name), f"{name} documented as {documented[name]!r}"


def test_no_documented_hook_is_stale():
    assert set(_documented()) == set(hook_names())


def test_every_hook_has_prefix_docstring_and_example():
    for name in hook_names():
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert name.startswith("ladder_")
        assert "@hookimpl" in doc, f"{name} docstring lacks an example implementation"
        assert inspect.signature(fn).return_annotation is not inspect.Signature.empty


def _records() -> list[type]:
    from ladder_core import artifacts, observers, records

    found = [records.DomainSpec, records.VariantGeneratorSpec, records.RewardSpec, records.EmbeddedModel,
             records.TreeNode, observers.TrainStepInfo, observers.RunReport]
    found += [c for c in vars(artifacts).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
              and "SCHEMA_VERSION" in c.__dict__ and c.__module__ == artifacts.__name__]
    return found


def test_every_record_is_listed_with_its_current_fields():
    text = DOC.read_text()
    for cls in _records():
        fields = ", ".join(f.name for f in dataclasses.fields(cls))
        assert f"`{cls.__name__}({fields})`" in text, f"{cls.__name__} missing or stale in {DOC.name}"
