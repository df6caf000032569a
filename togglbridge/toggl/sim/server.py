"""Serving a simulator over real TCP: in a background thread (tests, benchmarks, the bridge's embedded default) or
in the foreground.

A real socket matters: the bridge's HTTP client, its timeouts and its connection handling are exercised exactly as
against Toggl, which an in-process ASGI transport would skip. The simulator stands alone (it imports nothing of
the bridge), so it runs uvicorn itself rather than through the bridge's ``serving``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from togglbridge.toggl.sim.identity import DIRECT_PREFIX, GATEWAY_PREFIX
from togglbridge.toggl.sim.simulator import Simulator

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


class SimulatorDidNotStart(Exception):
    """uvicorn did not start serving the simulator: the port was taken, or startup took too long."""


def base_url(host: str, port: int) -> str:
    """'http://host:port', with IPv6 literals bracketed."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def banner(root: str, state_file: Path | None) -> str:
    """What a simulator serving at ``root`` tells people at start: where to point a client, and its state."""
    kept = f"state in {state_file}; delete it to reset" if state_file is not None else "in memory"
    return "\n".join(
        [
            f"Toggl simulator ({kept}; nothing reaches the real Toggl)",
            f"  gateway: {root}{GATEWAY_PREFIX}   (Authorization: Bearer <any key>, Maton-Connection: <id>)",
            f"  direct:  {root}{DIRECT_PREFIX}   (basic auth <any token>:api_token)",
            f"  webhooks: {root}/webhooks/api/v1/subscriptions/<workspace id>   (and under /toggl-track)",
            f"  admin:   {root}/_sim/stats, /_sim/state, /_sim/knobs",
        ]
    )


def serve_forever(sim: Simulator, host: str, port: int) -> None:
    """Serve ``sim`` in the foreground until interrupted."""
    uvicorn.run(sim.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


@contextmanager
def serve_in_thread(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `sim.app` under uvicorn in a daemon thread; yield its base URL ('http://127.0.0.1:PORT').

    `port=0` picks a free port. On exit the server is asked to stop and the thread is joined.
    """
    config = uvicorn.Config(
        sim.app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"togglbridge-sim-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise SimulatorDidNotStart(f"the Toggl simulator could not start on {host}:{port} (port in use?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise SimulatorDidNotStart(
                f"the Toggl simulator did not start on {host}:{port} within {STARTUP_TIMEOUT_SECONDS:g} s"
            )
        time.sleep(0.005)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield base_url(host, bound_port)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
