"""The simulator's state in a file, so that a restarted simulator still knows every id a client remembered.

The file is one JSON document: users (by the digest of their credential, never the secret), workspaces with their
projects, clients and tags, every entry (deleted ones too), the webhook subscriptions (queued deliveries are not
kept) and the id counters. Writes go to a temporary file in the
same directory, then `os.replace` it over the old one: a crash mid-write leaves the previous state whole.
Deleting the file resets the simulator.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from togglbridge.toggl.sim.models import (
    Client,
    Project,
    Subscription,
    Tag,
    TimeEntry,
    User,
    Workspace,
    name_key,
)
from togglbridge.toggl.sim.state import SimState

FORMAT = "togglbridge-sim-state"
VERSION = 1


class StateFileError(Exception):
    """The state file cannot be read or does not hold a simulator's state; the message names the file."""


def save_state(state: SimState, path: Path) -> None:
    """Write the whole state to `path`, atomically."""
    data = orjson.dumps(snapshot(state))
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def load_state(path: Path) -> SimState:
    """The state saved in `path`; StateFileError when it is unreadable, corrupt or of another format."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read the simulator state file {path}: {exc.strerror or exc}") from exc
    try:
        data = orjson.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a togglbridge simulator state")
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
        return restore(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StateFileError(
            f"the simulator state file {path} is corrupt ({exc}); delete it to start from an empty state"
        ) from exc


def snapshot(state: SimState) -> dict[str, Any]:
    """The state as data orjson writes; records stay dataclasses, which orjson serializes natively (and fast)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "next_ids": state.next_ids(),
        "organizations": sorted(state.organizations()),
        "users": [
            {"digest": digest.hex(), **dataclasses.asdict(user)} for digest, user in state.users_by_digest()
        ],
        "workspaces": [_workspace_data(ws) for ws in state.workspaces.values()],
        "entries": list(state.entries.values()),
        "subscriptions": list(state.subscriptions.values()),
    }


def restore(data: dict[str, Any]) -> SimState:
    """A state rebuilt from `snapshot`'s data, indexes included."""
    state = SimState()
    for row in data["users"]:
        fields = dict(row)
        digest = bytes.fromhex(fields.pop("digest"))
        state.adopt_user(digest, User(**fields))
    for row in data["workspaces"]:
        state.workspaces[row["id"]] = _workspace(row)
    for row in data["entries"]:
        state.add_entry(TimeEntry(**row))
    # Files written before webhooks existed have no subscriptions.
    for row in data.get("subscriptions", []):
        sub = Subscription(**row)
        state.subscriptions[sub.id] = sub
    state.adopt_organizations(data["organizations"])
    state.set_next_ids(data["next_ids"])
    return state


def _workspace_data(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "organization_id": ws.organization_id,
        "name": ws.name,
        "owner_id": ws.owner_id,
        "created_at": ws.created_at,
        "projects": list(ws.projects.values()),
        "clients": list(ws.clients.values()),
        "tags": list(ws.tags.values()),
        "member_ids": list(ws.member_ids),
    }


def _workspace(row: dict[str, Any]) -> Workspace:
    ws = Workspace(
        id=row["id"],
        organization_id=row["organization_id"],
        name=row["name"],
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        member_ids=list(row.get("member_ids", [])),  # files written before shared workspaces have none
    )
    for fields in row["projects"]:
        project = Project(**fields)
        ws.projects[project.id] = project
        ws.project_names[name_key(project.name)] = project.id
    for fields in row["clients"]:
        client = Client(**fields)
        ws.clients[client.id] = client
        ws.client_names[name_key(client.name)] = client.id
    for fields in row["tags"]:
        tag = Tag(**fields)
        ws.tags[tag.id] = tag
        ws.tag_names[name_key(tag.name)] = tag.id
    return ws
