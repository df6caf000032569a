"""Typed shapes of Toggl's v9 resources, as the API answers them.

Models ignore fields they do not know (Toggl adds fields over time) and never fail on a missing optional one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator


class TogglModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class User(TogglModel):
    id: int
    email: str = ""
    fullname: str = ""
    default_workspace_id: int | None = None
    timezone: str = "UTC"
    beginning_of_week: int | None = None


class Workspace(TogglModel):
    id: int
    name: str = ""
    organization_id: int | None = None
    premium: bool = False
    admin: bool | None = None


class WorkspaceUser(TogglModel):
    id: int
    name: str = ""
    email: str = ""
    user_id: int | None = Field(default=None, alias="uid")
    admin: bool | None = None
    active: bool | None = None


class TimeEntry(TogglModel):
    id: int
    workspace_id: int
    project_id: int | None = None
    task_id: int | None = None
    user_id: int | None = None
    billable: bool = False
    description: str | None = None
    start: datetime
    stop: datetime | None = None
    duration: int
    tags: list[str] = Field(default_factory=list)
    tag_ids: list[int] = Field(default_factory=list)
    at: datetime | None = None
    server_deleted_at: datetime | None = None
    project_name: str | None = None  # with meta=true

    @field_validator("tags", "tag_ids", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def is_running(self) -> bool:
        """Running entries have a negative duration: minus the start's unix time (what Toggl answers today) or
        -1 (the form of Toggl's older examples); either way the start is what counts."""
        return self.duration < 0

    def elapsed_seconds(self, now: datetime | None = None) -> int:
        """Seconds tracked so far: the duration when stopped, or from the start until ``now`` when running."""
        if not self.is_running:
            return self.duration
        now = now or datetime.now(UTC)
        return max(0, int((now - self.start).total_seconds()))


class Project(TogglModel):
    id: int
    workspace_id: int
    client_id: int | None = None
    name: str
    active: bool = True
    is_private: bool = True
    billable: bool | None = None
    color: str | None = None


class Client(TogglModel):
    id: int
    workspace_id: int = Field(validation_alias=AliasChoices("wid", "workspace_id"))
    name: str
    archived: bool = False


class Tag(TogglModel):
    id: int
    workspace_id: int
    name: str


class EventFilter(TogglModel):
    entity: str  # time_entry, project, client, tag, ... or "*"
    action: str  # created, updated, deleted, or "*"


class WebhookSubscription(TogglModel):
    """A webhooks API v1 subscription: Toggl posts the workspace's changes that match its filters to its URL."""

    subscription_id: int
    workspace_id: int
    user_id: int | None = None
    enabled: bool = True
    description: str = ""
    event_filters: list[EventFilter] = Field(default_factory=list)
    url_callback: str = ""
    validated_at: datetime | None = None


class BulkUpdateFailure(TogglModel):
    id: int
    message: str


class BulkUpdateResult(TogglModel):
    success: list[int] = Field(default_factory=list)
    failure: list[BulkUpdateFailure] = Field(default_factory=list)
