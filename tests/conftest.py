"""Shared test settings: keep torch to the cores CI has and never touch a model hub."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")


import pytest  # noqa: E402


@pytest.fixture
def host():
    """A plugin host with the toy domain only (no installed plugins); modules that need more define their own."""
    from ladder_core.plugins import PluginHost, create_plugin_manager
    from ladder_core.testing.toy_domain import ToyPlugin

    return PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin()]))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A tiny random Llama (one layer) with the toy tokenizer, built once per test session."""
    from ladder_core.testing.tiny_models import tiny_llama

    return tiny_llama(tmp_path_factory.mktemp("model") / "tiny", hidden=32, layers=1)
