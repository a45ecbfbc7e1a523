"""pytest fixtures for ladder and plugin authors (auto-registered via the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ladder_core.plugins import PluginHost, create_plugin_manager, set_host


@pytest.fixture
def ladder_host() -> Iterator[PluginHost]:
    """A fresh plugin host with every installed plugin, set as the process-wide host for the test."""
    host = PluginHost(create_plugin_manager())
    set_host(host)
    yield host
    set_host(None)


@pytest.fixture
def ladder_toy_domain():
    """The core's toy domain (integer sums): a stand-in for a real domain in core tests."""
    from ladder_core.testing.toy_domain import ToyDomain

    domain = ToyDomain()
    yield domain
    domain.close()


@pytest.fixture
def ladder_domain_contract():
    """The contract checker: ``ladder_domain_contract(domain)`` asserts the core's rules hold."""
    from ladder_core.testing.contract import check_domain_contract

    return check_domain_contract


@pytest.fixture
def ladder_faulty_plugin():
    """The fault-injecting test plugin (:mod:`ladder_core.testing.faulty_domain`), its fault tally reset.

    Register it with ``create_plugin_manager(extra_plugins=[ladder_faulty_plugin])``;
    ``ladder_faulty_plugin.INJECTED`` counts what it injected.
    """
    from ladder_core.testing import faulty_domain

    faulty_domain.reset()
    yield faulty_domain
    faulty_domain.reset()
