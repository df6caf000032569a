"""The simulator's knobs over real HTTP: 429 bucket, 402 quota, injected 5xx, latency, and the admin routes.

The clock is frozen and moved by hand, so nothing here sleeps and nothing asserts on timing.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.test_sim_support import (
    START,
    create_entry,
    fresh,
    gateway_client,
    gateway_workspace,
    iso,
    running_simulator,
)
from togglbridge.toggl.sim import Simulator


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    with running_simulator() as pair:
        yield pair


@pytest.fixture
def sim(served: tuple[Simulator, str]) -> Simulator:
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


def test_leaky_bucket_429_with_retry_after_then_recovers(api: httpx.Client, sim: Simulator, url: str) -> None:
    sim.knobs.rate_limit = 0.5
    sim.knobs.bucket_capacity = 2
    assert [api.get("/me").status_code for _ in range(2)] == [200, 200]
    refused = api.get("/me")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.text
    with gateway_client(url, key="someone-else") as other:
        assert other.get("/me").status_code == 200  # buckets are per credential
    sim.clock.advance(2)
    assert api.get("/me").status_code == 200
    assert api.get("/me").status_code == 429


def test_a_429_does_not_count_against_the_quota(api: httpx.Client, sim: Simulator) -> None:
    sim.knobs.rate_limit = 1
    sim.knobs.bucket_capacity = 1
    sim.knobs.quota_per_hour = 10
    first = api.get("/me/time_entries")
    assert first.headers["X-Toggl-Quota-Remaining"] == "9"
    assert api.get("/me/time_entries").status_code == 429
    sim.clock.advance(1)
    assert api.get("/me/time_entries").headers["X-Toggl-Quota-Remaining"] == "8"


def test_quota_402_with_headers_then_recovers_after_the_hour(
    api: httpx.Client, sim: Simulator, wid: int
) -> None:
    sim.knobs.quota_per_hour = 3
    remaining, resets = [], []
    for _ in range(3):
        response = api.get("/me/time_entries")
        assert response.status_code == 200
        remaining.append(response.headers["X-Toggl-Quota-Remaining"])
        resets.append(response.headers["X-Toggl-Quota-Resets-In"])  # until the oldest request leaves the hour
        sim.clock.advance(100)
    assert remaining == ["2", "1", "0"]
    assert resets == ["3600", "3500", "3400"]
    exhausted = api.post(f"/workspaces/{wid}/time_entries", json={"created_with": "t"})
    assert exhausted.status_code == 402
    assert exhausted.headers["X-Toggl-Quota-Remaining"] == "0"
    assert exhausted.headers["X-Toggl-Quota-Resets-In"] == str(3600 - 300)
    sim.clock.advance(3600 - 300)
    recovered = api.get("/me/time_entries")
    assert recovered.status_code == 200
    assert recovered.headers["X-Toggl-Quota-Remaining"] == "0"


def test_quota_headers_are_on_error_answers_too(api: httpx.Client, sim: Simulator, wid: int) -> None:
    sim.knobs.quota_per_hour = 5
    bad = api.post(f"/workspaces/{wid}/time_entries", json={"created_with": "t"})
    assert bad.status_code == 400
    assert bad.headers["X-Toggl-Quota-Remaining"] == "4"
    sim.knobs.quota_per_hour = None
    assert "X-Toggl-Quota-Remaining" not in api.get("/me").headers


def test_me_quota_is_separate(api: httpx.Client, sim: Simulator) -> None:
    sim.knobs.me_quota_per_hour = 2
    assert [api.get("/me").status_code for _ in range(2)] == [200, 200]
    assert api.get("/me/workspaces").status_code == 402
    assert api.get("/me/time_entries").status_code == 200  # not a /me quota endpoint


def test_injected_errors_change_no_state(api: httpx.Client, sim: Simulator, wid: int) -> None:
    sim.knobs.error_rate = 1.0
    statuses = set()
    for _ in range(20):
        response = api.post(
            f"/workspaces/{wid}/time_entries",
            json={"created_with": "t", "workspace_id": wid, "start": iso(START), "duration": -1},
        )
        statuses.add(response.status_code)
        assert response.headers["content-type"].startswith("text/plain")
    assert statuses <= {500, 502, 503}
    assert sim.state.entries == {}
    sim.knobs.error_rate = 0.0
    create_entry(api, wid, START)
    assert len(sim.state.entries) == 1


def test_injected_errors_follow_the_seed(api: httpx.Client, sim: Simulator) -> None:
    def run() -> list[int]:
        sim.reset()
        return [api.get("/me").status_code for _ in range(30)]

    sim.knobs.error_rate = 0.5
    sim.knobs.seed = 7
    first = run()
    assert first == run()
    assert {200} < set(first)


def test_latency_knob_still_answers(api: httpx.Client, sim: Simulator) -> None:
    sim.knobs.latency_ms = 5
    sim.knobs.latency_jitter_ms = 5
    assert api.get("/me").status_code == 200


def test_stats_count_by_route_credential_and_status(
    api: httpx.Client, sim: Simulator, wid: int, url: str
) -> None:
    api.get("/me")
    api.get("/me/time_entries/5")
    api.get("/nope")
    httpx.get(url + "/api/v9/me")
    user_id = sim.user_for(api_key="test-gateway-key", connection="conn_test").id
    assert sim.stats.total == 4
    assert sim.stats.count("GET", "/me") == 2
    assert sim.stats.count("GET", "/me/time_entries/{id}") == 1
    assert sim.stats.by_credential[user_id] == 2
    assert sim.stats.by_status[404] == 2
    assert sim.stats.by_status[403] == 1
    sim.stats.reset()
    assert sim.stats.total == 0


def test_admin_routes(api: httpx.Client, sim: Simulator, wid: int, url: str) -> None:
    entry = create_entry(api, wid, START)
    admin = httpx.Client(base_url=url + "/_sim", timeout=10)
    stats = admin.get("/stats").json()
    assert stats["total"] == 1
    assert stats["by_route"] == {"POST /workspaces/{wid}/time_entries": 1}
    assert admin.post("/stats/reset").json()["total"] == 0

    state = admin.get("/state").json()
    assert [e["id"] for e in state["time_entries"]] == [entry["id"]]
    assert state["time_entries"][0]["created_with"] == "tests"
    assert [w["id"] for w in state["workspaces"]] == [wid]
    assert "test-gateway-key" not in admin.get("/state").text

    knobs = admin.patch("/knobs", json={"autostop": False, "quota_per_hour": 50}).json()
    assert (knobs["autostop"], knobs["quota_per_hour"]) == (False, 50)
    assert sim.knobs.autostop is False
    assert admin.patch("/knobs", json={"autostop": "no"}).status_code == 400
    assert admin.patch("/knobs", json={"nonsense": 1}).status_code == 400
    assert admin.get("/knobs").json()["quota_per_hour"] == 50

    before = sim.clock.time()
    moved = admin.post("/clock/advance", json={"seconds": 90}).json()
    assert moved["time"] == before + 90
    assert admin.post("/clock/advance", json={}).status_code == 400

    assert admin.post("/reset").json() == {"ok": True}
    assert sim.state.entries == {}
    assert admin.get("/state").json()["time_entries"] == []
    assert admin.get("/unknown").status_code == 404
    admin.close()
