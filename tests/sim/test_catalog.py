"""The simulator's projects, clients and tags, over real HTTP."""

from __future__ import annotations

import httpx

from tests.sim.support import (
    START,
    create_entry,
)
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim.catalog import create_project

# -- projects -----------------------------------------------------------------------------------------------


def test_projects_paginate_151_by_default_and_200_at_most(
    api: httpx.Client, wid: int, sim: Simulator
) -> None:
    with sim.lock:
        ws = sim.state.workspaces[wid]
        owner = sim.state.users[ws.owner_id]
        for i in range(450):
            create_project(sim.state, ws, owner, {"name": f"Project {i:03}"}, now=0)
    sizes = [
        len(api.get(f"/workspaces/{wid}/projects", params={"per_page": 200, "page": p}).json())
        for p in (1, 2, 3)
    ]
    assert sizes == [200, 200, 50]
    assert len(api.get(f"/workspaces/{wid}/projects").json()) == 151
    page3 = api.get(f"/workspaces/{wid}/projects", params={"per_page": 200, "page": 3}).json()
    assert page3[-1]["name"] == "Project 449"
    too_many = api.get(f"/workspaces/{wid}/projects", params={"per_page": 201})
    assert too_many.status_code == 400
    assert isinstance(too_many.json(), str)
    assert api.get(f"/workspaces/{wid}/projects", params={"page": 0}).status_code == 400


def test_project_create_rules(api: httpx.Client, wid: int, sim: Simulator) -> None:
    created = api.post(f"/workspaces/{wid}/projects", json={"name": "Website", "color": "#0b83d9"})
    assert created.status_code == 200
    project = created.json()
    assert (project["name"], project["color"], project["active"], project["workspace_id"]) == (
        "Website",
        "#0b83d9",
        True,
        wid,
    )
    for body in ({"name": "website"}, {}, {"name": "  "}, {"name": "Other", "color": "blue"}):
        response = api.post(f"/workspaces/{wid}/projects", json=body)
        assert response.status_code == 400, body
        assert isinstance(response.json(), str)
    assert api.get(f"/workspaces/{wid}/projects/{project['id']}").json()["id"] == project["id"]
    assert api.get(f"/workspaces/{wid}/projects/1").status_code == 404
    sim.knobs.admin = False
    refused = api.post(f"/workspaces/{wid}/projects", json={"name": "Nope"})
    assert (refused.status_code, refused.json()) == (403, "Only admins may create projects")


def test_project_filters_update_and_delete_unassigns_entries(api: httpx.Client, wid: int) -> None:
    kept = api.post(f"/workspaces/{wid}/projects", json={"name": "Kept"}).json()
    old = api.post(f"/workspaces/{wid}/projects", json={"name": "Old", "active": False}).json()
    names = lambda active: [p["name"] for p in api.get(f"/workspaces/{wid}/projects", params=active).json()]  # noqa: E731
    assert names({}) == ["Kept"]
    assert names({"active": "false"}) == ["Old"]
    assert names({"active": "both"}) == ["Kept", "Old"]
    assert names({"active": "both", "name": "old"}) == ["Old"]
    renamed = api.put(f"/workspaces/{wid}/projects/{kept['id']}", json={"name": "Renamed", "billable": True})
    assert (renamed.json()["name"], renamed.json()["billable"]) == ("Renamed", True)
    assert api.put(f"/workspaces/{wid}/projects/{kept['id']}", json={"name": "Old"}).status_code == 400
    entry = create_entry(api, wid, START, duration=60, project_id=kept["id"])
    assert api.delete(f"/workspaces/{wid}/projects/{kept['id']}").status_code == 200
    assert api.get(f"/workspaces/{wid}/projects/{kept['id']}").status_code == 404
    assert api.get(f"/me/time_entries/{entry['id']}").json()["project_id"] is None
    assert old["active"] is False


# -- clients ------------------------------------------------------------------------------------------------


def test_clients_archive_restore_and_status_filter(api: httpx.Client, wid: int) -> None:
    acme = api.post(f"/workspaces/{wid}/clients", json={"name": "Acme"}).json()
    other = api.post(f"/workspaces/{wid}/clients", json={"name": "Other"}).json()
    assert api.post(f"/workspaces/{wid}/clients", json={"name": "acme"}).status_code == 400
    p1 = api.post(f"/workspaces/{wid}/projects", json={"name": "A1", "client_id": acme["id"]}).json()
    p2 = api.post(f"/workspaces/{wid}/projects", json={"name": "A2", "client_id": acme["id"]}).json()
    assert p1["client_id"] == acme["id"]

    archived = api.post(f"/workspaces/{wid}/clients/{acme['id']}/archive")
    assert sorted(archived.json()) == sorted([p1["id"], p2["id"]])
    status = lambda s: [c["name"] for c in api.get(f"/workspaces/{wid}/clients", params=s).json()]  # noqa: E731
    assert status({}) == ["Other"]
    assert status({"status": "archived"}) == ["Acme"]
    assert status({"status": "both"}) == ["Acme", "Other"]
    assert api.get(f"/workspaces/{wid}/clients", params={"status": "gone"}).status_code == 400
    assert api.get(f"/workspaces/{wid}/projects", params={"active": "false"}).json()[0]["active"] is False

    restored = api.post(f"/workspaces/{wid}/clients/{acme['id']}/restore", json={"projects": [p1["id"]]})
    assert restored.json()["archived"] is False
    active = [p["id"] for p in api.get(f"/workspaces/{wid}/projects").json()]
    assert active == [p1["id"]]
    api.post(f"/workspaces/{wid}/clients/{acme['id']}/restore", json={"restore_all_projects": True})
    assert len(api.get(f"/workspaces/{wid}/projects").json()) == 2

    assert api.put(f"/workspaces/{wid}/clients/{other['id']}", json={"notes": "n"}).json()["notes"] == "n"
    assert api.get(f"/workspaces/{wid}/clients/{other['id']}").json()["name"] == "Other"
    assert api.delete(f"/workspaces/{wid}/clients/{other['id']}").status_code == 200
    assert api.get(f"/workspaces/{wid}/clients/{other['id']}").status_code == 404


# -- tags ---------------------------------------------------------------------------------------------------


def test_tag_create_duplicate_and_admin(api: httpx.Client, wid: int, sim: Simulator) -> None:
    tag = api.post(f"/workspaces/{wid}/tags", json={"name": "focus"})
    assert tag.status_code == 200
    duplicate = api.post(f"/workspaces/{wid}/tags", json={"name": "focus"})
    assert (duplicate.status_code, duplicate.json()) == (400, "a tag with the name 'focus' already exists")
    sim.knobs.admin = False
    refused = api.post(f"/workspaces/{wid}/tags", json={"name": "other"})
    assert refused.status_code == 403
    # Naming a tag on an entry still creates it: that is not tag management.
    assert create_entry(api, wid, START, duration=60, tags=["implicit"])["tags"] == ["implicit"]


def test_tag_list_search_pages_update_and_delete(api: httpx.Client, wid: int) -> None:
    ids = [api.post(f"/workspaces/{wid}/tags", json={"name": f"tag-{i}"}).json()["id"] for i in range(5)]
    assert len(api.get(f"/workspaces/{wid}/tags").json()) == 5
    page = api.get(f"/workspaces/{wid}/tags", params={"per_page": 2, "page": 3}).json()
    assert [t["id"] for t in page] == [ids[4]]
    assert [t["name"] for t in api.get(f"/workspaces/{wid}/tags", params={"search": "-3"}).json()] == [
        "tag-3"
    ]
    entry = create_entry(api, wid, START, duration=60, tag_ids=[ids[0], ids[1]])
    assert api.put(f"/workspaces/{wid}/tags/{ids[0]}", json={"name": "renamed"}).json()["name"] == "renamed"
    assert api.get(f"/me/time_entries/{entry['id']}").json()["tags"] == ["renamed", "tag-1"]
    assert api.put(f"/workspaces/{wid}/tags/{ids[0]}", json={"name": "tag-1"}).status_code == 400
    assert api.delete(f"/workspaces/{wid}/tags/{ids[1]}").status_code == 200
    after = api.get(f"/me/time_entries/{entry['id']}").json()
    assert (after["tags"], after["tag_ids"]) == (["renamed"], [ids[0]])
    assert api.delete(f"/workspaces/{wid}/tags/{ids[1]}").status_code == 404
