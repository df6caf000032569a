"""Actions: what the planner decides and the executor applies to Toggl, one model per kind of change.

Actions are plain JSON data that travel in Celery messages: they carry names (projects, tags), never ids the
planner would have had to look up, and never secrets. Each carries an idempotency ``key`` so that applying it twice
has the effect of applying it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from togglbridge.events import Event, Priority, UtcDatetime

Target = Literal["running", "subject"]
"""Which entry a change applies to: the identity's running entry, or the one an earlier event with the same
``subject`` created (a calendar occurrence's entry, for instance)."""

StopOnly = Literal["any", "started_by_this_event", "same_description"]

MAX_DURATION_SECONDS = 31 * 24 * 3600  # no time entry lasts a month; a larger number is a mistake

URGENT_KINDS = frozenset(
    {"chat.command", "calendar.started", "calendar.ended", "calendar.changed", "calendar.cancelled"}
)

OnFinished = Literal["delete", "keep"]
"""What withdrawing a meeting's entry does to it once it is finished: delete it, or keep it (a running one is
stopped either way)."""


FOLLOWED_UP_KINDS = frozenset({"chat.command"})
"""Events someone waits on in a chat: a worker tells them what became of the actions (``follow_up``)."""


def default_priority(kind: str) -> Priority:
    """A person waits on chat commands and on meeting timers; everything else can queue behind them."""
    return "urgent" if kind in URGENT_KINDS else "normal"


def event_priority(event: Event, rule_priority: Priority | None = None) -> Priority:
    """An action's priority: what the event's sender said (a backfill's bulk), else the rule's, else the kind's."""
    return event.priority or rule_priority or default_priority(event.kind)


def received(actions: list[Action], at: datetime | None) -> list[Action]:
    """The actions marked with when their delivery was accepted (as they are when that is not known)."""
    if at is None:
        return actions
    return [action.model_copy(update={"received_at": at}) for action in actions]


def action_key(event_id: str, rule: str, index: int) -> str:
    """The idempotency key: the same event, rule and position in the rule always give the same key."""
    return f"{event_id}|{rule}|{index}"


class _ActionBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: str = Field(description="The identity (from the rule file) whose Toggl account this changes.")
    key: str = Field(description="Idempotency key: event id, rule name and the action's index in the rule.")
    event_id: str
    rule: str = Field(
        description="The rule that produced it ('builtin:chat' for the built-in chat commands)."
    )
    occurred_at: UtcDatetime = Field(
        description="The event's time: per identity, actions apply in this order."
    )
    subject: str | None = Field(default=None, description="The event's subject, to find related entries.")
    priority: Priority = "normal"
    follow_up: bool = Field(
        default=False, description="Someone waits in a chat for what became of it: a worker tells them."
    )
    received_at: UtcDatetime | None = Field(
        default=None,
        description="When the receiver accepted the delivery that carried the event, for the delivery-to-Toggl "
        "latency metric; None when not known (planned before it was kept, or not from a delivery).",
    )


class _EntryFields(BaseModel):
    """What a new time entry is: names are resolved to ids by the executor, not by the planner."""

    description: str = ""
    project: str | int | None = Field(default=None, description="A project name, or its numeric id.")
    task_id: int | None = None
    tags: list[str] = Field(default_factory=list, description="Tag names; Toggl creates missing ones.")
    billable: bool | None = None
    workspace_id: int | None = Field(default=None, description="None: the identity's default workspace.")


class StartAction(_ActionBase, _EntryFields):
    """Start a running entry."""

    type: Literal["start"] = "start"
    start: UtcDatetime


class StopAction(_ActionBase):
    """Stop the running entry, if it is the one meant by ``only``; stopping nothing is not an error."""

    type: Literal["stop"] = "stop"
    only: StopOnly = "any"
    description: str | None = Field(default=None, description="For only: same_description.")
    stop: UtcDatetime

    @model_validator(mode="after")
    def _description_goes_with_same_description(self) -> StopAction:
        if (self.only == "same_description") != (self.description is not None):
            raise ValueError("description is given exactly when only is same_description")
        return self


class SessionEstimate(BaseModel):
    """A commit's duration, estimated from the identity's previous commit: the gap between the two when it is at
    most ``max_gap_seconds`` (one working session), else ``first_seconds`` (the first commit of a session)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["session"] = "session"
    max_gap_seconds: int = Field(gt=0)
    first_seconds: int = Field(gt=0)

    def resolve(self, end: datetime, previous: datetime | None) -> int:
        """The duration in seconds of work that ended at ``end``, the previous commit having been at ``previous``."""
        if previous is None or previous >= end:
            return self.first_seconds
        gap = int((end - previous).total_seconds())
        return gap if gap <= self.max_gap_seconds else self.first_seconds


class LogAction(_ActionBase, _EntryFields):
    """Create a finished entry that ends at ``end``: a fixed duration, or an estimate the executor resolves."""

    type: Literal["log"] = "log"
    end: UtcDatetime
    start: UtcDatetime | None = Field(
        default=None, description="Given when the rule names the start: then duration_seconds is end - start."
    )
    duration_seconds: int | None = Field(default=None, gt=0, le=MAX_DURATION_SECONDS)
    estimate: SessionEstimate | None = None
    coalesce_seconds: int | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_SECONDS,
        description="Pieces of one group at most this far apart make one entry (togglbridge.sessions).",
    )
    coalesce_group: str | None = Field(
        default=None, description="What coalesces together: the rule, and the repository of a commit."
    )

    @model_validator(mode="after")
    def _one_way_to_know_the_duration(self) -> LogAction:
        if (self.duration_seconds is None) == (self.estimate is None):
            raise ValueError("exactly one of duration_seconds and estimate is given")
        if (self.coalesce_seconds is None) != (self.coalesce_group is None):
            raise ValueError("coalesce_seconds and coalesce_group go together")
        if self.start is not None:
            if self.estimate is not None:
                raise ValueError("an explicit start fixes the duration; it cannot go with an estimate")
            if self.start + timedelta(seconds=self.duration_seconds or 0) != self.end:
                raise ValueError("start + duration_seconds must equal end")
        return self


class TagAction(_ActionBase):
    """Add tags to an entry."""

    type: Literal["tag"] = "tag"
    tags: list[str] = Field(min_length=1)
    target: Target = "running"


class UntagAction(_ActionBase):
    """Remove tags from an entry."""

    type: Literal["untag"] = "untag"
    tags: list[str] = Field(min_length=1)
    target: Target = "running"


class UpdateAction(_ActionBase):
    """Change fields of an entry; fields left None are left alone, ``tags`` replaces the tags."""

    type: Literal["update"] = "update"
    target: Target = "running"
    description: str | None = None
    project: str | int | None = None
    task_id: int | None = None
    billable: bool | None = None
    tags: list[str] | None = None
    start: UtcDatetime | None = None
    stop: UtcDatetime | None = None


class MoveAction(_ActionBase):
    """Move the entry an earlier event about ``subject`` made to new times (a meeting moved or resized): a
    finished entry to ``start``..``stop``, a running one to its new start (its stop comes with the meeting's end).
    An entry changed by hand since the bridge last wrote it is left alone."""

    type: Literal["move"] = "move"
    start: UtcDatetime
    stop: UtcDatetime

    @model_validator(mode="after")
    def _needs_a_subject(self) -> MoveAction:
        if not self.subject:
            raise ValueError("move needs the event's subject: it moves the entry an earlier event made")
        if self.stop < self.start:
            raise ValueError("stop is before start")
        return self


class WithdrawAction(_ActionBase):
    """Take back the entry an earlier event about ``subject`` made (a meeting cancelled, deleted or declined): a
    running entry is stopped at ``occurred_at``, a finished one deleted or kept (``finished``). An entry changed by
    hand since the bridge last wrote it is left alone."""

    type: Literal["withdraw"] = "withdraw"
    finished: OnFinished = "delete"

    @model_validator(mode="after")
    def _needs_a_subject(self) -> WithdrawAction:
        if not self.subject:
            raise ValueError(
                "withdraw needs the event's subject: it takes back the entry an earlier event made"
            )
        return self


class ResumeAction(_ActionBase):
    """Start again what ran last (its description, project, tags and billable), at ``start``."""

    type: Literal["resume"] = "resume"
    start: UtcDatetime


class UndoAction(_ActionBase):
    """Take back the last change the bridge made in the account, if it was made within ``within_seconds`` of
    ``occurred_at``: a created or logged entry is deleted, a stopped one goes on, tags go back."""

    type: Literal["undo"] = "undo"
    within_seconds: int = Field(default=600, gt=0)


class LearnAction(_ActionBase):
    """Remember what Toggl's own webhook said of a change made in Toggl: an entry (the running entry, the entry
    behind the subject) or a project (its id by name), so the next stop, status, rule or project lookup needs no
    GET. Sends nothing to Toggl."""

    type: Literal["learn"] = "learn"
    entry_id: int | None = Field(default=None, description="An entry's change; None: a project's.")
    workspace_id: int
    running: bool = False
    deleted: bool = False
    start: UtcDatetime | None = None
    description: str = ""
    project_id: int | None = Field(default=None, description="A project's change: its id and name.")
    project_name: str | None = None


class ReportAction(_ActionBase):
    """Read, change nothing: what runs and today's total (``status``), or the totals per project since ``since``
    (``today``, ``week``), for the person who asked in a chat. Applied in turn with the identity's other actions, so
    it sees what came before it."""

    type: Literal["report"] = "report"
    report: Literal["status", "today", "week"]
    since: UtcDatetime = Field(description="The start of the day or week, in the rule file's timezone.")
    until: UtcDatetime | None = Field(
        default=None,
        description="Its end, in the same zone (a day of 23 or 25 hours when the clocks change); None, for an "
        "action planned before it was carried: a day or a week after ``since``.",
    )


Action = Annotated[
    StartAction
    | StopAction
    | LogAction
    | TagAction
    | UntagAction
    | UpdateAction
    | MoveAction
    | WithdrawAction
    | ResumeAction
    | UndoAction
    | LearnAction
    | ReportAction,
    Field(discriminator="type"),
]
"""Any action; ``ACTION_ADAPTER.validate_python(data)`` reads one back from JSON data."""

ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
