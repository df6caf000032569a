"""Time entries: create, stop, update (PUT and bulk JSON-patch), delete, list, current.

Duration arithmetic follows Toggl: whole seconds, `duration = stop - start` for stopped entries, a running entry has
no stop. Every change is validated on a draft copy first and committed only when all of it is valid, so a 400 (or a
failed id in a bulk patch) leaves the entry untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from togglbridge.toggl.sim.catalog import check_tag_ids, tag_ids_for_names
from togglbridge.toggl.sim.errors import Conflict, Invalid, NotFound
from togglbridge.toggl.sim.fields import (
    as_int,
    id_from_either,
    int_list,
    opt_bool,
    opt_str,
    require_object,
    str_list,
)
from togglbridge.toggl.sim.models import TimeEntry, User, Workspace, name_key
from togglbridge.toggl.sim.state import SimState
from togglbridge.toggl.sim.timefmt import parse_date_or_timestamp, parse_timestamp

MAX_LISTED = 1000
MAX_BULK_IDS = 100
NOT_FOUND = "Time entry not found"
ALREADY_STOPPED = "Time entry already stopped"
MISMATCH = "stop and duration do not agree: duration must equal stop - start in seconds (or be negative, without stop)"
WORKSPACE_MISMATCH = "workspace_id in the body does not match the workspace in the path"

TagMode = Literal["replace", "add", "delete"]
_PUT_FIELDS = ("description", "project_id", "task_id", "billable", "start", "stop", "duration")
_CLEARED_BY_NULL = frozenset({"project_id", "task_id"})
_UNSET: Any = object()


# -- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Filters of `GET /me/time_entries`, as unix seconds."""

    since: int | None = None
    before: int | None = None
    start_date: int | None = None
    end_date: int | None = None


def parse_entry_query(query: Mapping[str, str]) -> EntryQuery:
    """`since` (unix seconds), `before`, `start_date` + `end_date` (a date alone is 00:00 UTC)."""
    since = None
    if query.get("since"):
        raw = query["since"]
        if not (raw.isascii() and raw.isdigit()):
            raise Invalid(f"Invalid since: {raw!r}; use a unix timestamp in seconds")
        since = int(raw)
    before = parse_date_or_timestamp(query["before"], "before") if query.get("before") else None
    start_raw, end_raw = query.get("start_date"), query.get("end_date")
    if bool(start_raw) != bool(end_raw):
        raise Invalid("start_date and end_date must be given together")
    start_date = parse_date_or_timestamp(start_raw, "start_date") if start_raw else None
    end_date = parse_date_or_timestamp(end_raw, "end_date") if end_raw else None
    if start_date is not None and end_date is not None and end_date < start_date:
        raise Invalid("end_date must not be earlier than start_date")
    return EntryQuery(since=since, before=before, start_date=start_date, end_date=end_date)


def list_entries(state: SimState, user: User, query: EntryQuery) -> list[TimeEntry]:
    """Newest first, at most 1000. Deleted entries only appear with `since` (changed since, deletions included)."""
    out: list[TimeEntry] = []
    since, before, lo, hi = query.since, query.before, query.start_date, query.end_date
    for entry in state.newest_first(user.id):
        if since is None:
            if entry.server_deleted_at is not None:
                continue
        elif entry.at < since:
            continue
        start = entry.start
        if (before is not None and start >= before) or (lo is not None and start < lo):
            continue
        if hi is not None and start >= hi:
            continue
        out.append(entry)
        if len(out) >= MAX_LISTED:
            break
    return out


def current_entry(state: SimState, user: User) -> TimeEntry | None:
    """The running entry; when several run (auto-stop off), the most recently started one."""
    running = state.running[user.id]
    if not running:
        return None
    return max(running.values(), key=lambda e: (e.start, e.id))


def get_entry(state: SimState, user: User, entry_id: int) -> TimeEntry:
    entry = state.user_entries[user.id].get(entry_id)
    if entry is None or entry.deleted:
        raise NotFound(NOT_FOUND)
    return entry


def get_workspace_entry(state: SimState, user: User, ws: Workspace, entry_id: int) -> TimeEntry:
    entry = get_entry(state, user, entry_id)
    if entry.workspace_id != ws.id:
        raise NotFound(NOT_FOUND)
    return entry


# -- writing ------------------------------------------------------------------------------------------------


def create_entry(
    state: SimState, ws: Workspace, user: User, body: Any, now: int, *, autostop: bool
) -> TimeEntry:
    """`POST /workspaces/{wid}/time_entries`."""
    body = require_object(body)
    created_with = opt_str(body, "created_with")
    if created_with is None or not created_with.strip():
        raise Invalid("created_with needs to be provided a valid value")
    _check_workspace(body, ws)
    if body.get("start") is None:
        raise Invalid("start is required: an ISO 8601 UTC time such as 2006-01-02T15:04:05Z")
    start = parse_timestamp(body["start"], "start")
    duration = None if body.get("duration") is None else as_int(body["duration"], "duration")
    stop = None if body.get("stop") is None else parse_timestamp(body["stop"], "stop")
    if duration is None and stop is None:
        raise Invalid("duration or stop is required (duration -1 starts a running entry)")
    entry = TimeEntry(
        id=0,
        workspace_id=ws.id,
        user_id=user.id,
        start=start,
        stop=start,
        duration=0,
        created_with=created_with,
        at=now,
    )
    change = Change(
        fields={k: body[k] for k in ("description", "project_id", "task_id", "billable") if k in body},
        tag_names=str_list(body.get("tags"), "tags") if body.get("tags") is not None else None,
        tag_ids=int_list(body.get("tag_ids"), "tag_ids") if body.get("tag_ids") is not None else None,
    )
    if "pid" in body and "project_id" not in body:
        change.fields["project_id"] = body["pid"]
    if "tid" in body and "task_id" not in body:
        change.fields["task_id"] = body["tid"]
    entry.stop, entry.duration = _timing(start, stop, duration, entry)
    apply_change(state, ws, user, entry, change, now)
    if entry.running and autostop:
        for other in list(state.running[user.id].values()):
            _stop_at(state, other, max(other.start, start), now)
    entry.id = state.new_entry_id()
    state.add_entry(entry)
    return entry


def stop_entry(state: SimState, entry: TimeEntry, now: int) -> TimeEntry:
    """`PATCH .../{id}/stop`: stop at `now`; a stopped entry answers 409."""
    if not entry.running:
        raise Conflict(ALREADY_STOPPED)
    _stop_at(state, entry, max(now, entry.start), now)
    return entry


def _stop_at(state: SimState, entry: TimeEntry, stop: int, now: int) -> None:
    entry.stop = stop
    entry.duration = stop - entry.start
    entry.at = now
    state.sync_running(entry)


def delete_entry(state: SimState, entry: TimeEntry, now: int) -> None:
    state.soft_delete(entry, now)


def update_entry(
    state: SimState, ws: Workspace, user: User, entry: TimeEntry, body: Any, now: int
) -> TimeEntry:
    """`PUT .../{id}`: a partial update; `tag_action` add|delete applies tags/tag_ids instead of replacing them.

    A null leaves its field as it is (a client editing one field sends null for those it leaves alone), except
    `project_id` and `task_id`, where null is how an entry loses its project or task.
    """
    body = require_object(body)
    _check_workspace(body, ws)
    tag_action = opt_str(body, "tag_action")
    if tag_action not in (None, "add", "delete"):
        raise Invalid("tag_action must be 'add' or 'delete'")
    mode: TagMode = "add" if tag_action == "add" else "delete" if tag_action == "delete" else "replace"
    fields = {k: body[k] for k in _PUT_FIELDS if k in body and (body[k] is not None or k in _CLEARED_BY_NULL)}
    change = Change(
        fields=fields,
        tag_names=str_list(body["tags"], "tags") if body.get("tags") is not None else None,
        tag_ids=int_list(body["tag_ids"], "tag_ids") if body.get("tag_ids") is not None else None,
        tag_mode=mode,
    )
    draft = _draft(entry)
    apply_change(state, ws, user, draft, change, now)
    _commit(state, entry, draft, now)
    return entry


def _check_workspace(body: Mapping[str, Any], ws: Workspace) -> None:
    body_wid = id_from_either(body, "workspace_id", "wid")
    if body_wid is not None and body_wid != ws.id:
        raise Invalid(WORKSPACE_MISMATCH)


# -- changes shared by PUT and bulk PATCH -------------------------------------------------------------------


@dataclass
class Change:
    """One edit of an entry: raw JSON values for scalar fields, plus tags to replace, add or delete."""

    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    tag_names: list[str] | None = None
    tag_ids: list[int] | None = None
    tag_mode: TagMode = "replace"


def _draft(entry: TimeEntry) -> TimeEntry:
    return dataclasses.replace(entry, tag_ids=list(entry.tag_ids))


def _commit(state: SimState, entry: TimeEntry, draft: TimeEntry, now: int) -> None:
    start_changed = entry.start != draft.start
    entry.start = draft.start
    entry.stop = draft.stop
    entry.duration = draft.duration
    entry.description = draft.description
    entry.project_id = draft.project_id
    entry.task_id = draft.task_id
    entry.billable = draft.billable
    entry.tag_ids = draft.tag_ids
    entry.at = now
    state.sync_running(entry)
    if start_changed:
        state.invalidate_order(entry.user_id)


def apply_change(
    state: SimState, ws: Workspace, user: User, draft: TimeEntry, change: Change, now: int
) -> None:
    """Apply a change to a draft entry, raising Invalid on the first bad value. Tags come last: they may create."""
    fields = change.fields
    if "description" in fields:
        description = fields["description"]
        if description is not None and not isinstance(description, str):
            raise Invalid("description must be a string")
        draft.description = description or ""
    if "project_id" in fields:
        project_id = None if fields["project_id"] is None else as_int(fields["project_id"], "project_id")
        if project_id is not None and project_id not in ws.projects:
            raise Invalid(f"Project with ID {project_id} isn't present in workspace {ws.id}")
        draft.project_id = project_id
    if "task_id" in fields:
        draft.task_id = None if fields["task_id"] is None else as_int(fields["task_id"], "task_id")
    if "billable" in fields:
        draft.billable = bool(opt_bool(fields, "billable"))
    if "start" in fields or "stop" in fields or "duration" in fields:
        start = draft.start if fields.get("start") is None else parse_timestamp(fields["start"], "start")
        stop = None if fields.get("stop") is None else parse_timestamp(fields["stop"], "stop")
        duration = None if fields.get("duration") is None else as_int(fields["duration"], "duration")
        draft.stop, draft.duration = _timing(start, stop, duration, draft)
        draft.start = start
    if change.tag_names is not None or change.tag_ids is not None:
        _apply_tags(state, ws, user, draft, change, now)


def _timing(start: int, stop: int | None, duration: int | None, current: TimeEntry) -> tuple[int | None, int]:
    """(stop, duration) from what the request gave. With neither, keep the entry's stop (or keep it running)."""
    if duration is not None and duration < 0:
        if stop is not None:
            raise Invalid(MISMATCH)
        return None, -1
    if stop is not None:
        if stop < start:
            raise Invalid("stop must not be earlier than start")
        if duration is not None and duration != stop - start:
            raise Invalid(MISMATCH)
        return stop, stop - start
    if duration is not None:
        return start + duration, duration
    if current.stop is None:
        return None, -1
    if current.stop < start:
        raise Invalid("start must not be later than stop")
    return current.stop, current.stop - start


def _apply_tags(
    state: SimState, ws: Workspace, user: User, draft: TimeEntry, change: Change, now: int
) -> None:
    names = change.tag_names or []
    if change.tag_mode == "delete":
        drop = {ws.tag_names.get(name_key(n)) for n in names} | set(change.tag_ids or [])
        draft.tag_ids = [t for t in draft.tag_ids if t not in drop]
        return
    given = check_tag_ids(ws, change.tag_ids or [])
    for tag_id in tag_ids_for_names(state, ws, user, names, now):
        if tag_id not in given:
            given.append(tag_id)
    if change.tag_mode == "add":
        draft.tag_ids = draft.tag_ids + [t for t in given if t not in draft.tag_ids]
    else:
        draft.tag_ids = given


# -- bulk JSON-patch ----------------------------------------------------------------------------------------

_PATCH_PATHS = frozenset(
    {
        "/description",
        "/project_id",
        "/task_id",
        "/billable",
        "/tags",
        "/tag_ids",
        "/start",
        "/stop",
        "/duration",
    }
)
_REMOVED_VALUE = {"/description": "", "/project_id": None, "/task_id": None, "/billable": False}


def parse_bulk_ids(raw: str) -> list[int]:
    """'1,2,3' -> [1, 2, 3] (duplicates dropped); at most 100 ids."""
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not (part.isascii() and part.isdigit()):
            raise Invalid("Invalid value as time entry IDs")
        if int(part) not in ids:
            ids.append(int(part))
    if len(ids) > MAX_BULK_IDS:
        raise Invalid(f"PATCH request is limited to {MAX_BULK_IDS} entries at once")
    return ids


def parse_patch_ops(body: Any) -> list[Change]:
    """Validate the whole JSON-patch list up front (a bad op is a 400 for the request) and turn it into Changes."""
    if not isinstance(body, list) or not body:
        raise Invalid("No patchable fields defined: send a JSON list of {op, path, value}")
    changes = []
    for op in body:
        if not isinstance(op, dict):
            raise Invalid("Each patch operation must be an object with op, path and value")
        kind, path = op.get("op"), op.get("path")
        if kind not in ("add", "remove", "replace"):
            raise Invalid(f"Invalid op: {kind}")
        if not isinstance(path, str) or path not in _PATCH_PATHS:
            raise Invalid(f"Path not found: {path}")
        changes.append(_change_for_op(kind, path, op))
    return changes


def _change_for_op(kind: str, path: str, op: Mapping[str, Any]) -> Change:
    field = path[1:]
    if path in ("/tags", "/tag_ids"):
        if "value" not in op:
            raise Invalid(f"Operation {kind} {path} needs a value")
        mode: TagMode = "add" if kind == "add" else "delete" if kind == "remove" else "replace"
        if path == "/tags":
            return Change(tag_names=str_list(op["value"], "tags"), tag_mode=mode)
        return Change(tag_ids=int_list(op["value"], "tag_ids"), tag_mode=mode)
    if kind == "remove":
        if path not in _REMOVED_VALUE:
            raise Invalid(f"Operation not supported ({kind} {path})")
        return Change(fields={field: _REMOVED_VALUE[path]})
    if "value" not in op:
        raise Invalid(f"Operation {kind} {path} needs a value")
    value = op["value"]
    if path == "/start" or (path == "/stop" and value is not None):
        # A malformed time is wrong for every entry alike: the whole request is refused, as Toggl does,
        # rather than each id failing on its own. A date alone ('2024-04-21') is malformed too.
        parse_timestamp(value, field)
    return Change(fields={field: value})


def bulk_patch(
    state: SimState, ws: Workspace, user: User, ids: list[int], changes: list[Change], now: int
) -> dict[str, Any]:
    """Apply the changes to each entry on its own: `{"success": [ids], "failure": [{"id", "message"}]}`."""
    success: list[int] = []
    failure: list[dict[str, Any]] = []
    own = state.user_entries[user.id]
    for entry_id in ids:
        entry = own.get(entry_id)
        if entry is None or entry.deleted or entry.workspace_id != ws.id:
            failure.append({"id": entry_id, "message": NOT_FOUND})
            continue
        draft = _draft(entry)
        try:
            for change in changes:
                apply_change(state, ws, user, draft, change, now)
        except Invalid as exc:
            failure.append({"id": entry_id, "message": exc.message})
            continue
        _commit(state, entry, draft, now)
        success.append(entry_id)
    return {"success": success, "failure": failure}
