"""Serving a simulator over real TCP: in a background thread (tests, the embedded default) or in the foreground.

A real socket matters: the bridge's HTTP client, its timeouts and its connection handling are exercised exactly as
against Toggl, which an in-process ASGI transport would skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from togglbridge import serving
from togglbridge.toggl.sim.simulator import Simulator

base_url = serving.base_url


@contextmanager
def serve_in_thread(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `sim.app` under uvicorn in a daemon thread; yield its base URL ('http://127.0.0.1:PORT').

    `port=0` picks a free port. On exit the server is asked to stop and the thread is joined.
    """
    with serving.serve_in_thread(sim.app, host, port, name="Toggl simulator") as url:
        yield url
