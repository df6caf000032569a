"""The Redis the integration tests use is real, and the embedded server works where none is installed."""

from __future__ import annotations

from pathlib import Path

import redis

from togglbridge.store.redis_server import resolve_redis, start_embedded


def test_the_test_redis_is_a_real_server(redis_client: redis.Redis) -> None:
    redis_client.set("togglbridge:test", "1")
    assert redis_client.get("togglbridge:test") == b"1"
    assert "redis_version" in redis_client.info("server")


def test_embedded_server_starts_durable_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    server = start_embedded(tmp_path)
    try:
        client = server.client()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.set("kept", "yes")
        client.close()
    finally:
        server.close()
    again = start_embedded(tmp_path)
    try:
        assert again.client().get("kept") == b"yes"
    finally:
        again.close()


def test_a_configured_url_is_used_as_is(tmp_path: Path) -> None:
    server = resolve_redis("redis://example.invalid:6379/0", tmp_path)
    assert server.url == "redis://example.invalid:6379/0"
    assert not server.is_embedded
    server.close()  # a no-op for a server this process did not start
