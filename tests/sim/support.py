"""Helpers shared by the simulator's HTTP tests (plain functions: each test module declares its own fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from togglbridge.toggl.sim import SimClock, SimKnobs, Simulator, serve_in_thread

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
GATEWAY = "/toggl-track/api/v9"
DIRECT = "/api/v9"
API_KEY = "test-gateway-key"
CONNECTION = "conn_test"
TOKEN = "test-token"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def running_simulator() -> Iterator[tuple[Simulator, str]]:
    """A simulator on a frozen clock, served over real TCP."""
    sim = Simulator(clock=SimClock(START))
    with serve_in_thread(sim) as url:
        yield sim, url


def fresh(sim: Simulator) -> Simulator:
    """Back to a clean world with default knobs (the server is shared by a module's tests)."""
    sim.knobs = SimKnobs()
    sim.reset()
    return sim


def gateway_client(url: str, key: str = API_KEY, connection: str | None = CONNECTION) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    if connection is not None:
        headers["Maton-Connection"] = connection
    return httpx.Client(base_url=url + GATEWAY, headers=headers, timeout=10)


def direct_client(url: str, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(base_url=url + DIRECT, auth=(token, "api_token"), timeout=10)


def gateway_workspace(sim: Simulator, key: str = API_KEY, connection: str = CONNECTION) -> int:
    """The workspace id of the gateway test user, without spending a request."""
    return sim.user_for(api_key=key, connection=connection).default_workspace_id


def create_entry(api: httpx.Client, wid: int, start: datetime, **fields: Any) -> dict[str, Any]:
    """POST a time entry (running unless `duration`/`stop` say otherwise) and return it; fails loudly."""
    body: dict[str, Any] = {"created_with": "tests", "workspace_id": wid, "start": iso(start), "duration": -1}
    body.update(fields)
    response = api.post(f"/workspaces/{wid}/time_entries", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
