"""The simulator's knobs over real HTTP: 429 bucket, injected 429s, 402 quota, injected 5xx, latency, and the
admin routes.

The clock is frozen and moved by hand, so nothing here sleeps and nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.sim.support import (
    START,
    create_entry,
    gateway_client,
    iso,
)
from togglbridge.cli import sim as sim_cli
from togglbridge.toggl.sim import SimClock, SimKnobs, Simulator


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


def test_injected_429s_ask_for_a_second_and_change_and_charge_nothing(
    api: httpx.Client, sim: Simulator, wid: int
) -> None:
    sim.knobs.throttle_rate = 1.0
    sim.knobs.quota_per_hour = 10
    for _ in range(5):
        refused = api.post(
            f"/workspaces/{wid}/time_entries",
            json={"created_with": "t", "workspace_id": wid, "start": iso(START), "duration": -1},
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["content-type"].startswith("text/plain")
        assert "X-Toggl-Quota-Remaining" not in refused.headers
    assert sim.state.entries == {}
    sim.knobs.throttle_rate = 0.0
    create_entry(api, wid, START)
    assert len(sim.state.entries) == 1
    assert api.get("/me/time_entries").headers["X-Toggl-Quota-Remaining"] == "8"  # the 429s were free


def test_injected_429s_come_after_the_bucket_and_before_the_quota(api: httpx.Client, sim: Simulator) -> None:
    sim.knobs.quota_per_hour = 1
    assert api.get("/me/time_entries").status_code == 200
    assert api.get("/me/time_entries").status_code == 402
    sim.knobs.throttle_rate = 1.0
    assert api.get("/me/time_entries").status_code == 429  # before the quota: a spent quota is not seen
    sim.knobs.quota_per_hour = None
    sim.knobs.rate_limit = 0.5
    sim.knobs.bucket_capacity = 1
    sim.clock.advance(10)
    assert api.get("/me").headers["Retry-After"] == "1"  # the bucket let it in; the injection refused it
    assert api.get("/me").headers["Retry-After"] == "2"  # the bucket, full, answers first


def test_injected_429s_follow_the_seed_at_about_their_rate(api: httpx.Client, sim: Simulator) -> None:
    def run() -> list[int]:
        sim.reset()
        return [api.get("/me").status_code for _ in range(200)]

    sim.knobs.throttle_rate = 0.25
    sim.knobs.seed = 3
    first = run()
    assert first == run()
    assert set(first) == {200, 429}
    assert 25 <= first.count(429) <= 75


def test_throttling_leaves_the_injected_errors_of_a_seed_alone(api: httpx.Client, sim: Simulator) -> None:
    def errors() -> list[int]:
        sim.reset()
        statuses = [api.get("/me").status_code for _ in range(60)]
        return [status for status in statuses if status != 429]

    sim.knobs.error_rate = 0.3
    sim.knobs.seed = 11
    without = errors()
    sim.knobs.throttle_rate = 0.2
    with_throttling = errors()
    assert len(with_throttling) < len(without)
    assert with_throttling == without[: len(with_throttling)]  # the same 5xx draws, in the same order


def test_throttle_rate_is_a_fraction(sim: Simulator, url: str) -> None:
    with pytest.raises(ValueError, match="throttle_rate is a fraction"):
        sim.knobs.update({"throttle_rate": 1.5})
    with httpx.Client(base_url=url + "/_sim", timeout=10) as admin:
        assert admin.patch("/knobs", json={"throttle_rate": -0.1}).status_code == 400
        assert admin.patch("/knobs", json={"throttle_rate": 0.05}).json()["throttle_rate"] == 0.05
    assert sim.knobs.throttle_rate == 0.05


def test_the_sim_command_takes_a_throttle_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[SimKnobs] = []

    class Recorded(Simulator):
        def __init__(
            self, knobs: SimKnobs | None = None, clock: SimClock | None = None, state_file: Path | None = None
        ) -> None:
            super().__init__(knobs, clock, state_file)
            started.append(self.knobs)

    monkeypatch.setattr(sim_cli, "Simulator", Recorded)
    monkeypatch.setattr("togglbridge.cli.sim.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(sim_cli.sim_command, ["--throttle-rate", "0.05", "--error-rate", "0.1"])
    assert result.exit_code == 0, result.output
    assert (started[0].throttle_rate, started[0].error_rate) == (0.05, 0.1)
    refused = CliRunner().invoke(sim_cli.sim_command, ["--throttle-rate", "2"])
    assert refused.exit_code == 2 and "--throttle-rate" in refused.output


def test_a_caller_that_hangs_up_mid_request_changes_nothing(sim: Simulator, wid: int) -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def hang_up() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/toggl-track/api/v9/workspaces/{wid}/time_entries",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer test-gateway-key"), (b"maton-connection", b"conn_test")],
    }
    asyncio.run(sim.app(scope, hang_up, send))  # no exception escapes to the server
    assert sent[0]["status"] == 499
    assert sim.state.entries == {}
    assert sim.stats.total == 0


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
