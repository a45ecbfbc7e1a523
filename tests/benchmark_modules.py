"""Load the benchmark scripts in tests (they are not a package; they run as ``python benchmarks/X.py``)."""

from __future__ import annotations


def load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a module (the scripts are not a package; they run as ``python benchmarks/X.py``)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
