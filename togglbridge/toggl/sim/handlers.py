"""The Toggl v9 endpoints: each handler turns a request into calls on the state and renders Toggl's JSON.

Templates are relative to the API root; the simulator serves them under both `/toggl-track/api/v9` (gateway) and
`/api/v9` (direct). Handlers run under the simulator's lock and raise `SimError`s for Toggl's 4xx answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from togglbridge.toggl.sim import catalog, entries
from togglbridge.toggl.sim.errors import Forbidden, Invalid
from togglbridge.toggl.sim.models import (
    Project,
    TimeEntry,
    Workspace,
    render_client,
    render_entry,
    render_project,
    render_tag,
    render_user,
    render_workspace,
    render_workspace_user,
)
from togglbridge.toggl.sim.routing import Reply, RequestContext, Route

PROJECTS_PER_PAGE = 151
MAX_PER_PAGE = 200
EMPTY = Reply(empty=True)

T = TypeVar("T")


# -- helpers ------------------------------------------------------------------------------------------------


def _ws(ctx: RequestContext) -> Workspace:
    return ctx.state.workspace_for(ctx.user, ctx.params["wid"])


def _require_admin(ctx: RequestContext, action: str) -> None:
    if not ctx.knobs.admin:
        raise Forbidden(f"Only admins may {action}")


def _entry_json(
    ctx: RequestContext, entry: TimeEntry, *, meta: bool = False, written: bool = False
) -> dict[str, Any]:
    ws = ctx.state.workspaces[entry.workspace_id]
    return render_entry(
        entry,
        ws,
        running_minus_one=ctx.knobs.running_duration_minus_one,
        written=written,
        meta_user=ctx.state.users[entry.user_id] if meta else None,
    )


def _entry_event(ctx: RequestContext, action: str, entry: TimeEntry) -> None:
    """Publish a time entry change to webhook subscribers: the entry as a read shows it, plus `created_with`."""
    ws = ctx.state.workspaces[entry.workspace_id]

    def render() -> dict[str, Any]:
        out = render_entry(entry, ws, running_minus_one=ctx.knobs.running_duration_minus_one)
        out["created_with"] = entry.created_with
        return out

    ctx.emit("time_entry", action, entry.workspace_id, render)


def _project_event(ctx: RequestContext, action: str, project: Project, ws: Workspace) -> None:
    ctx.emit("project", action, ws.id, lambda: render_project(project, ws))


def _positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise Invalid(f"{name} must be a positive integer")
    return int(raw)


def _page(items: Sequence[T], query: Mapping[str, str], default_per_page: int) -> Sequence[T]:
    """Toggl's 1-based `page` and `per_page` (at most 200)."""
    per_page = _positive_int(query, "per_page", default_per_page)
    if per_page > MAX_PER_PAGE:
        raise Invalid(f"per_page must be at most {MAX_PER_PAGE}")
    page = _positive_int(query, "page", 1)
    offset = (page - 1) * per_page
    return items[offset : offset + per_page]


# -- me and workspaces --------------------------------------------------------------------------------------


def get_me(ctx: RequestContext) -> Reply:
    return Reply(render_user(ctx.user))


def get_my_workspaces(ctx: RequestContext) -> Reply:
    return Reply([render_workspace(ws, admin=ctx.knobs.admin) for ws in ctx.state.workspaces_of(ctx.user)])


def get_workspace(ctx: RequestContext) -> Reply:
    return Reply(render_workspace(_ws(ctx), admin=ctx.knobs.admin))


def get_workspace_users(ctx: RequestContext) -> Reply:
    return Reply([render_workspace_user(u) for u in ctx.state.members_of(_ws(ctx))])


# -- time entries -------------------------------------------------------------------------------------------


def list_time_entries(ctx: RequestContext) -> Reply:
    query = entries.parse_entry_query(ctx.query)
    meta = ctx.flag("meta")
    return Reply([_entry_json(ctx, e, meta=meta) for e in entries.list_entries(ctx.state, ctx.user, query)])


def get_current_entry(ctx: RequestContext) -> Reply:
    entry = entries.current_entry(ctx.state, ctx.user)
    return Reply(None if entry is None else _entry_json(ctx, entry, meta=ctx.flag("meta")))


def get_time_entry(ctx: RequestContext) -> Reply:
    entry = entries.get_entry(ctx.state, ctx.user, ctx.params["id"])
    return Reply(_entry_json(ctx, entry, meta=ctx.flag("meta")))


def create_time_entry(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    was_running = list(ctx.state.running[ctx.user.id].values())
    entry = entries.create_entry(ctx.state, ws, ctx.user, ctx.json(), ctx.now, autostop=ctx.knobs.autostop)
    # An entry stopped by auto-stop was updated by this request too, and before the new one was created.
    for stopped in was_running:
        if not stopped.running:
            _entry_event(ctx, "updated", stopped)
    _entry_event(ctx, "created", entry)
    return Reply(_entry_json(ctx, entry, meta=ctx.flag("meta"), written=True))


def stop_time_entry(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    entry = entries.get_workspace_entry(ctx.state, ctx.user, ws, ctx.params["id"])
    stopped = entries.stop_entry(ctx.state, entry, ctx.now)
    _entry_event(ctx, "updated", stopped)
    return Reply(_entry_json(ctx, stopped, written=True))


def update_time_entry(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    entry = entries.get_workspace_entry(ctx.state, ctx.user, ws, ctx.params["id"])
    entries.update_entry(ctx.state, ws, ctx.user, entry, ctx.json(), ctx.now)
    _entry_event(ctx, "updated", entry)
    return Reply(_entry_json(ctx, entry, meta=ctx.flag("meta"), written=True))


def delete_time_entry(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    entry = entries.get_workspace_entry(ctx.state, ctx.user, ws, ctx.params["id"])
    entries.delete_entry(ctx.state, entry, ctx.now)
    _entry_event(ctx, "deleted", entry)
    return EMPTY


def bulk_patch_time_entries(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    ids = entries.parse_bulk_ids(ctx.params["ids"])
    changes = entries.parse_patch_ops(ctx.json())
    result = entries.bulk_patch(ctx.state, ws, ctx.user, ids, changes, ctx.now)
    for entry_id in result["success"]:
        _entry_event(ctx, "updated", ctx.state.entries[entry_id])
    return Reply(result)


# -- projects -----------------------------------------------------------------------------------------------


def list_projects(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    found = catalog.list_projects(
        ws,
        active=ctx.query.get("active", "true").lower(),
        name=ctx.query.get("name"),
        search=ctx.query.get("search"),
    )
    return Reply([render_project(p, ws) for p in _page(found, ctx.query, PROJECTS_PER_PAGE)])


def get_project(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    return Reply(render_project(catalog.get_project(ws, ctx.params["pid"]), ws))


def create_project(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "create projects")
    project = catalog.create_project(ctx.state, ws, ctx.user, ctx.json_object(), ctx.now)
    _project_event(ctx, "created", project, ws)
    return Reply(render_project(project, ws))


def update_project(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "update projects")
    project = catalog.update_project(ctx.state, ws, ctx.user, ctx.params["pid"], ctx.json_object(), ctx.now)
    _project_event(ctx, "updated", project, ws)
    return Reply(render_project(project, ws))


def delete_project(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "delete projects")
    mode = ctx.query.get("teDeletionMode", "unassign")
    project = catalog.get_project(ws, ctx.params["pid"])
    affected = [e for e in ctx.state.entries_in(ws) if e.project_id == project.id]
    catalog.delete_project(ctx.state, ws, project.id, ctx.now, mode=mode)
    # Its entries changed with it: deleted, or unassigned (an update), as the request asked.
    for entry in affected:
        _entry_event(ctx, "deleted" if entry.deleted else "updated", entry)
    _project_event(ctx, "deleted", project, ws)
    return EMPTY


# -- clients ------------------------------------------------------------------------------------------------


def list_clients(ctx: RequestContext) -> Reply:
    found = catalog.list_clients(
        _ws(ctx), status=ctx.query.get("status", "active").lower(), name=ctx.query.get("name")
    )
    return Reply([render_client(c) for c in found])


def get_client(ctx: RequestContext) -> Reply:
    return Reply(render_client(catalog.get_client(_ws(ctx), ctx.params["cid"])))


def create_client(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    body = ctx.json_object()
    return Reply(render_client(catalog.create_client(ctx.state, ws, ctx.user, body, ctx.now)))


def update_client(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    return Reply(render_client(catalog.update_client(ws, ctx.params["cid"], ctx.json_object(), ctx.now)))


def delete_client(ctx: RequestContext) -> Reply:
    catalog.delete_client(_ws(ctx), ctx.params["cid"], ctx.now)
    return EMPTY


def archive_client(ctx: RequestContext) -> Reply:
    return Reply(catalog.archive_client(_ws(ctx), ctx.params["cid"], ctx.now))


def restore_client(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    body = ctx.optional_json_object()
    return Reply(render_client(catalog.restore_client(ws, ctx.params["cid"], body, ctx.now)))


# -- tags ---------------------------------------------------------------------------------------------------


def list_tags(ctx: RequestContext) -> Reply:
    found = catalog.list_tags(_ws(ctx), search=ctx.query.get("search"))
    paginated = "page" in ctx.query or "per_page" in ctx.query
    shown = _page(found, ctx.query, PROJECTS_PER_PAGE) if paginated else found
    return Reply([render_tag(t) for t in shown])


def create_tag(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "create tags")
    return Reply(render_tag(catalog.create_tag(ctx.state, ws, ctx.user, ctx.json_object(), ctx.now)))


def update_tag(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "update tags")
    return Reply(render_tag(catalog.update_tag(ws, ctx.params["tid"], ctx.json_object(), ctx.now)))


def delete_tag(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    _require_admin(ctx, "delete tags")
    catalog.delete_tag(ctx.state, ws, ctx.params["tid"], ctx.now)
    return EMPTY


_W = "/workspaces/{wid}"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/me", get_me, me_quota=True),
    Route("GET", "/me/workspaces", get_my_workspaces, me_quota=True),
    Route("GET", "/me/time_entries", list_time_entries),
    Route("GET", "/me/time_entries/current", get_current_entry),
    Route("GET", "/me/time_entries/{id}", get_time_entry),
    Route("GET", _W, get_workspace),
    Route("GET", f"{_W}/users", get_workspace_users),
    Route("POST", f"{_W}/time_entries", create_time_entry),
    Route("PATCH", f"{_W}/time_entries/{{id}}/stop", stop_time_entry),
    Route("PUT", f"{_W}/time_entries/{{id}}", update_time_entry),
    Route("DELETE", f"{_W}/time_entries/{{id}}", delete_time_entry),
    Route("PATCH", f"{_W}/time_entries/{{ids}}", bulk_patch_time_entries),
    Route("GET", f"{_W}/projects", list_projects),
    Route("POST", f"{_W}/projects", create_project),
    Route("GET", f"{_W}/projects/{{pid}}", get_project),
    Route("PUT", f"{_W}/projects/{{pid}}", update_project),
    Route("DELETE", f"{_W}/projects/{{pid}}", delete_project),
    Route("GET", f"{_W}/clients", list_clients),
    Route("POST", f"{_W}/clients", create_client),
    Route("GET", f"{_W}/clients/{{cid}}", get_client),
    Route("PUT", f"{_W}/clients/{{cid}}", update_client),
    Route("DELETE", f"{_W}/clients/{{cid}}", delete_client),
    Route("POST", f"{_W}/clients/{{cid}}/archive", archive_client),
    Route("POST", f"{_W}/clients/{{cid}}/restore", restore_client),
    Route("GET", f"{_W}/tags", list_tags),
    Route("POST", f"{_W}/tags", create_tag),
    Route("PUT", f"{_W}/tags/{{tid}}", update_tag),
    Route("DELETE", f"{_W}/tags/{{tid}}", delete_tag),
)
