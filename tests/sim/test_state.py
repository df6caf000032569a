"""The simulator's pure parts, without HTTP: identities, limits, clock, knobs, time parsing, routing, entries."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from togglbridge.cli.sim import sim_command
from togglbridge.toggl.sim import SimClock, SimKnobs, Simulator
from togglbridge.toggl.sim.entries import (
    EntryQuery,
    create_entry,
    current_entry,
    list_entries,
    parse_bulk_ids,
    stop_entry,
)
from togglbridge.toggl.sim.errors import Conflict, Invalid
from togglbridge.toggl.sim.identity import direct_credential, gateway_credential
from togglbridge.toggl.sim.limits import HourlyQuotas, LeakyBuckets
from togglbridge.toggl.sim.routing import Reply, Route, Router
from togglbridge.toggl.sim.state import SimState
from togglbridge.toggl.sim.timefmt import format_ts, parse_date_or_timestamp, parse_timestamp

T0 = int(datetime(2024, 3, 4, 9, 0, tzinfo=UTC).timestamp())


# -- identities ---------------------------------------------------------------------------------------------


def test_identities_are_deterministic_across_simulators() -> None:
    first, second = Simulator(), Simulator()
    # Seen in a different order, the same credentials still get the same ids.
    a1 = first.user_for(api_key="key-a", connection="conn_1")
    t1 = first.user_for(token="tok")
    t2 = second.user_for(token="tok")
    a2 = second.user_for(api_key="key-a", connection="conn_1")
    assert (a1.id, a1.default_workspace_id, a1.organization_id) == (
        a2.id,
        a2.default_workspace_id,
        a2.organization_id,
    )
    assert (t1.id, t1.default_workspace_id) == (t2.id, t2.default_workspace_id)
    assert first.user_for(api_key="key-a", connection="conn_2").id != a1.id
    assert first.user_for(token="key-a").id != a1.id


def test_only_a_digest_of_the_secret_is_kept() -> None:
    sim = Simulator()
    sim.user_for(api_key="very-secret-key", connection="conn_x")
    sim.user_for(token="very-secret-token")
    stored = repr(sim.state.dump()) + repr(vars(sim.state))
    assert "very-secret" not in stored
    assert "conn_x" in stored  # the connection id is not a secret and helps debugging


def test_credential_parsing() -> None:
    assert gateway_credential("Bearer k", None) == gateway_credential("bearer k", "default")
    assert gateway_credential("Token k", None) is None
    assert gateway_credential(None, "conn") is None
    assert direct_credential("Basic dG9rOmFwaV90b2tlbg==") is not None  # tok:api_token
    assert direct_credential("Basic dG9rOnB3") is None  # tok:pw
    assert direct_credential("Basic %%%") is None


# -- limits and clock ---------------------------------------------------------------------------------------


def test_leaky_bucket_drains_at_the_rate() -> None:
    buckets = LeakyBuckets()
    assert [buckets.take(1, 0.0, rate=1.0, capacity=2) for _ in range(3)] == [0, 0, 1]
    assert buckets.take(1, 0.5, rate=1.0, capacity=2) == 1
    assert buckets.take(1, 1.0, rate=1.0, capacity=2) == 0
    assert buckets.take(2, 1.0, rate=1.0, capacity=2) == 0
    assert buckets.take(3, 0.0, rate=0.1, capacity=1) == 0
    assert buckets.take(3, 0.0, rate=0.1, capacity=1) == 10


def test_hourly_quota_slides() -> None:
    quotas = HourlyQuotas()
    for t in (0.0, 10.0):
        assert quotas.peek(1, t, limit=2).allowed
        quotas.charge(1, t, limit=2)
    refused = quotas.peek(1, 20.0, limit=2)
    assert (refused.allowed, refused.remaining, refused.resets_in) == (False, 0, 3580)
    assert quotas.peek(1, 3600.0, limit=2).allowed
    assert quotas.charge(1, 3600.0, limit=2).remaining == 0


def test_clock_frozen_or_following() -> None:
    frozen = SimClock(datetime(2024, 1, 1, tzinfo=UTC))
    assert frozen.now() == datetime(2024, 1, 1, tzinfo=UTC)
    frozen.advance(61)
    assert frozen.now() == datetime(2024, 1, 1, 0, 1, 1, tzinfo=UTC)
    following = SimClock()
    assert abs(following.time() - time.time()) < 5
    following.advance(3600)
    assert following.time() - time.time() > 3500
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2024, 1, 1))


def test_knobs_update_validates_all_or_nothing() -> None:
    knobs = SimKnobs()
    knobs.update({"rate_limit": 2, "quota_per_hour": 30, "autostop": False})
    assert (knobs.rate_limit, knobs.quota_per_hour, knobs.autostop) == (2.0, 30, False)
    for bad in ({"error_rate": 2}, {"autostop": 1}, {"seed": 1.5}, {"wat": 1}, {"rate_limit": 0}):
        with pytest.raises(ValueError):
            knobs.update({"latency_ms": 50, **bad})
        assert knobs.latency_ms == 0
    knobs.update({"rate_limit": None})
    assert knobs.rate_limit is None


# -- time formats and routing -------------------------------------------------------------------------------


def test_timestamps() -> None:
    assert parse_timestamp("2024-03-04T09:00:00Z", "start") == T0
    assert parse_timestamp("2024-03-04T10:00:00.900+01:00", "start") == T0
    assert parse_date_or_timestamp("2024-03-04", "start_date") == T0 - 9 * 3600
    assert format_ts(T0) == "2024-03-04T09:00:00+00:00"
    for bad in ("2024-03-04T09:00:00", "2024-03-04", "soon", 1709542800, "2024-13-04T09:00:00Z"):
        with pytest.raises(Invalid):
            parse_timestamp(bad, "start")


def test_router_prefers_literals_and_needs_numeric_ids() -> None:
    def handler(ctx: object) -> Reply:
        return Reply()

    router = Router(
        [
            Route("GET", "/me/time_entries/{id}", handler),
            Route("GET", "/me/time_entries/current", handler),
            Route("PATCH", "/workspaces/{wid}/time_entries/{ids}", handler),
        ]
    )
    matched = router.match("GET", "/me/time_entries/current")
    assert matched is not None and matched[0].template == "/me/time_entries/current"
    matched = router.match("GET", "/me/time_entries/42/")
    assert matched is not None and matched[1] == {"id": 42}
    assert router.match("GET", "/me/time_entries/4x2") is None
    assert router.match("POST", "/me/time_entries/42") is None
    matched = router.match("PATCH", "/workspaces/1/time_entries/1,2")
    assert matched is not None and matched[1] == {"wid": 1, "ids": "1,2"}


# -- entries on the bare state ------------------------------------------------------------------------------


def _world() -> tuple[SimState, int]:
    state = SimState()
    credential = direct_credential("Basic dG9rOmFwaV90b2tlbg==")
    assert credential is not None
    user = state.user_for(credential, T0)
    return state, user.id


def test_entry_lifecycle_on_the_state() -> None:
    state, user_id = _world()
    user = state.users[user_id]
    ws = state.workspaces[user.default_workspace_id]
    body = {"created_with": "t", "start": "2024-03-04T09:00:00Z", "duration": -1}
    entry = create_entry(state, ws, user, body, T0, autostop=True)
    assert current_entry(state, user) is entry
    stop_entry(state, entry, T0 + 42)
    assert (entry.stop, entry.duration) == (T0 + 42, 42)
    with pytest.raises(Conflict, match="Time entry already stopped"):
        stop_entry(state, entry, T0 + 50)
    assert current_entry(state, user) is None
    assert list_entries(state, user, EntryQuery()) == [entry]
    assert list_entries(state, user, EntryQuery(since=T0 + 43)) == []


def test_listing_caps_at_1000() -> None:
    state, user_id = _world()
    user = state.users[user_id]
    ws = state.workspaces[user.default_workspace_id]
    for i in range(1005):
        start = datetime.fromtimestamp(T0 + i * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        create_entry(
            state, ws, user, {"created_with": "t", "start": start, "duration": 30}, T0, autostop=True
        )
    listed = list_entries(state, user, EntryQuery())
    assert len(listed) == 1000
    assert listed[0].start == T0 + 1004 * 60


def test_bulk_ids() -> None:
    assert parse_bulk_ids("3,1,3") == [3, 1]
    assert len(parse_bulk_ids(",".join(map(str, range(100))))) == 100
    with pytest.raises(Invalid, match="limited to 100"):
        parse_bulk_ids(",".join(map(str, range(101))))
    with pytest.raises(Invalid):
        parse_bulk_ids("1,,2")


def test_cli_offers_every_knob() -> None:
    result = CliRunner().invoke(sim_command, ["--help"])
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--rate-limit",
        "--bucket-capacity",
        "--quota-per-hour",
        "--error-rate",
        "--latency-ms",
        "--autostop / --no-autostop",
        "--seed",
    ):
        assert option in result.output
