"""The simulated Toggl's records, and how each is rendered in Toggl v9's JSON shape.

Records hold ids and whole unix seconds; names (of tags, projects) are looked up at render time so that a renamed
or deleted tag shows up on every entry at once, as it does in Toggl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from togglbridge.toggl.sim.timefmt import format_optional, format_precise, format_ts, format_z

PROJECT_COLORS = (
    "#0b83d9",
    "#9e5bd9",
    "#d94182",
    "#e36a00",
    "#bf7000",
    "#c7af14",
    "#d92b2b",
    "#2da608",
    "#06a893",
    "#c9806b",
    "#465bb3",
    "#990099",
    "#566614",
    "#525266",
)


@dataclass(slots=True)
class User:
    id: int
    email: str
    fullname: str
    default_workspace_id: int
    organization_id: int
    label: str
    created_at: float
    """Unix seconds with a fraction: `/me` shows its timestamps to the microsecond."""


@dataclass(slots=True)
class Project:
    id: int
    workspace_id: int
    name: str
    color: str
    client_id: int | None = None
    active: bool = True
    is_private: bool = True
    billable: bool = False
    template: bool = False
    estimated_hours: float | None = None
    rate: float | None = None
    currency: str | None = None
    start_date: str = ""
    """'YYYY-MM-DD'; Toggl fills in the day of creation when none is given."""
    end_date: str | None = None
    created_at: int = 0
    at: int = 0


@dataclass(slots=True)
class Client:
    id: int
    workspace_id: int
    name: str
    creator_id: int
    notes: str | None = None
    archived: bool = False
    at: int = 0


@dataclass(slots=True)
class Tag:
    id: int
    workspace_id: int
    name: str
    creator_id: int
    at: int = 0


@dataclass(slots=True)
class Workspace:
    """A workspace and its catalog; the name indexes (casefolded) make duplicate checks O(1)."""

    id: int
    organization_id: int
    name: str
    owner_id: int
    created_at: int
    projects: dict[int, Project] = field(default_factory=dict)
    project_names: dict[str, int] = field(default_factory=dict)
    clients: dict[int, Client] = field(default_factory=dict)
    client_names: dict[str, int] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    tag_names: dict[str, int] = field(default_factory=dict)
    member_ids: list[int] = field(default_factory=list)
    """Users besides the owner who work in it (a team's shared workspace)."""


@dataclass(slots=True)
class TimeEntry:
    """`stop is None` means running; `duration` is only meaningful once stopped."""

    id: int
    workspace_id: int
    user_id: int
    start: int
    stop: int | None
    duration: int
    description: str = ""
    project_id: int | None = None
    task_id: int | None = None
    billable: bool = False
    tag_ids: list[int] = field(default_factory=list)
    created_with: str = ""
    at: int = 0
    server_deleted_at: int | None = None

    @property
    def running(self) -> bool:
        return self.stop is None

    @property
    def deleted(self) -> bool:
        return self.server_deleted_at is not None


@dataclass(slots=True)
class Subscription:
    """A webhooks subscription (Toggl Webhooks API v1): where and what to send for one workspace."""

    id: int
    workspace_id: int
    user_id: int
    url_callback: str
    event_filters: list[dict[str, str]]
    secret: str
    description: str
    enabled: bool
    validation_code: str
    """Sent in the ping while the subscription is not validated; echoing it back validates the subscription."""
    created_at: float
    updated_at: float
    validated_at: float | None = None

    def wants(self, entity: str, action: str) -> bool:
        """Whether an event passes one of the filters (`*` matches any entity or any action)."""
        return any(f["entity"] in ("*", entity) and f["action"] in ("*", action) for f in self.event_filters)


def render_subscription(sub: Subscription, *, pending: bool = False, secret: bool = True) -> dict[str, Any]:
    """A subscription as the Webhooks API answers it: the secret is echoed (`secret=False` for the admin view)."""
    out: dict[str, Any] = {
        "subscription_id": sub.id,
        "workspace_id": sub.workspace_id,
        "user_id": sub.user_id,
        "enabled": sub.enabled,
        "description": sub.description,
        "event_filters": [dict(f) for f in sub.event_filters],
        "url_callback": sub.url_callback,
        "secret": sub.secret,
        "validated_at": None if sub.validated_at is None else format_precise(sub.validated_at),
        "has_pending_events": pending,
        "created_at": format_precise(sub.created_at),
        "updated_at": format_precise(sub.updated_at),
    }
    if not secret:
        del out["secret"]
    return out


def name_key(name: str) -> str:
    """The key under which names must be unique in a workspace (Toggl compares them case-insensitively)."""
    return name.strip().casefold()


def render_entry(
    entry: TimeEntry,
    ws: Workspace,
    *,
    running_minus_one: bool = False,
    written: bool = False,
    meta_user: User | None = None,
) -> dict[str, Any]:
    """A time entry as Toggl v9 answers it.

    Running: stop null and duration minus the start's unix time (-1 with `running_minus_one`, the form of
    Toggl's older examples). `written`: the answer to a create, update or stop, whose start and stop end in `Z`
    where a read shows `+00:00`. `meta_user` (the entry's user) adds what `meta=true` adds.
    """
    duration = entry.duration
    if entry.stop is None:
        duration = -1 if running_minus_one else -entry.start
    stamp = format_z if written else format_ts
    tags = ws.tags
    tag_ids = [tid for tid in entry.tag_ids if tid in tags]
    out: dict[str, Any] = {
        "id": entry.id,
        "workspace_id": entry.workspace_id,
        "project_id": entry.project_id,
        "task_id": entry.task_id,
        "billable": entry.billable,
        "start": stamp(entry.start),
        "stop": None if entry.stop is None else stamp(entry.stop),
        "duration": duration,
        "description": entry.description,
        "tags": [tags[tid].name for tid in tag_ids],
        "tag_ids": tag_ids,
        "duronly": True,
        "at": format_ts(entry.at),
        "server_deleted_at": format_optional(entry.server_deleted_at),
        "user_id": entry.user_id,
        "uid": entry.user_id,
        "wid": entry.workspace_id,
        "pid": entry.project_id,
        "tid": entry.task_id,
        "permissions": None,
    }
    if meta_user is not None:
        project = ws.projects.get(entry.project_id) if entry.project_id is not None else None
        client = ws.clients.get(project.client_id) if project and project.client_id is not None else None
        out["project_name"] = project.name if project else None
        out["project_color"] = project.color if project else None
        out["project_active"] = project.active if project else None
        out["project_billable"] = project.billable if project else None
        out["client_name"] = client.name if client else None
        out["user_name"] = meta_user.fullname
        out["user_avatar_url"] = ""
    return out


def render_user(user: User) -> dict[str, Any]:
    """`GET /me` (without related data). The token shown is a stand-in: the simulator never keeps the secret."""
    created = format_precise(user.created_at)
    return {
        "id": user.id,
        "api_token": f"{user.id:032x}",
        "email": user.email,
        "fullname": user.fullname,
        "timezone": "UTC",
        "default_workspace_id": user.default_workspace_id,
        "beginning_of_week": 1,
        "image_url": "https://assets.track.toggl.com/images/profile.png",
        "country_id": None,
        "has_password": True,
        "openid_email": None,
        "openid_enabled": False,
        "toggl_accounts_id": f"sim{user.id:019d}",
        "intercom_hash": f"{user.id:064x}",
        "created_at": created,
        "updated_at": created,
        "at": created,
        "authorization_updated_at": created,
    }


def render_workspace_user(user: User) -> dict[str, Any]:
    """One row of `GET /workspaces/{wid}/users`."""
    return {
        "id": user.id,
        "email": user.email,
        "fullname": user.fullname,
        "timezone": "UTC",
        "image_url": "https://assets.track.toggl.com/images/profile.png",
        "at": format_ts(int(user.created_at)),
    }


def render_workspace(ws: Workspace, *, admin: bool) -> dict[str, Any]:
    """A workspace as `GET /workspaces/{wid}` and `GET /me/workspaces` answer it."""
    return {
        "id": ws.id,
        "organization_id": ws.organization_id,
        "name": ws.name,
        "premium": False,
        "business_ws": False,
        "admin": admin,
        "role": "admin" if admin else "user",
        "suspended_at": None,
        "server_deleted_at": None,
        "default_hourly_rate": None,
        "rate_last_updated": None,
        "default_currency": "USD",
        "only_admins_may_create_projects": True,
        "only_admins_may_create_tags": True,
        "only_admins_see_billable_rates": False,
        "only_admins_see_team_dashboard": False,
        "projects_billable_by_default": False,
        "projects_enforce_billable": False,
        "projects_private_by_default": True,
        "hide_start_end_times": False,
        "last_modified": None,
        "working_hours_in_minutes": None,
        "profile": 0,
        "reports_collapse": True,
        "rounding": 0,
        "rounding_minutes": 0,
        "api_token": None,
        "at": format_ts(ws.created_at),
        "logo_url": "https://assets.track.toggl.com/images/workspace.jpg",
        "ical_url": None,
        "ical_enabled": False,
        "csv_upload": None,
        "subscription": None,
        "permissions": None,
    }


def render_project(project: Project, ws: Workspace) -> dict[str, Any]:
    """A project as Toggl v9 answers it (legacy `wid`/`cid` included)."""
    client = ws.clients.get(project.client_id) if project.client_id is not None else None
    return {
        "id": project.id,
        "workspace_id": project.workspace_id,
        "client_id": project.client_id,
        "client_name": client.name if client is not None else None,
        "name": project.name,
        "is_private": project.is_private,
        "active": project.active,
        "status": "active" if project.active else "archived",
        "at": format_ts(project.at),
        "created_at": format_ts(project.created_at),
        "server_deleted_at": None,
        "color": project.color,
        "billable": project.billable,
        "template": project.template,
        "template_id": None,
        "is_shared": False,
        "pinned": False,
        "can_track_time": True,
        "auto_estimates": None,
        "estimated_hours": project.estimated_hours,
        "estimated_seconds": None if project.estimated_hours is None else int(project.estimated_hours * 3600),
        "rate": project.rate,
        "currency": project.currency,
        "rate_last_updated": None,
        "recurring": False,
        "recurring_parameters": None,
        "actual_hours": None,
        "actual_seconds": None,
        "start_date": project.start_date,
        "end_date": project.end_date,
        "fixed_fee": None,
        "wid": project.workspace_id,
        "cid": project.client_id,
        "permissions": None,
    }


def render_client(client: Client) -> dict[str, Any]:
    """A client as Toggl v9 answers it."""
    return {
        "id": client.id,
        "wid": client.workspace_id,
        "archived": client.archived,
        "name": client.name,
        "notes": client.notes,
        "at": format_ts(client.at),
        "creator_id": client.creator_id,
        "server_deleted_at": None,
        "permissions": None,
    }


def render_tag(tag: Tag) -> dict[str, Any]:
    """A tag as Toggl v9 answers it."""
    return {
        "id": tag.id,
        "workspace_id": tag.workspace_id,
        "name": tag.name,
        "at": format_ts(tag.at),
        "creator_id": tag.creator_id,
        "deleted_at": None,
        "permissions": None,
    }
