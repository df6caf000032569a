"""An identity's timer as a timeline: what its entries should be, given every timer action applied so far.

Deliveries arrive late, twice, or out of order (a sender retries an hour later; a calendar's end is seen before
its start). Applying each action to "whatever runs now" would then stop the wrong entry or leave one running
forever. Instead the executor keeps the timer actions it applied (starts, stops, tags, untags and updates of the
running entry) as marks on a timeline, and computes here, purely, what every entry should look like: each start
opens an entry and ends the one before it; a stop ends the entry running at its time, if the stop means it; a tag
changes the entry running at its time. The executor then changes in Toggl only what differs from what it knows.

So any order of the same set of actions ends in the same entries, and in order it costs the same requests as
applying each action directly: one to create, one to stop, one to tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from togglbridge.actions import Action, StartAction, StopAction, TagAction, UntagAction, UpdateAction

MarkKind = Literal["start", "stop", "tag", "untag", "update"]


@dataclass(frozen=True, slots=True)
class Mark:
    """One applied timer action, as the timeline needs it."""

    key: str
    kind: MarkKind
    at: datetime
    order: float  # the outbox score: occurred_at in ms, plus the action's position in its plan
    description: str | None = None
    tags: tuple[str, ...] = ()
    subject: str | None = None
    only: str = "any"  # for stops
    project: str | int | None = None
    task_id: int | None = None
    billable: bool | None = None
    workspace_id: int | None = None

    def to_json(self) -> str:
        data = {
            "key": self.key, "kind": self.kind, "at": self.at.isoformat(), "order": self.order,
            "description": self.description, "tags": list(self.tags), "subject": self.subject, "only": self.only,
            "project": self.project, "task_id": self.task_id, "billable": self.billable,
            "workspace_id": self.workspace_id,
        }  # fmt: skip
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Mark:
        data = json.loads(raw)
        return cls(**{**data, "at": datetime.fromisoformat(data["at"]), "tags": tuple(data["tags"])})


def mark_of(action: Action, order: float) -> Mark | None:
    """The timeline mark of a timer action; None for actions the timeline does not track (logs, and changes
    to the entry of a subject, which name their entry themselves)."""
    key, at, subject = action.key, action.occurred_at, action.subject
    if isinstance(action, StartAction):
        return Mark(
            key, "start", at, order, action.description, tuple(action.tags), subject, project=action.project,
            task_id=action.task_id, billable=action.billable, workspace_id=action.workspace_id,
        )  # fmt: skip
    if isinstance(action, StopAction):
        return Mark(key, "stop", at, order, action.description, subject=subject, only=action.only)
    if isinstance(action, TagAction | UntagAction) and action.target == "running":
        return Mark(key, action.type, at, order, tags=tuple(action.tags), subject=subject)
    if isinstance(action, UpdateAction) and action.target == "running" and action.start is None:
        return Mark(
            key, "update", at, order, action.description, tuple(action.tags or ()), subject,
            only="tags" if action.tags is not None else "keep-tags", project=action.project,
            task_id=action.task_id, billable=action.billable,
        )  # fmt: skip
    return None


@dataclass
class Intended:
    """What one entry (opened by the start mark ``key``) should be."""

    key: str
    start: datetime
    stop: datetime | None
    description: str
    tags: set[str] = field(default_factory=set)
    subject: str | None = None
    project: str | int | None = None
    task_id: int | None = None
    billable: bool | None = None
    workspace_id: int | None = None

    @property
    def running(self) -> bool:
        return self.stop is None


def ends(stop: Mark, running: Intended) -> bool:
    """Whether a stop mark ends the entry running at its time."""
    if stop.only == "started_by_this_event":
        return stop.subject is not None and stop.subject == running.subject
    if stop.only == "same_description":
        return stop.description == running.description
    return True


def intended_entries(marks: list[Mark]) -> dict[str, Intended]:
    """Every entry the marks open, with its end, tags and fields, keyed by its start mark."""
    entries: dict[str, Intended] = {}
    running: Intended | None = None
    for mark in sorted(marks, key=lambda m: (m.order, m.key)):
        if mark.kind == "start":
            if running is not None:
                running.stop = mark.at
            running = Intended(
                mark.key, mark.at, None, mark.description or "", set(mark.tags), mark.subject, mark.project,
                mark.task_id, mark.billable, mark.workspace_id,
            )  # fmt: skip
            entries[mark.key] = running
        elif running is None:
            continue
        elif mark.kind == "stop":
            if ends(mark, running):
                running.stop = mark.at
                running = None
        elif mark.kind == "tag":
            running.tags |= set(mark.tags)
        elif mark.kind == "untag":
            running.tags -= set(mark.tags)
        else:
            _update(running, mark)
    return entries


def _update(entry: Intended, mark: Mark) -> None:
    if mark.description is not None:
        entry.description = mark.description
    if mark.only == "tags":
        entry.tags = set(mark.tags)
    for name in ("project", "task_id", "billable"):
        value = getattr(mark, name)
        if value is not None:
            setattr(entry, name, value)


def changed_entries(before: dict[str, Intended], after: dict[str, Intended]) -> list[Intended]:
    """The entries a new mark changes (or opens), in start order: only these are touched in Toggl, so an
    entry a person edited by hand elsewhere on the timeline is left alone."""
    changed = [entry for key, entry in after.items() if before.get(key) != entry]
    return sorted(changed, key=lambda e: e.start)
