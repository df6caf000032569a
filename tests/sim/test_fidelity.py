"""The simulator answers in the shapes Toggl v9's recorded answers show: fields, timestamp forms, nulls, errors.

The field lists below are the keys of answers recorded from the real Toggl (GET /me, GET a workspace, GET a project,
GET a time entry with meta=true): every one of them must be in the simulator's answer too.
"""

from __future__ import annotations

import re

import httpx

from tests.sim.support import START, create_entry
from togglbridge.toggl.sim import Simulator

RECORDED_ME_KEYS = {
    "api_token", "at", "authorization_updated_at", "beginning_of_week", "country_id", "created_at",
    "default_workspace_id", "email", "fullname", "has_password", "id", "image_url", "intercom_hash",
    "openid_email", "openid_enabled", "timezone", "toggl_accounts_id", "updated_at",
}  # fmt: skip
RECORDED_WORKSPACE_KEYS = {
    "admin", "api_token", "at", "business_ws", "csv_upload", "default_currency", "default_hourly_rate",
    "hide_start_end_times", "ical_enabled", "ical_url", "id", "last_modified", "logo_url", "name",
    "only_admins_may_create_projects", "only_admins_may_create_tags", "only_admins_see_team_dashboard",
    "organization_id", "premium", "profile", "projects_billable_by_default", "projects_enforce_billable",
    "projects_private_by_default", "rate_last_updated", "reports_collapse", "role", "rounding", "rounding_minutes",
    "server_deleted_at", "subscription", "suspended_at", "working_hours_in_minutes",
}  # fmt: skip
RECORDED_PROJECT_KEYS = {
    "active", "actual_hours", "actual_seconds", "at", "auto_estimates", "billable", "can_track_time", "cid",
    "client_id", "color", "created_at", "currency", "estimated_hours", "estimated_seconds", "fixed_fee", "id",
    "is_private", "is_shared", "name", "rate", "rate_last_updated", "recurring", "recurring_parameters",
    "server_deleted_at", "start_date", "status", "template", "template_id", "wid", "workspace_id",
}  # fmt: skip
RECORDED_META_ENTRY_KEYS = {
    "at", "billable", "description", "duration", "duronly", "id", "project_id", "server_deleted_at", "start",
    "stop", "tag_ids", "tags", "task_id", "user_avatar_url", "user_id", "user_name", "workspace_id",
}  # fmt: skip

MICROSECONDS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
SECONDS_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")


# -- fields and timestamp forms -----------------------------------------------------------------------------


def test_me_has_the_recorded_fields_and_microsecond_timestamps(api: httpx.Client) -> None:
    me = api.get("/me").json()
    assert RECORDED_ME_KEYS - me.keys() == set()
    assert me["openid_email"] is None
    assert all(isinstance(me[k], str) and me[k] for k in ("api_token", "toggl_accounts_id", "intercom_hash"))
    for key in ("at", "created_at", "updated_at", "authorization_updated_at"):
        assert MICROSECONDS_Z.match(me[key]), (key, me[key])


def test_workspace_and_project_have_the_recorded_fields(api: httpx.Client, wid: int) -> None:
    workspace = api.get(f"/workspaces/{wid}").json()
    assert RECORDED_WORKSPACE_KEYS - workspace.keys() == set()
    assert workspace["only_admins_see_billable_rates"] is False
    assert SECONDS_OFFSET.match(workspace["at"])
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Fields"}).json()
    assert RECORDED_PROJECT_KEYS - project.keys() == set()
    assert (project["can_track_time"], project["template_id"], project["pinned"]) == (True, None, False)
    assert project["start_date"] == "2024-03-04"  # the day it was created, as Toggl fills it in
    assert SECONDS_OFFSET.match(project["at"]) and SECONDS_OFFSET.match(project["created_at"])


def test_a_running_entry_is_minus_its_start_and_writes_answer_with_z(api: httpx.Client, wid: int) -> None:
    body = {"created_with": "t", "workspace_id": wid, "start": "2024-04-21T10:35:28Z", "duration": -1}
    created = api.post(f"/workspaces/{wid}/time_entries", json=body).json()
    assert (created["start"], created["stop"], created["duration"]) == (
        "2024-04-21T10:35:28Z",
        None,
        -1713695728,
    )
    assert SECONDS_OFFSET.match(created["at"])
    read = api.get("/me/time_entries/current").json()
    assert (read["start"], read["duration"]) == ("2024-04-21T10:35:28+00:00", -1713695728)
    updated = api.put(
        f"/workspaces/{wid}/time_entries/{created['id']}", json={"stop": "2024-04-21T11:35:28Z"}
    )
    assert (updated.json()["stop"], updated.json()["duration"]) == ("2024-04-21T11:35:28Z", 3600)
    assert api.get(f"/me/time_entries/{created['id']}").json()["stop"] == "2024-04-21T11:35:28+00:00"


def test_meta_entries_name_their_user(api: httpx.Client, wid: int, sim: Simulator) -> None:
    entry = create_entry(api, wid, sim.clock.now(), duration=60)
    listed = api.get("/me/time_entries", params={"meta": "true"}).json()
    assert RECORDED_META_ENTRY_KEYS - listed[0].keys() == set()
    me = api.get("/me").json()
    assert (listed[0]["id"], listed[0]["user_name"], listed[0]["user_avatar_url"]) == (
        entry["id"],
        me["fullname"],
        "",
    )
    assert "user_name" not in api.get(f"/me/time_entries/{entry['id']}").json()


# -- project create: client_name and start_date ------------------------------------------------------------


def test_project_create_makes_or_attaches_the_named_client(api: httpx.Client, wid: int) -> None:
    first = api.post(f"/workspaces/{wid}/projects", json={"name": "P1", "client_name": "Acme"}).json()
    assert first["client_name"] == "Acme" and first["client_id"] is not None
    second = api.post(f"/workspaces/{wid}/projects", json={"name": "P2", "client_name": "ACME"}).json()
    assert second["client_id"] == first["client_id"]  # names compare without case, as Toggl's do
    clients = api.get(f"/workspaces/{wid}/clients").json()
    assert [(c["id"], c["name"]) for c in clients] == [(first["client_id"], "Acme")]
    fetched = api.get(f"/workspaces/{wid}/projects/{second['id']}").json()
    assert (fetched["cid"], fetched["client_name"]) == (first["client_id"], "Acme")


def test_project_create_honours_start_date(api: httpx.Client, wid: int) -> None:
    dated = {"name": "Dated", "start_date": "2024-04-21", "end_date": "2024-05-01"}
    project = api.post(f"/workspaces/{wid}/projects", json=dated).json()
    assert (project["start_date"], project["end_date"]) == ("2024-04-21", "2024-05-01")
    refused = api.post(f"/workspaces/{wid}/projects", json={"name": "Bad", "start_date": "21/04/2024"})
    assert refused.status_code == 400 and isinstance(refused.json(), str)
    names = [p["name"] for p in api.get(f"/workspaces/{wid}/projects").json()]
    assert names == ["Dated"]


# -- PUT nulls ----------------------------------------------------------------------------------------------


def test_put_with_nulls_keeps_those_fields(api: httpx.Client, wid: int) -> None:
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Kept"}).json()
    entry = create_entry(api, wid, START, duration=600, description="Keep me", billable=True)
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    api.put(path, json={"project_id": project["id"]})
    # What a client editing only the tags sends: null for every field it leaves alone.
    tag_only = {"description": None, "billable": None, "start": None, "stop": None, "duration": None}
    updated = api.put(path, json={**tag_only, "tags": ["new"], "tag_ids": None}).json()
    assert (updated["description"], updated["billable"], updated["duration"]) == ("Keep me", True, 600)
    assert (updated["tags"], updated["project_id"]) == (["new"], project["id"])
    cleared = api.put(path, json={"project_id": None}).json()  # the way to take the project off
    assert (cleared["project_id"], cleared["description"]) == (None, "Keep me")


# -- bulk PATCH ---------------------------------------------------------------------------------------------


def test_bulk_patch_refuses_a_date_only_start(api: httpx.Client, wid: int) -> None:
    entry = create_entry(api, wid, START, duration=600)
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    op = {"op": "replace", "path": "/start", "value": "2024-04-21"}
    refused = api.patch(path, json=[op])
    assert refused.status_code == 400
    assert isinstance(refused.json(), str) and "2024-04-21" in refused.json()
    assert api.get(f"/me/time_entries/{entry['id']}").json()["start"] == "2024-03-04T09:00:00+00:00"
    op["value"] = "2024-03-04T08:55:00Z"
    assert api.patch(path, json=[op]).json() == {"success": [entry["id"]], "failure": []}


# -- methods ------------------------------------------------------------------------------------------------


def test_a_wrong_method_on_a_known_path_is_405(api: httpx.Client, wid: int) -> None:
    wrong = api.get(f"/workspaces/{wid}/time_entries")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert api.delete("/me").status_code == 405
    assert set(api.post("/workspaces/1/projects/2").headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    assert api.get("/no/such/path").status_code == 404
