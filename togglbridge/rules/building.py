"""Turn one ``do`` item of a matched rule into an Action for this event: render its templates, fill defaults.

Everything that can go wrong here is about this one action (a template naming a field this event lacks, a date that
is not a date), so it is raised as an ActionError that the planner records on the action and moves on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import ValidationError

from togglbridge.actions import (
    FOLLOWED_UP_KINDS,
    MAX_DURATION_SECONDS,
    Action,
    LogAction,
    SessionEstimate,
    StartAction,
    StopAction,
    TagAction,
    UntagAction,
    UpdateAction,
    action_key,
)
from togglbridge.durations import parse_duration
from togglbridge.events import Event, Priority
from togglbridge.rules.specs import (
    ActionItem,
    EstimateSpec,
    LogSpec,
    StartSpec,
    StopSpec,
    TagSpec,
    UntagSpec,
    UpdateSpec,
)
from togglbridge.rules.templates import Template, TemplateError
from togglbridge.rules.values import as_local_datetime
from togglbridge.sources.commit_message import spent_seconds


class ActionError(ValueError):
    """This action cannot be built for this event; the message names the field and the reason."""


@dataclass(frozen=True)
class ActionContext:
    event: Event
    identity: str
    rule: str
    index: int  # the item's position in the rule's `do`: part of the idempotency key
    priority: Priority
    variables: Mapping[str, Any]
    zone: tzinfo  # for times rendered without an offset
    workspace_id: int | None  # the identity's, else the file's default
    billable: bool | None  # the file's default
    hours_per_day: float = 8  # the file's working day and week, for a commit message's '#time 1w 2d'
    days_per_week: float = 5


def build_action(item: ActionItem, context: ActionContext) -> Action:
    renderer = _Renderer(context)
    spec = item.spec
    fields: dict[str, Any]
    if isinstance(spec, StartSpec):
        fields = {**renderer.entry(spec), "start": renderer.moment("start", spec.start)}
    elif isinstance(spec, StopSpec):
        fields = {
            "only": spec.only,
            "description": renderer.optional_text("description", spec.description),
            "stop": renderer.moment("stop", spec.stop),
        }
        if spec.only == "started_by_this_event":
            renderer.need_subject("only: started_by_this_event")
    elif isinstance(spec, LogSpec):
        fields = {**renderer.entry(spec), **renderer.log_times(spec), **_coalescing(spec, context)}
    elif isinstance(spec, TagSpec | UntagSpec):
        fields = {"tags": renderer.tags("tags", spec.tags), "target": spec.target}
        if not fields["tags"] and not renderer.errors:  # (a failed render has said why already)
            renderer.errors.append("tags: every tag rendered empty, so there is nothing to change")
        if spec.target == "subject":
            renderer.need_subject("target: subject")
    elif isinstance(spec, UpdateSpec):
        fields = renderer.update(spec)
    else:  # pragma: no cover - ActionItem admits no other spec
        raise ActionError(f"unknown action {item.name}")
    if renderer.errors:
        raise ActionError("; ".join(renderer.errors))
    common = {
        "identity": context.identity,
        "key": action_key(context.event.id, context.rule, context.index),
        "event_id": context.event.id,
        "rule": context.rule,
        "occurred_at": context.event.occurred_at,
        "subject": context.event.subject,
        "priority": context.priority,
        "follow_up": context.event.kind in FOLLOWED_UP_KINDS,
    }
    model = _MODELS[item.name]
    try:
        return model.model_validate({**common, **fields})
    except ValidationError as exc:
        reasons = (f"{'.'.join(map(str, e['loc'])) or item.name}: {e['msg']}" for e in exc.errors())
        raise ActionError("; ".join(reasons)) from None


def _coalescing(spec: LogSpec, context: ActionContext) -> dict[str, Any]:
    """A coalescing log's gap and group: the rule's pieces, per repository for commits."""
    if spec.coalesce is None:
        return {}
    repo = context.event.data.get("repo")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    group = context.rule + (f"|{name}" if isinstance(name, str) and name else "")
    return {"coalesce_seconds": spec.coalesce, "coalesce_group": group}


_MODELS: dict[str, type[StartAction | StopAction | LogAction | TagAction | UntagAction | UpdateAction]] = {
    "start": StartAction,
    "stop": StopAction,
    "log": LogAction,
    "tag": TagAction,
    "untag": UntagAction,
    "update": UpdateAction,
}


class _Renderer:
    """Renders fields one by one, collecting every failure so the user sees them all at once."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context
        self.errors: list[str] = []

    def optional_text(self, name: str, template: Template | None) -> str | None:
        if template is None:
            return None
        try:
            return template.render(self.context.variables)
        except TemplateError as exc:
            self.errors.append(f"{name}: {exc}")
            return None

    def text(self, name: str, template: Template | None) -> str:
        return (self.optional_text(name, template) or "").strip()

    def project(self, reference: int | Template | None) -> str | int | None:
        if reference is None or isinstance(reference, int):
            return reference
        name = self.text("project", reference)
        return name or None  # a template that renders empty means "no project", not a project named ""

    def tags(self, name: str, templates: list[Template]) -> list[str]:
        tags: list[str] = []
        for index, template in enumerate(templates):
            tag = self.text(f"{name}[{index}]", template)
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    def moment(self, name: str, template: Template | None) -> datetime:
        """A rendered date-time; no template means the event's time."""
        if template is None:
            return self.context.event.occurred_at
        failures = len(self.errors)
        text = self.text(name, template)
        moment = as_local_datetime(text, self.context.zone) if text else None
        if moment is None:
            if len(self.errors) == failures:  # rendered, but not into a date-time
                self.errors.append(f"{name}: {text!r} is not a date-time like 2024-05-02T09:00:00Z")
            return self.context.event.occurred_at
        return moment.astimezone(UTC)  # arithmetic in a local zone would shift by an hour across DST

    def optional_moment(self, name: str, template: Template | None) -> datetime | None:
        return None if template is None else self.moment(name, template)

    def entry(self, spec: StartSpec | LogSpec) -> dict[str, Any]:
        billable = spec.billable if spec.billable is not None else self.context.billable
        return {
            "description": self.text("description", spec.description),
            "project": self.project(spec.project),
            "task_id": spec.task_id,
            "tags": self.tags("tags", spec.tags),
            "billable": billable,
            "workspace_id": spec.workspace_id if spec.workspace_id is not None else self.context.workspace_id,
        }

    def log_times(self, spec: LogSpec) -> dict[str, Any]:
        failures = len(self.errors)
        end = self.moment("end", spec.end)
        said = self.time_spent()
        if said is not None:  # what the commit says it took wins over what the rule would estimate
            return {"end": end, "duration_seconds": said}
        if spec.start is not None:
            start = self.moment("start", spec.start)
            seconds = int((end - start).total_seconds())
            if seconds <= 0 and len(self.errors) == failures:
                self.errors.append(f"start: {start.isoformat()} is not before the end, {end.isoformat()}")
            return {"end": end, "start": start, "duration_seconds": seconds}
        duration = spec.duration
        if isinstance(duration, EstimateSpec):
            estimate = SessionEstimate(max_gap_seconds=duration.max_gap, first_seconds=duration.first)
            return {"end": end, "estimate": estimate}
        if isinstance(duration, Template):
            failures = len(self.errors)
            text = self.text("duration", duration)
            try:
                duration = parse_duration(text)
            except ValueError:
                if len(self.errors) == failures:
                    self.errors.append(
                        f"duration: {text!r} is not a number of seconds or a duration like 1h30m"
                    )
                return {"end": end}
            if duration <= 0:
                self.errors.append(f"duration: {text!r} is not a positive duration")
        return {"end": end, "duration_seconds": duration}

    def time_spent(self) -> int | None:
        """The seconds a commit's time directive (``#time 45m``, ``[toggl 1h]``) says, if it says any."""
        event = self.context.event
        spent = event.data.get("time_spent") if event.kind == "git.commit" else None
        if not isinstance(spent, str) or not spent:
            return None
        try:
            seconds = spent_seconds(
                spent, hours_per_day=self.context.hours_per_day, days_per_week=self.context.days_per_week
            )
        except ValueError as exc:
            self.errors.append(f"time_spent: {exc}")
            return None
        if not 0 < seconds <= MAX_DURATION_SECONDS:
            self.errors.append(f"time_spent: {spent!r} is not a duration an entry can have")
            return None
        return seconds

    def update(self, spec: UpdateSpec) -> dict[str, Any]:
        if spec.target == "subject":
            self.need_subject("target: subject")
        return {
            "target": spec.target,
            "description": self.optional_text("description", spec.description),
            "project": self.project(spec.project),
            "task_id": spec.task_id,
            "billable": spec.billable,
            "tags": None if spec.tags is None else self.tags("tags", spec.tags),
            "start": self.optional_moment("start", spec.start),
            "stop": self.optional_moment("stop", spec.stop),
        }

    def need_subject(self, what: str) -> None:
        if self.context.event.subject is None:
            self.errors.append(
                f"{what} needs an event with a subject (calendar events have one); "
                f"this {self.context.event.kind} event has none"
            )
