"""Shared fixtures: an inline-mode domain (fast) and a process-mode domain (the default, real workers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ladder_countdown.domain import CountdownDomain


@pytest.fixture
def domain() -> Iterator[CountdownDomain]:
    d = CountdownDomain({"verifier": {"mode": "inline"}})
    yield d
    d.close()


@pytest.fixture
def process_domain() -> Iterator[CountdownDomain]:
    d = CountdownDomain()
    assert d.cfg.verifier.mode == "process"
    yield d
    d.close()
