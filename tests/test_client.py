"""TogglClient against the simulator over real HTTP: every method, both ways in, every error class."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from togglbridge.store.redis_server import free_port
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitedError,
    UpstreamError,
)
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.transport import RequestRecord

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def base_url(sim_url: str) -> str:
    return sim_url


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


ClientFactory = Callable[..., TogglClient]


@pytest.fixture(params=["gateway", "direct"])
def make_client(request: pytest.FixtureRequest, base_url: str) -> Iterator[ClientFactory]:
    """Builds clients with a fresh credential each, so every test starts with an empty account."""
    made: list[TogglClient] = []

    def build(**options: object) -> TogglClient:
        secret = SecretStr(f"secret-{uuid.uuid4().hex}")
        if request.param == "gateway":
            client = TogglClient.via_gateway(f"{base_url}/toggl-track", secret, "conn-1", **options)
        else:
            client = TogglClient.direct(base_url, secret, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> TogglClient:
    return make_client()


@pytest.fixture
def wid(client: TogglClient) -> int:
    workspace_id = client.me().default_workspace_id
    assert workspace_id is not None
    return workspace_id


def test_me_workspaces_and_users(client: TogglClient) -> None:
    me = client.me()
    assert me.default_workspace_id is not None
    workspaces = client.workspaces()
    assert [w.id for w in workspaces] == [me.default_workspace_id]
    assert client.workspace(me.default_workspace_id).id == me.default_workspace_id
    users = client.workspace_users(me.default_workspace_id)
    assert any(u.email == me.email for u in users)


def test_the_same_credential_is_the_same_account(base_url: str) -> None:
    key = SecretStr("stable-key")
    with (
        TogglClient.via_gateway(f"{base_url}/toggl-track", key, "conn-x") as first,
        TogglClient.via_gateway(f"{base_url}/toggl-track", key, "conn-x") as second,
        TogglClient.via_gateway(f"{base_url}/toggl-track", key, "conn-y") as other_connection,
    ):
        assert first.me().id == second.me().id
        assert other_connection.me().id != first.me().id


def test_running_entry_lifecycle(client: TogglClient, wid: int, sim: Simulator) -> None:
    assert client.current_time_entry() is None
    started = client.create_time_entry(
        wid, start=sim.clock.now(), description="Write report", tags=["writing"]
    )
    assert started.is_running
    assert started.duration == -int(started.start.timestamp())
    assert started.tags == ["writing"]
    current = client.current_time_entry()
    assert current is not None and current.id == started.id

    stopped = client.stop_time_entry(wid, started.id)
    assert stopped is not None and not stopped.is_running and stopped.stop is not None
    assert stopped.duration >= 0
    assert client.current_time_entry() is None

    with pytest.raises(ConflictError) as again:
        client.stop_time_entry(wid, started.id)
    assert again.value.status == 409
    assert "already stopped" in again.value.message
    assert client.stop_time_entry(wid, started.id, already_stopped_ok=True) is None


def test_stop_computes_the_duration_on_the_simulated_clock(
    client: TogglClient, wid: int, sim: Simulator
) -> None:
    entry = client.create_time_entry(wid, start=sim.clock.now(), description="timed")
    sim.clock.advance(90 * 60)
    stopped = client.stop_time_entry(wid, entry.id)
    assert stopped is not None
    assert 90 * 60 <= stopped.duration <= 90 * 60 + 5


def test_finished_entry_and_lookups(client: TogglClient, wid: int) -> None:
    entry = client.create_time_entry(wid, start=T0, duration=1800, description="logged", billable=True)
    assert not entry.is_running
    assert entry.stop == T0 + timedelta(seconds=1800)
    assert client.time_entry(entry.id).description == "logged"
    by_stop = client.create_time_entry(wid, start=T0 + timedelta(hours=2), stop=T0 + timedelta(hours=3))
    assert by_stop.duration == 3600

    listed = client.time_entries(start_date=T0 - timedelta(hours=1), end_date=T0 + timedelta(hours=4))
    assert {e.id for e in listed} == {entry.id, by_stop.id}
    assert client.time_entries(start_date="2020-01-01", end_date="2020-01-02") == []


def test_update_replaces_and_tag_action_adds_or_deletes(client: TogglClient, wid: int) -> None:
    entry = client.create_time_entry(wid, start=T0, duration=60, description="before", tags=["a"])
    updated = client.update_time_entry(wid, entry.id, description="after")
    assert updated.description == "after" and updated.tags == ["a"]
    added = client.update_time_entry(wid, entry.id, tags=["b", "c"], tag_action="add")
    assert sorted(added.tags) == ["a", "b", "c"]
    removed = client.update_time_entry(wid, entry.id, tags=["a"], tag_action="delete")
    assert sorted(removed.tags) == ["b", "c"]
    replaced = client.update_time_entry(wid, entry.id, tags=["z"])
    assert replaced.tags == ["z"]
    assert {t.name for t in client.tags(wid)} >= {"a", "b", "c", "z"}  # named tags are created implicitly


def test_delete_then_not_found_and_listed_as_deleted_since(
    client: TogglClient, wid: int, sim: Simulator
) -> None:
    before = sim.clock.now() - timedelta(seconds=5)
    entry = client.create_time_entry(wid, start=T0, duration=60)
    client.delete_time_entry(wid, entry.id)
    with pytest.raises(NotFoundError):
        client.time_entry(entry.id)
    deleted = [e for e in client.time_entries(since=before) if e.id == entry.id]
    assert deleted and deleted[0].server_deleted_at is not None


def test_bulk_update_splits_over_100_ids_and_reports_partial_success(client: TogglClient, wid: int) -> None:
    ids = [client.create_time_entry(wid, start=T0 + timedelta(minutes=i), duration=30).id for i in range(101)]
    missing = 999_999_999
    result = client.bulk_update_time_entries(
        wid, [*ids, missing], [{"op": "replace", "path": "/description", "value": "bulk"}]
    )
    assert sorted(result.success) == sorted(ids)
    assert [f.id for f in result.failure] == [missing]
    assert client.time_entry(ids[-1]).description == "bulk"


def test_projects_paginate_and_iterate(client: TogglClient, wid: int) -> None:
    for i in range(205):
        client.create_project(wid, f"Project {i:03}")
    first = client.projects(wid, page=1, per_page=200)
    second = client.projects(wid, page=2, per_page=200)
    assert (len(first), len(second)) == (200, 5)
    assert len(list(client.iter_projects(wid, per_page=100))) == 205
    with pytest.raises(BadRequestError):
        client.projects(wid, per_page=201)


def test_project_crud(client: TogglClient, wid: int) -> None:
    project = client.create_project(wid, "Acme", color="#06aaf5", billable=True)
    assert client.project(wid, project.id).name == "Acme"
    assert client.update_project(wid, project.id, name="Acme Corp").name == "Acme Corp"
    archived = client.update_project(wid, project.id, active=False)
    assert archived.active is False
    assert project.id not in {p.id for p in client.projects(wid)}
    assert project.id in {p.id for p in client.projects(wid, active="both")}
    with pytest.raises(BadRequestError) as duplicate:
        client.create_project(wid, "Acme Corp")
    assert duplicate.value.message
    client.delete_project(wid, project.id)
    with pytest.raises(NotFoundError):
        client.project(wid, project.id)


def test_client_crud_archive_and_restore(client: TogglClient, wid: int) -> None:
    acme = client.create_client(wid, "Acme")
    assert client.client(wid, acme.id).name == "Acme"
    assert client.update_client(wid, acme.id, name="Acme Ltd").name == "Acme Ltd"
    client.archive_client(wid, acme.id)
    assert acme.id not in {c.id for c in client.clients(wid)}
    assert acme.id in {c.id for c in client.clients(wid, status="archived")}
    restored = client.restore_client(wid, acme.id, restore_all_projects=True)
    assert restored.archived is False
    assert acme.id in {c.id for c in client.clients(wid, status="both")}
    client.delete_client(wid, acme.id)
    with pytest.raises(NotFoundError):
        client.client(wid, acme.id)


def test_tag_crud_and_duplicate_is_a_bad_request(client: TogglClient, wid: int) -> None:
    tag = client.create_tag(wid, "deep-work")
    assert client.update_tag(wid, tag.id, "deep").name == "deep"
    with pytest.raises(BadRequestError) as duplicate:
        client.create_tag(wid, "deep")
    assert duplicate.value.message == "a tag with the name 'deep' already exists"
    client.delete_tag(wid, tag.id)
    assert tag.id not in {t.id for t in client.tags(wid)}


def test_a_bad_request_carries_tolls_plain_string(client: TogglClient, wid: int) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.request(
            "POST",
            f"/workspaces/{wid}/time_entries",
            json_body={"workspace_id": wid, "start": "2026-11-02T09:00:00Z", "duration": 60},
        )
    assert caught.value.status == 400
    assert "created_with" in caught.value.message
    assert not caught.value.message.startswith('"')  # the JSON quoting is removed


def test_a_workspace_mismatch_is_a_bad_request(client: TogglClient, wid: int) -> None:
    with pytest.raises(BadRequestError):
        client.request(
            "POST",
            f"/workspaces/{wid}/time_entries",
            json_body={
                "workspace_id": wid + 1,
                "start": "2026-11-02T09:00:00Z",
                "duration": 60,
                "created_with": "t",
            },
        )


def test_naive_timestamps_are_refused_before_sending(client: TogglClient, wid: int) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        client.create_time_entry(wid, start=datetime(2026, 11, 2, 9, 0))


def test_not_found(client: TogglClient, wid: int) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.time_entry(123456789)
    assert caught.value.status == 404


def test_a_refused_credential_is_an_authentication_error(base_url: str) -> None:
    with (
        TogglClient.direct(base_url, SecretStr("")) as anonymous,
        pytest.raises(AuthenticationError) as caught,
    ):
        anonymous.me()
    assert caught.value.status == 403


def test_rate_limited_with_retry_after(make_client: ClientFactory, sim: Simulator) -> None:
    client = make_client()
    sim.knobs.rate_limit = 1.0
    sim.knobs.bucket_capacity = 1
    with pytest.raises(RateLimitedError) as caught:
        for _ in range(5):
            client.workspaces()
    assert caught.value.retryable
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    sim.clock.advance(5)
    client.workspaces()  # the bucket has drained


def test_quota_headers_are_exposed_and_exhaustion_is_a_402(
    make_client: ClientFactory, sim: Simulator
) -> None:
    client = make_client()
    sim.knobs.quota_per_hour = 3
    client.workspaces()
    assert client.quota.remaining == 2
    assert client.quota.resets_in is not None and 0 < client.quota.resets_in <= 3600
    client.workspaces()
    client.workspaces()
    with pytest.raises(QuotaExhaustedError) as caught:
        client.workspaces()
    assert caught.value.status == 402
    assert caught.value.resets_in is not None and caught.value.resets_in > 0
    assert caught.value.retry_after == caught.value.resets_in
    assert client.quota.remaining == 0
    sim.clock.advance(3601)
    client.workspaces()


def test_server_errors_are_upstream_errors_and_change_nothing(
    make_client: ClientFactory, sim: Simulator
) -> None:
    client = make_client()
    wid = client.me().default_workspace_id
    assert wid is not None
    sim.knobs.error_rate = 1.0
    with pytest.raises(UpstreamError) as caught:
        client.create_time_entry(wid, start=T0, duration=60)
    assert caught.value.retryable and caught.value.status is not None and caught.value.status >= 500
    sim.knobs.error_rate = 0.0
    assert client.time_entries(start_date="2026-11-01", end_date="2026-11-03") == []


def test_a_timeout_is_an_upstream_error(make_client: ClientFactory, sim: Simulator) -> None:
    client = make_client(timeout=0.05)
    sim.knobs.latency_ms = 400
    with pytest.raises(UpstreamError, match="timed out"):
        client.workspaces()


def test_an_unreachable_server_is_an_upstream_error() -> None:
    with (
        TogglClient.direct(f"http://127.0.0.1:{free_port()}", SecretStr("t")) as client,
        pytest.raises(UpstreamError, match="connection failed"),
    ):
        client.me()


def test_both_forms_of_a_running_duration_are_read(make_client: ClientFactory, sim: Simulator) -> None:
    client = make_client()
    wid = client.me().default_workspace_id
    assert wid is not None
    for minus_one in (False, True):
        sim.knobs.running_duration_minus_one = minus_one
        client.create_time_entry(wid, start=sim.clock.now() - timedelta(minutes=10))
        current = client.current_time_entry()
        assert current is not None
        assert (current.duration == -1) is minus_one  # otherwise minus the start's unix time
        assert current.is_running
        assert 9 * 60 <= current.elapsed_seconds(sim.clock.now()) <= 11 * 60


@pytest.mark.parametrize("autostop", [True, False])
def test_a_new_running_entry_and_the_one_already_running(
    make_client: ClientFactory, sim: Simulator, autostop: bool
) -> None:
    client = make_client()
    wid = client.me().default_workspace_id
    assert wid is not None
    sim.knobs.autostop = autostop
    first = client.create_time_entry(wid, start=sim.clock.now(), description="first")
    sim.clock.advance(60)
    second = client.create_time_entry(wid, start=sim.clock.now(), description="second")
    current = client.current_time_entry()
    assert current is not None and current.id == second.id
    assert client.time_entry(first.id).is_running is (not autostop)


def test_requests_are_reported_without_secrets(base_url: str) -> None:
    records: list[RequestRecord] = []
    secret = SecretStr("do-not-leak-this")
    with TogglClient.via_gateway(f"{base_url}/toggl-track", secret, "c", on_request=records.append) as client:
        client.me()
        with pytest.raises(NotFoundError) as caught:
            client.time_entry(42)
        assert "do-not-leak-this" not in repr(client)
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/api/v9/me", 200),
        ("GET", "/api/v9/me/time_entries/42", 404),
    ]
    assert all(r.milliseconds >= 0 for r in records)
    assert "do-not-leak-this" not in str(caught.value) + repr(records)


def test_a_shared_http_pool_serves_several_credentials(base_url: str) -> None:
    with httpx.Client() as pool:
        alice = TogglClient.via_gateway(f"{base_url}/toggl-track", SecretStr("k"), "alice", http=pool)
        bob = TogglClient.via_gateway(f"{base_url}/toggl-track", SecretStr("k"), "bob", http=pool)
        assert alice.me().id != bob.me().id
        alice.close()  # does not close the shared pool
        assert bob.workspaces()


def test_models_parse_both_running_duration_forms_without_http() -> None:
    from togglbridge.toggl.models import TimeEntry

    today = TimeEntry.model_validate(
        {
            "id": 1,
            "workspace_id": 2,
            "start": "2024-04-21T10:35:28+00:00",
            "duration": -1713695728,
            "tags": None,
        }
    )
    documented = TimeEntry.model_validate(
        {"id": 1, "workspace_id": 2, "start": "2024-04-21T10:35:28Z", "duration": -1}
    )
    assert today.is_running and documented.is_running and today.tags == []
    assert today.start == documented.start == datetime(2024, 4, 21, 10, 35, 28, tzinfo=UTC)
    later = datetime(2024, 4, 21, 11, 35, 28, tzinfo=UTC)
    assert today.elapsed_seconds(later) == documented.elapsed_seconds(later) == 3600


def test_models_read_each_timestamp_form_toggl_writes() -> None:
    from togglbridge.toggl.models import TimeEntry

    entry = TimeEntry.model_validate(
        {
            "id": 1,
            "workspace_id": 2,
            "start": "2024-04-25T03:21:13Z",
            "stop": "2024-04-25T03:28:07+00:00",
            "duration": 414,
            "at": "2024-07-24T09:42:55.391879Z",
        }
    )
    assert entry.stop is not None and entry.at is not None
    assert (entry.stop - entry.start).total_seconds() == 414
    assert entry.at == datetime(2024, 7, 24, 9, 42, 55, 391879, tzinfo=UTC)
