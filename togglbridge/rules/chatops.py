"""The built-in ``/toggl`` commands: what a ``chat.command`` event does when no rule of the user's took it over.

``start`` starts an entry, ``stop`` stops whatever runs, ``log`` makes a finished entry, ``tag`` and ``untag`` change
the running entry, ``resume`` starts again what ran last, ``undo`` takes back the bridge's last change (within 10 minutes), ``status``, ``today`` and ``week`` read (one Toggl request
each); all urgent, since a person is waiting, and followed up in their chat. ``help`` is the chat source's to answer.
A user rule that matches with ``stop: true`` replaces the built-ins.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from togglbridge.actions import (
    Action,
    LogAction,
    ReportAction,
    ResumeAction,
    StartAction,
    StopAction,
    TagAction,
    UndoAction,
    UntagAction,
    action_key,
)
from togglbridge.chat_text import ChatCommand, ChatCommandError
from togglbridge.events import Event
from togglbridge.rules.rule_file import RuleFile

CHAT_KIND = "chat.command"
BUILTIN_CHAT_RULE = "builtin:chat"
# A logged entry may end this far after the command (a clock a little ahead); further is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=1)


def chat_applies(event: Event, config: RuleFile) -> str | None:
    """None when the built-ins handle ``event``, else why not (for the explanation)."""
    if event.kind != CHAT_KIND:
        return f"kind '{event.kind}' is not {CHAT_KIND}"
    if not config.chat.enabled:
        return "chat.enabled is false"
    if config.chat.platforms is not None and event.source not in config.chat.platforms:
        return f"source '{event.source}' is not in chat.platforms: {', '.join(config.chat.platforms)}"
    return None


def chat_command(event: Event) -> ChatCommand:
    """The command the event carries; raises chat_text.ChatCommandError when it carries none."""
    return ChatCommand.from_event_data(event.data)


def chat_actions(event: Event, command: ChatCommand, config: RuleFile, identity: str) -> list[Action]:
    """The built-in command's actions: urgent, and followed up in the chat they came from. Raises
    ``ChatCommandError`` for a command that cannot be right (a ``log`` that ends in the future)."""
    common: dict[str, Any] = {
        "identity": identity,
        "key": action_key(event.id, BUILTIN_CHAT_RULE, 0),
        "event_id": event.id,
        "rule": BUILTIN_CHAT_RULE,
        "occurred_at": event.occurred_at,
        "subject": event.subject,
        "priority": "urgent",
        "follow_up": True,
    }
    verb = command.verb
    if verb == "stop":
        return [StopAction.model_validate({**common, "only": "any", "stop": event.occurred_at})]
    if verb == "start":
        return [
            StartAction.model_validate(
                {**common, **_entry(command, config, identity), "start": event.occurred_at}
            )
        ]
    if verb == "log":
        return [
            LogAction.model_validate(
                {**common, **_entry(command, config, identity), **_logged(command, event, config)}
            )
        ]
    if verb in ("tag", "untag"):
        model = TagAction if verb == "tag" else UntagAction
        return [model.model_validate({**common, "tags": command.tags, "target": "running"})]
    if verb in ("status", "today", "week"):
        since, until = _period(verb, event, config)
        return [ReportAction.model_validate({**common, "report": verb, "since": since, "until": until})]
    if verb == "resume":
        return [ResumeAction.model_validate({**common, "start": event.occurred_at})]
    if verb == "undo":
        return [UndoAction.model_validate(common)]
    return []  # help: the chat source answers it


def _entry(command: ChatCommand, config: RuleFile, identity: str) -> dict[str, Any]:
    """A new entry's fields: the command's, else the chat settings', else the file's defaults."""
    chat = config.chat
    identity_settings = config.identities.get(identity)
    workspace = identity_settings.workspace_id if identity_settings is not None else None
    billable = next(
        (b for b in (command.billable, chat.billable, config.defaults.billable) if b is not None), None
    )
    return {
        "description": command.description,
        "project": command.project if command.project is not None else chat.project,
        "tags": list(dict.fromkeys([*command.tags, *chat.tags])),
        "billable": billable,
        "workspace_id": workspace if workspace is not None else config.defaults.workspace_id,
    }


def _logged(command: ChatCommand, event: Event, config: RuleFile) -> dict[str, Any]:
    """When a logged entry was: ``at HH:MM`` is its start on the day named (today by default); without it, it
    ends at the command's time of day on that day. In the rule file's timezone."""
    zone = config.defaults.zone
    now = event.occurred_at.astimezone(zone)
    day = _day(command.day, now.date())
    seconds = command.duration_seconds or 0
    if command.at is not None:
        hour, minute = (int(part) for part in command.at.split(":"))
        start = datetime.combine(day, time(hour, minute), zone)
        end = start + timedelta(seconds=seconds)
    else:
        end = datetime.combine(day, now.timetz().replace(tzinfo=None), zone)
        start = end - timedelta(seconds=seconds)
    if end - now > FUTURE_TOLERANCE:
        when = f"{end:%H:%M}" if end.date() == now.date() else f"{end:%Y-%m-%d %H:%M}"
        raise ChatCommandError(
            f"That would end at {when}, which is still to come: log time already spent, or start a timer."
        )
    return {"start": start.astimezone(UTC), "end": end.astimezone(UTC), "duration_seconds": seconds}


def _day(named: str | None, today: date) -> date:
    if named in (None, "today"):
        return today
    if named == "yesterday":
        return today - timedelta(days=1)
    return date.fromisoformat(str(named))


def _period(verb: str, event: Event, config: RuleFile) -> tuple[datetime, datetime]:
    """The day (``status``, ``today``) or the week from Monday (``week``) of the event, from midnight to
    midnight in the file's zone: a day of 23 or 25 hours when the clocks change."""
    zone = config.defaults.zone
    local = event.occurred_at.astimezone(zone)
    first = local.date() - timedelta(days=local.weekday() if verb == "week" else 0)
    after = first + timedelta(days=7 if verb == "week" else 1)
    start, end = (datetime.combine(day, time(), zone).astimezone(UTC) for day in (first, after))
    return start, end
