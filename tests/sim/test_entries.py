"""The simulator's identity, auth and time-entry behaviour, over real HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.sim.support import (
    CONNECTION,
    GATEWAY,
    START,
    create_entry,
    direct_client,
    gateway_client,
    iso,
)
from togglbridge.toggl.sim import Simulator

# -- identity and auth --------------------------------------------------------------------------------------


def test_both_path_shapes_answer_me_with_toggl_fields(url: str) -> None:
    with gateway_client(url) as gateway, direct_client(url) as direct:
        via_gateway = gateway.get("/me")
        via_direct = direct.get("/me")
    assert via_gateway.status_code == via_direct.status_code == 200
    me = via_gateway.json()
    for field in ("id", "email", "fullname", "default_workspace_id", "timezone", "beginning_of_week"):
        assert field in me
    # A gateway key and a Toggl token are different credentials, hence different users.
    assert me["id"] != via_direct.json()["id"]


def test_missing_connection_means_default_connection(url: str) -> None:
    ids = []
    for connection in (None, "default", CONNECTION):
        with gateway_client(url, connection=connection) as client:
            ids.append(client.get("/me").json()["id"])
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize(
    ("prefix", "headers"),
    [
        (GATEWAY, {}),
        (GATEWAY, {"Authorization": "Bearer"}),
        (GATEWAY, {"Authorization": "Bearer two words"}),
        (GATEWAY, {"Authorization": "Basic " + base64.b64encode(b"tok:api_token").decode()}),
        ("/api/v9", {}),
        ("/api/v9", {"Authorization": "Basic not-base64!"}),
        ("/api/v9", {"Authorization": "Basic " + base64.b64encode(b"tok:secret").decode()}),
        ("/api/v9", {"Authorization": "Bearer key"}),
    ],
)
def test_missing_or_garbled_credentials_are_403_with_a_string(
    url: str, prefix: str, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{url}{prefix}/me", headers=headers)
    assert response.status_code == 403
    assert isinstance(response.json(), str)


def test_another_users_workspace_is_403(url: str, api: httpx.Client) -> None:
    with direct_client(url) as other:
        other_wid = other.get("/me").json()["default_workspace_id"]
    for path in (
        f"/workspaces/{other_wid}",
        f"/workspaces/{other_wid}/projects",
        "/workspaces/1/time_entries",
    ):
        response = api.get(path) if not path.endswith("time_entries") else api.post(path, json={})
        assert response.status_code == 403, path
        assert isinstance(response.json(), str)


def test_workspace_endpoints(api: httpx.Client, wid: int, sim: Simulator) -> None:
    workspaces = api.get("/me/workspaces").json()
    assert [w["id"] for w in workspaces] == [wid]
    assert workspaces[0]["organization_id"] > 0
    assert api.get(f"/workspaces/{wid}").json()["id"] == wid
    users = api.get(f"/workspaces/{wid}/users").json()
    assert [u["id"] for u in users] == [sim.user_for(api_key="test-gateway-key", connection=CONNECTION).id]


def test_unknown_route_is_404_string(api: httpx.Client, url: str) -> None:
    for response in (
        api.get("/nothing/here"),
        httpx.get(url + "/elsewhere"),
        api.get("/me/time_entries/abc"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert isinstance(response.json(), str)


# -- create validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"created_with": None},
        {"workspace_id": 1},
        {"start": None},
        {"start": "yesterday"},
        {"start": "2024-03-04T09:00:00"},  # no time zone
        {"duration": 60, "stop": "2024-03-04T09:05:00Z"},  # 300 s between start and stop
        {"duration": -1, "stop": "2024-03-04T09:05:00Z"},
        {"duration": None},  # neither duration nor stop
        {"tag_ids": [12345]},  # not a tag of the workspace
        {"project_id": 12345},
    ],
)
def test_create_rejects_with_400_string(
    api: httpx.Client, wid: int, sim: Simulator, change: dict[str, Any]
) -> None:
    body: dict[str, Any] = {"created_with": "tests", "workspace_id": wid, "start": iso(START), "duration": -1}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post(f"/workspaces/{wid}/time_entries", json=body)
    assert response.status_code == 400, response.text
    assert isinstance(response.json(), str)
    assert sim.state.entries == {}


def test_malformed_json_is_400_string(api: httpx.Client, wid: int) -> None:
    response = api.post(
        f"/workspaces/{wid}/time_entries", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert isinstance(response.json(), str)


def test_create_honours_fields_and_stop_duration_agreement(api: httpx.Client, wid: int) -> None:
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Alpha"}).json()
    entry = create_entry(
        api,
        wid,
        START,
        duration=1800,
        description="Planning",
        project_id=project["id"],
        billable=True,
        task_id=7,
    )
    assert entry["stop"] == "2024-03-04T09:30:00Z"
    assert (entry["duration"], entry["description"], entry["billable"]) == (1800, "Planning", True)
    assert (entry["project_id"], entry["task_id"], entry["workspace_id"]) == (project["id"], 7, wid)
    agreeing = create_entry(api, wid, START, duration=300, stop="2024-03-04T09:05:00Z")
    assert agreeing["duration"] == 300
    from_stop = create_entry(api, wid, START, duration=None, stop="2024-03-04T09:10:00Z")
    assert from_stop["duration"] == 600


# -- running, current, stop ---------------------------------------------------------------------------------


def test_current_is_null_then_the_running_entry(api: httpx.Client, wid: int) -> None:
    empty = api.get("/me/time_entries/current")
    assert (empty.status_code, empty.text) == (200, "null")
    entry = create_entry(api, wid, START, description="Deep work")
    assert (entry["duration"], entry["stop"]) == (-int(START.timestamp()), None)
    current = api.get("/me/time_entries/current").json()
    assert current["id"] == entry["id"]


def test_stop_uses_the_sim_clock_and_a_second_stop_is_409(
    api: httpx.Client, wid: int, sim: Simulator
) -> None:
    started = sim.clock.now().replace(microsecond=0)
    entry = create_entry(api, wid, started)
    sim.clock.advance(125.7)
    stopped = api.patch(f"/workspaces/{wid}/time_entries/{entry['id']}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["duration"] == 125
    assert stopped.json()["stop"] == iso(started + timedelta(seconds=125))
    again = api.patch(f"/workspaces/{wid}/time_entries/{entry['id']}/stop")
    assert again.status_code == 409
    assert again.text == '"Time entry already stopped"'
    assert api.get("/me/time_entries/current").json() is None
    assert api.patch(f"/workspaces/{wid}/time_entries/999/stop").status_code == 404


def test_running_duration_is_minus_the_start_by_default(api: httpx.Client, wid: int) -> None:
    entry = create_entry(api, wid, START)
    assert entry["duration"] == -int(START.timestamp())
    assert api.get("/me/time_entries/current").json()["duration"] == -int(START.timestamp())


def test_the_minus_one_knob_gives_the_old_form(api: httpx.Client, wid: int, sim: Simulator) -> None:
    sim.knobs.running_duration_minus_one = True
    entry = create_entry(api, wid, START)
    assert entry["duration"] == -1
    assert api.get("/me/time_entries/current").json()["duration"] == -1


def test_autostop_stops_the_running_entry_at_the_new_start(api: httpx.Client, wid: int) -> None:
    first = create_entry(api, wid, START)
    second = create_entry(api, wid, START + timedelta(minutes=20))
    old = api.get(f"/me/time_entries/{first['id']}").json()
    assert old["stop"] == "2024-03-04T09:20:00+00:00"
    assert old["duration"] == 1200
    assert api.get("/me/time_entries/current").json()["id"] == second["id"]


def test_without_autostop_two_run_and_current_is_the_latest(
    api: httpx.Client, wid: int, sim: Simulator
) -> None:
    sim.knobs.autostop = False
    first = create_entry(api, wid, START + timedelta(minutes=30))
    create_entry(api, wid, START)
    assert api.get(f"/me/time_entries/{first['id']}").json()["stop"] is None
    assert len(sim.state.running[sim.user_for(api_key="test-gateway-key", connection=CONNECTION).id]) == 2
    assert api.get("/me/time_entries/current").json()["id"] == first["id"]


# -- update, tags, delete -----------------------------------------------------------------------------------


def test_put_is_partial_and_recomputes_duration(api: httpx.Client, wid: int) -> None:
    entry = create_entry(api, wid, START, duration=600, description="a", tags=["x"])
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    updated = api.put(path, json={"description": "b"}).json()
    assert (updated["description"], updated["duration"], updated["tags"]) == ("b", 600, ["x"])
    updated = api.put(path, json={"stop": "2024-03-04T10:00:00Z"}).json()
    assert updated["duration"] == 3600
    updated = api.put(path, json={"duration": 60}).json()
    assert updated["stop"] == "2024-03-04T09:01:00Z"
    clash = api.put(path, json={"stop": "2024-03-04T10:00:00Z", "duration": 5})
    assert clash.status_code == 400
    assert api.get(f"/me/time_entries/{entry['id']}").json()["duration"] == 60  # the 400 changed nothing
    assert api.put(f"/workspaces/{wid}/time_entries/42", json={"description": "z"}).status_code == 404


def test_tags_are_created_implicitly_and_tag_action_adds_or_deletes(api: httpx.Client, wid: int) -> None:
    entry = create_entry(api, wid, START, tags=["meeting", "client"])
    assert entry["tags"] == ["meeting", "client"]
    tags = {t["name"]: t["id"] for t in api.get(f"/workspaces/{wid}/tags").json()}
    assert set(tags) == {"meeting", "client"}
    assert entry["tag_ids"] == [tags["meeting"], tags["client"]]
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    added = api.put(path, json={"tags": ["code"], "tag_action": "add"}).json()
    assert added["tags"] == ["meeting", "client", "code"]
    removed = api.put(
        path, json={"tags": ["meeting"], "tag_ids": [tags["client"]], "tag_action": "delete"}
    ).json()
    assert removed["tags"] == ["code"]
    replaced = api.put(path, json={"tag_ids": [tags["meeting"]]}).json()
    assert replaced["tags"] == ["meeting"]
    assert api.put(path, json={"tags": ["a"], "tag_action": "toggle"}).status_code == 400


def test_delete_then_404_and_since_shows_it_deleted(api: httpx.Client, wid: int, sim: Simulator) -> None:
    since = int(sim.clock.time())
    entry = create_entry(api, wid, START, duration=60)
    deleted = api.delete(f"/workspaces/{wid}/time_entries/{entry['id']}")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert api.get(f"/me/time_entries/{entry['id']}").status_code == 404
    assert api.delete(f"/workspaces/{wid}/time_entries/{entry['id']}").status_code == 404
    assert api.get("/me/time_entries").json() == []
    listed = api.get("/me/time_entries", params={"since": since}).json()
    assert [e["id"] for e in listed] == [entry["id"]]
    assert listed[0]["server_deleted_at"] is not None


def test_listing_filters_order_and_meta(api: httpx.Client, wid: int, sim: Simulator) -> None:
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Beta", "color": "#112233"}).json()
    day1 = create_entry(api, wid, START, duration=60, project_id=project["id"])
    day2 = create_entry(api, wid, START + timedelta(days=1), duration=60)
    day3 = create_entry(api, wid, START + timedelta(days=2), duration=60)
    everything = api.get("/me/time_entries").json()
    assert [e["id"] for e in everything] == [day3["id"], day2["id"], day1["id"]]
    window = api.get("/me/time_entries", params={"start_date": "2024-03-05", "end_date": "2024-03-06"}).json()
    assert [e["id"] for e in window] == [day2["id"]]
    rfc = api.get(
        "/me/time_entries", params={"start_date": "2024-03-04T00:00:00Z", "end_date": "2024-03-05T09:00:01Z"}
    ).json()
    assert [e["id"] for e in rfc] == [day2["id"], day1["id"]]
    before = api.get("/me/time_entries", params={"before": "2024-03-05"}).json()
    assert [e["id"] for e in before] == [day1["id"]]
    with_meta = api.get("/me/time_entries", params={"before": "2024-03-05", "meta": "true"}).json()
    assert with_meta[0]["project_name"] == "Beta"
    assert with_meta[0]["project_color"] == "#112233"
    assert api.get("/me/time_entries", params={"start_date": "2024-03-05"}).status_code == 400
    assert api.get("/me/time_entries", params={"since": "soon"}).status_code == 400
    sim.clock.advance(10)
    changed = api.put(f"/workspaces/{wid}/time_entries/{day1['id']}", json={"description": "later"})
    assert changed.status_code == 200
    recent = api.get("/me/time_entries", params={"since": int(sim.clock.time())}).json()
    assert [e["id"] for e in recent] == [day1["id"]]


# -- bulk patch ---------------------------------------------------------------------------------------------


def test_bulk_patch_partial_success(api: httpx.Client, wid: int) -> None:
    one = create_entry(api, wid, START, duration=60, tags=["keep"])
    two = create_entry(api, wid, START + timedelta(hours=1), duration=60)
    ops = [
        {"op": "replace", "path": "/description", "value": "bulk"},
        {"op": "add", "path": "/tags", "value": ["new"]},
        {"op": "replace", "path": "/billable", "value": True},
    ]
    result = api.patch(f"/workspaces/{wid}/time_entries/{one['id']},{two['id']},123", json=ops).json()
    assert result["success"] == [one["id"], two["id"]]
    assert result["failure"] == [{"id": 123, "message": "Time entry not found"}]
    first = api.get(f"/me/time_entries/{one['id']}").json()
    assert (first["description"], first["tags"], first["billable"]) == ("bulk", ["keep", "new"], True)
    removed = api.patch(
        f"/workspaces/{wid}/time_entries/{one['id']}",
        json=[{"op": "remove", "path": "/tags", "value": ["keep"]}],
    )
    assert removed.json()["success"] == [one["id"]]
    assert api.get(f"/me/time_entries/{one['id']}").json()["tags"] == ["new"]


def test_bulk_patch_fails_per_entry_without_touching_it(api: httpx.Client, wid: int) -> None:
    entry = create_entry(api, wid, START, duration=60, description="before")
    ops = [
        {"op": "replace", "path": "/description", "value": "after"},
        {"op": "replace", "path": "/stop", "value": "2024-03-04T08:00:00Z"},  # before start: invalid
    ]
    result = api.patch(f"/workspaces/{wid}/time_entries/{entry['id']}", json=ops).json()
    assert result["success"] == []
    assert result["failure"][0]["id"] == entry["id"]
    assert api.get(f"/me/time_entries/{entry['id']}").json()["description"] == "before"


@pytest.mark.parametrize(
    ("ids", "ops"),
    [
        (",".join(str(i) for i in range(1, 102)), [{"op": "replace", "path": "/description", "value": "x"}]),
        ("1,abc", [{"op": "replace", "path": "/description", "value": "x"}]),
        ("1", [{"op": "move", "path": "/description", "value": "x"}]),
        ("1", [{"op": "replace", "path": "/user_id", "value": 5}]),
        ("1", []),
        ("1", {"op": "replace"}),
    ],
)
def test_bulk_patch_bad_requests_are_400(api: httpx.Client, wid: int, ids: str, ops: Any) -> None:
    response = api.patch(f"/workspaces/{wid}/time_entries/{ids}", json=ops)
    assert response.status_code == 400
    assert isinstance(response.json(), str)


def test_bulk_patch_accepts_exactly_100_ids(api: httpx.Client, wid: int) -> None:
    ids = ",".join(str(i) for i in range(1, 101))
    result = api.patch(
        f"/workspaces/{wid}/time_entries/{ids}", json=[{"op": "remove", "path": "/description"}]
    )
    assert result.status_code == 200
    assert len(result.json()["failure"]) == 100
