"""Fixtures of the simulator's own tests: one server per module, state reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sim.support import fresh, gateway_client, gateway_workspace, running_simulator
from togglbridge.toggl.sim import Simulator


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    with running_simulator() as pair:
        yield pair


@pytest.fixture
def sim(served: tuple[Simulator, str]) -> Simulator:
    """The module's simulator, reset to a fresh state (overrides the suite-wide ``sim`` here)."""
    return fresh(served[0])


@pytest.fixture
def url(served: tuple[Simulator, str], sim: Simulator) -> str:
    return served[1]


@pytest.fixture
def api(url: str) -> Iterator[httpx.Client]:
    with gateway_client(url) as client:
        yield client


@pytest.fixture
def wid(sim: Simulator) -> int:
    return gateway_workspace(sim)
