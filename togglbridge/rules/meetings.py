"""The built-in follow-up of a meeting's entry: what a ``calendar.changed`` or ``calendar.cancelled`` event does
when no rule of the user's took it over (a matching rule with ``stop: true`` does).

The rules decide which meetings become entries and how; keeping an entry true to its meeting is the same for
every rule file, so it is built in. A meeting moved or resized after its entry exists moves the entry; one
cancelled, deleted or declined takes the entry back as its calendar's ``on_cancel`` says. Both leave alone an
entry a person changed since the bridge wrote it (the executor checks, since only Toggl knows).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from togglbridge.actions import Action, MoveAction, WithdrawAction, action_key, event_priority
from togglbridge.events import Event, UtcDatetime
from togglbridge.rules.rule_file import RuleFile

BUILTIN_CALENDAR_RULE = "builtin:calendar"
FOLLOWED_KINDS = ("calendar.changed", "calendar.cancelled")
TIMES = ("start", "end")


def meeting_applies(event: Event, config: RuleFile) -> str | None:
    """None when the built-in follow-up handles ``event``, else why not (for the explanation)."""
    if event.kind not in FOLLOWED_KINDS:
        return f"kind '{event.kind}' is not {' or '.join(FOLLOWED_KINDS)}"
    if not event.subject:
        return "the event has no subject: no earlier entry to follow"
    if event.kind == "calendar.changed":
        changes = event.data.get("changes")
        if not isinstance(changes, list) or not any(change in TIMES for change in changes):
            return "neither the start nor the end changed (a rule may rename the entry)"
        if meeting_times(event) is None:
            return "its start and end are not two times in order: nothing to move the entry to"
        return None
    calendar = config.calendar(str(event.data.get("calendar")))
    if calendar is not None and calendar.on_cancel == "keep":
        return "on_cancel is keep"
    if event.data.get("cancel_stage") == "before":
        return "cancelled before the meeting began: no entry exists yet"
    return None


def meeting_actions(event: Event, config: RuleFile, identity: str) -> list[Action]:
    """The follow-up's actions, for an event ``meeting_applies`` to."""
    common = {
        "identity": identity,
        "key": action_key(event.id, BUILTIN_CALENDAR_RULE, 0),
        "event_id": event.id,
        "rule": BUILTIN_CALENDAR_RULE,
        "occurred_at": event.occurred_at,
        "subject": event.subject,
        "priority": event_priority(event),
    }
    if event.kind == "calendar.changed":
        start, end = meeting_times(event) or (event.occurred_at, event.occurred_at)
        return [MoveAction.model_validate({**common, "start": start, "stop": end})]
    calendar = config.calendar(str(event.data.get("calendar")))
    on_cancel = calendar.on_cancel if calendar is not None else "delete"
    return [
        WithdrawAction.model_validate({**common, "finished": "delete" if on_cancel == "delete" else "keep"})
    ]


_TIME: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)


def meeting_times(event: Event) -> tuple[datetime, datetime] | None:
    """The meeting's new start and end, when the event has them as times in order."""
    try:
        start, end = (_TIME.validate_python(event.data.get(name)) for name in TIMES)
    except ValidationError:
        return None
    return (start, end) if start <= end else None
