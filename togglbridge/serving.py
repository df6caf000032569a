"""Serving an ASGI app with uvicorn in a background thread, over a real socket."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


class ServerDidNotStart(Exception):
    """uvicorn did not start serving: the port was taken, or startup took too long."""


def base_url(host: str, port: int) -> str:
    """'http://host:port', with IPv6 literals bracketed."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "server",
    lifespan: Literal["auto", "on", "off"] = "off",
    log_level: str = "warning",
) -> Iterator[str]:
    """Run ``app`` in a daemon thread; yield its base URL. ``port=0`` picks a free port.

    uvicorn installs no signal handlers outside the main thread, so the caller keeps Ctrl-C.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"togglbridge-{name}-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise ServerDidNotStart(f"the {name} could not start on {host}:{port} (port in use?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise ServerDidNotStart(
                f"the {name} did not start on {host}:{port} within {STARTUP_TIMEOUT_SECONDS:g} s"
            )
        time.sleep(0.005)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield base_url(host, bound_port)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
