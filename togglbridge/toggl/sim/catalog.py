"""A workspace's catalog: projects, clients and tags, with Toggl's rules and messages.

Names are unique per workspace, compared case-insensitively through the workspace's name indexes, so duplicate
checks and implicit tag creation cost O(1). Cascades (deleting a tag or a project, archiving a client) walk the
workspace's entries; they are rare next to entry traffic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from togglbridge.toggl.sim.errors import Invalid, NotFound
from togglbridge.toggl.sim.fields import (
    id_from_either,
    int_list,
    opt_bool,
    opt_number,
    opt_str,
)
from togglbridge.toggl.sim.models import PROJECT_COLORS, Client, Project, Tag, User, Workspace, name_key
from togglbridge.toggl.sim.state import SimState
from togglbridge.toggl.sim.timefmt import format_date

_COLOR = re.compile(r"^#[0-9a-f]{6}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_TAKEN = "Name has already been taken"


# -- projects -----------------------------------------------------------------------------------------------


def list_projects(ws: Workspace, *, active: str, name: str | None, search: str | None) -> list[Project]:
    """Projects in id order; `active` is 'true', 'false' or 'both'; `name` exact (any case), `search` substring."""
    if active not in ("true", "false", "both"):
        raise Invalid("active must be one of true, false, both")
    wanted_name = name_key(name) if name else None
    needle = search.casefold() if search else None
    out = []
    for project in ws.projects.values():
        if active != "both" and project.active != (active == "true"):
            continue
        if wanted_name is not None and name_key(project.name) != wanted_name:
            continue
        if needle is not None and needle not in project.name.casefold():
            continue
        out.append(project)
    return out


def get_project(ws: Workspace, project_id: int) -> Project:
    project = ws.projects.get(project_id)
    if project is None:
        raise NotFound("Project not found")
    return project


def create_project(state: SimState, ws: Workspace, user: User, body: Mapping[str, Any], now: int) -> Project:
    name = (opt_str(body, "name") or "").strip()
    if not name:
        raise Invalid("Project name must not be empty")
    if name_key(name) in ws.project_names:
        raise Invalid(NAME_TAKEN)
    project_id = state.new_project_id()
    project = Project(
        id=project_id,
        workspace_id=ws.id,
        name=name,
        color=PROJECT_COLORS[project_id % len(PROJECT_COLORS)],
        start_date=format_date(now),
        created_at=now,
        at=now,
    )
    _apply_project_fields(state, ws, user, project, body, now)
    ws.projects[project_id] = project
    ws.project_names[name_key(name)] = project_id
    return project


def update_project(
    state: SimState, ws: Workspace, user: User, project_id: int, body: Mapping[str, Any], now: int
) -> Project:
    project = get_project(ws, project_id)
    new_name = opt_str(body, "name")
    if new_name is not None:
        new_name = new_name.strip()
        if not new_name:
            raise Invalid("Project name must not be empty")
        holder = ws.project_names.get(name_key(new_name))
        if holder is not None and holder != project_id:
            raise Invalid(NAME_TAKEN)
    _apply_project_fields(state, ws, user, project, body, now)
    if new_name is not None:
        del ws.project_names[name_key(project.name)]
        project.name = new_name
        ws.project_names[name_key(new_name)] = project_id
    project.at = now
    return project


def _apply_project_fields(
    state: SimState, ws: Workspace, user: User, project: Project, body: Mapping[str, Any], now: int
) -> None:
    """Validate every optional field first, then assign, so a 400 leaves the project unchanged.

    `client_name` (without a client id) attaches the workspace's client of that name, creating it if needed,
    as Toggl does.
    """
    color = opt_str(body, "color")
    if color is not None and not _COLOR.match(color):
        raise Invalid(f"Invalid project color {color!r}: use #rrggbb with lowercase hex digits")
    client_id = id_from_either(body, "client_id", "cid")
    if client_id is not None and client_id not in ws.clients:
        raise Invalid(f"Client with ID {client_id} isn't present in workspace {ws.id}")
    client_name = (opt_str(body, "client_name") or "").strip() if client_id is None else ""
    start_date = _opt_date(body, "start_date")
    end_date = _opt_date(body, "end_date")
    if end_date is not None and end_date < (start_date or project.start_date):
        raise Invalid("end_date must not be earlier than start_date")
    active = opt_bool(body, "active")
    is_private = opt_bool(body, "is_private")
    billable = opt_bool(body, "billable")
    template = opt_bool(body, "template")
    estimated_hours = opt_number(body, "estimated_hours")
    rate = opt_number(body, "rate")
    currency = opt_str(body, "currency")
    if client_name:
        holder = ws.client_names.get(name_key(client_name))
        client_id = holder if holder is not None else _add_client(state, ws, user, client_name, None, now).id
    if color is not None:
        project.color = color
    if client_id is not None or "client_id" in body or "cid" in body:
        project.client_id = client_id
    if start_date is not None:
        project.start_date = start_date
    if end_date is not None:
        project.end_date = end_date
    if active is not None:
        project.active = active
    if is_private is not None:
        project.is_private = is_private
    if billable is not None:
        project.billable = billable
    if template is not None:
        project.template = template
    if estimated_hours is not None:
        project.estimated_hours = estimated_hours
    if rate is not None:
        project.rate = rate
    if currency is not None:
        project.currency = currency


def _opt_date(body: Mapping[str, Any], key: str) -> str | None:
    """A 'YYYY-MM-DD' field, checked to be a real date."""
    value = opt_str(body, key)
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"Invalid {key} {value!r}: use a date such as 2006-01-02") from None
    return value


def delete_project(state: SimState, ws: Workspace, project_id: int, now: int, *, mode: str) -> None:
    """Delete a project; its entries lose the project ('unassign', Toggl's default) or are deleted ('delete')."""
    if mode not in ("unassign", "delete"):
        raise Invalid("teDeletionMode must be 'delete' or 'unassign'")
    project = get_project(ws, project_id)
    for entry in state.entries_in(ws):
        if entry.project_id == project_id:
            if mode == "delete":
                state.soft_delete(entry, now)
            else:
                entry.project_id = None
                entry.task_id = None
                entry.at = now
    del ws.projects[project_id]
    del ws.project_names[name_key(project.name)]


# -- clients ------------------------------------------------------------------------------------------------


def list_clients(ws: Workspace, *, status: str, name: str | None) -> list[Client]:
    """Clients in id order; `status` is 'active', 'archived' or 'both'; `name` a case-insensitive substring."""
    if status not in ("active", "archived", "both"):
        raise Invalid("Client status is invalid")
    needle = name.casefold() if name else None
    return [
        c
        for c in ws.clients.values()
        if (status == "both" or c.archived == (status == "archived"))
        and (needle is None or needle in c.name.casefold())
    ]


def get_client(ws: Workspace, client_id: int) -> Client:
    client = ws.clients.get(client_id)
    if client is None:
        raise NotFound(f"No client with ID {client_id} was found")
    return client


def create_client(state: SimState, ws: Workspace, user: User, body: Mapping[str, Any], now: int) -> Client:
    name = (opt_str(body, "name") or "").strip()
    if not name:
        raise Invalid("Client name must not be empty")
    if name_key(name) in ws.client_names:
        raise Invalid(NAME_TAKEN)
    return _add_client(state, ws, user, name, opt_str(body, "notes"), now)


def _add_client(state: SimState, ws: Workspace, user: User, name: str, notes: str | None, now: int) -> Client:
    client = Client(
        id=state.new_client_id(), workspace_id=ws.id, name=name, creator_id=user.id, notes=notes, at=now
    )
    ws.clients[client.id] = client
    ws.client_names[name_key(name)] = client.id
    return client


def update_client(ws: Workspace, client_id: int, body: Mapping[str, Any], now: int) -> Client:
    client = get_client(ws, client_id)
    new_name = opt_str(body, "name")
    notes = opt_str(body, "notes")
    if new_name is not None:
        new_name = new_name.strip()
        if not new_name:
            raise Invalid("Client name must not be empty")
        holder = ws.client_names.get(name_key(new_name))
        if holder is not None and holder != client_id:
            raise Invalid(NAME_TAKEN)
        del ws.client_names[name_key(client.name)]
        client.name = new_name
        ws.client_names[name_key(new_name)] = client_id
    if notes is not None:
        client.notes = notes
    client.at = now
    return client


def delete_client(ws: Workspace, client_id: int, now: int) -> None:
    """Delete a client; its projects stay, without a client (as in Toggl)."""
    client = get_client(ws, client_id)
    for project in ws.projects.values():
        if project.client_id == client_id:
            project.client_id = None
            project.at = now
    del ws.clients[client_id]
    del ws.client_names[name_key(client.name)]


def archive_client(ws: Workspace, client_id: int, now: int) -> list[int]:
    """Archive a client and its active projects; answers the ids of the projects it archived."""
    client = get_client(ws, client_id)
    client.archived = True
    client.at = now
    archived = []
    for project in ws.projects.values():
        if project.client_id == client_id and project.active:
            project.active = False
            project.at = now
            archived.append(project.id)
    return archived


def restore_client(ws: Workspace, client_id: int, body: Mapping[str, Any], now: int) -> Client:
    """Restore a client and the listed projects (`projects`) or all of them (`restore_all_projects`)."""
    client = get_client(ws, client_id)
    wanted = set(int_list(body.get("projects"), "projects"))
    restore_all = bool(opt_bool(body, "restore_all_projects"))
    for pid in wanted:
        project = ws.projects.get(pid)
        if project is None or project.client_id != client_id:
            raise Invalid(f"Project {pid} does not belong to client {client_id}")
    client.archived = False
    client.at = now
    for project in ws.projects.values():
        if project.client_id == client_id and not project.active and (restore_all or project.id in wanted):
            project.active = True
            project.at = now
    return client


# -- tags ---------------------------------------------------------------------------------------------------


def list_tags(ws: Workspace, *, search: str | None) -> list[Tag]:
    needle = search.casefold() if search else None
    return [t for t in ws.tags.values() if needle is None or needle in t.name.casefold()]


def get_tag(ws: Workspace, tag_id: int) -> Tag:
    tag = ws.tags.get(tag_id)
    if tag is None:
        raise NotFound("Tag not found")
    return tag


def _tag_name(body: Mapping[str, Any]) -> str:
    name = (opt_str(body, "name") or "").strip()
    if not name:
        raise Invalid("Tag name must not be empty")
    return name


def create_tag(state: SimState, ws: Workspace, user: User, body: Mapping[str, Any], now: int) -> Tag:
    name = _tag_name(body)
    if name_key(name) in ws.tag_names:
        raise Invalid(f"a tag with the name '{name}' already exists")
    return _add_tag(state, ws, user, name, now)


def _add_tag(state: SimState, ws: Workspace, user: User, name: str, now: int) -> Tag:
    tag = Tag(id=state.new_tag_id(), workspace_id=ws.id, name=name, creator_id=user.id, at=now)
    ws.tags[tag.id] = tag
    ws.tag_names[name_key(name)] = tag.id
    return tag


def update_tag(ws: Workspace, tag_id: int, body: Mapping[str, Any], now: int) -> Tag:
    tag = get_tag(ws, tag_id)
    name = _tag_name(body)
    holder = ws.tag_names.get(name_key(name))
    if holder is not None and holder != tag_id:
        raise Invalid(f"a tag with the name '{name}' already exists")
    del ws.tag_names[name_key(tag.name)]
    tag.name = name
    tag.at = now
    ws.tag_names[name_key(name)] = tag_id
    return tag


def delete_tag(state: SimState, ws: Workspace, tag_id: int, now: int) -> None:
    """Delete a tag and take it off every entry that carries it."""
    tag = get_tag(ws, tag_id)
    for entry in state.entries_in(ws):
        if tag_id in entry.tag_ids:
            entry.tag_ids = [t for t in entry.tag_ids if t != tag_id]
            entry.at = now
    del ws.tags[tag_id]
    del ws.tag_names[name_key(tag.name)]


def tag_ids_for_names(state: SimState, ws: Workspace, user: User, names: list[str], now: int) -> list[int]:
    """Ids of the named tags, creating the missing ones: naming a tag on an entry creates it, as in Toggl."""
    ids: list[int] = []
    for raw in names:
        name = raw.strip()
        if not name:
            raise Invalid("Tag name must not be empty")
        tag_id = ws.tag_names.get(name_key(name))
        if tag_id is None:
            tag_id = _add_tag(state, ws, user, name, now).id
        if tag_id not in ids:
            ids.append(tag_id)
    return ids


def check_tag_ids(ws: Workspace, tag_ids: list[int]) -> list[int]:
    """The ids, deduplicated, if each is a tag of the workspace."""
    out: list[int] = []
    for tag_id in tag_ids:
        if tag_id not in ws.tags:
            raise Invalid(f"Tag with ID {tag_id} isn't present in workspace {ws.id}")
        if tag_id not in out:
            out.append(tag_id)
    return out
