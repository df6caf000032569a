"""The built-in ``/toggl`` commands: what a ``chat.command`` event does when no rule of the user's took it over.

``start`` starts an entry (urgent: a person is waiting), ``stop`` stops whatever runs, ``status`` and ``help`` change
nothing (the chat source answers them). A user rule that matches with ``stop: true`` replaces the built-ins.
"""

from __future__ import annotations

from togglbridge.actions import Action, StartAction, StopAction, action_key
from togglbridge.chat_text import ChatCommand
from togglbridge.events import Event
from togglbridge.rules.rule_file import RuleFile

CHAT_KIND = "chat.command"
BUILTIN_CHAT_RULE = "builtin:chat"


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
    common = {
        "identity": identity,
        "key": action_key(event.id, BUILTIN_CHAT_RULE, 0),
        "event_id": event.id,
        "rule": BUILTIN_CHAT_RULE,
        "occurred_at": event.occurred_at,
        "subject": event.subject,
        "priority": "urgent",
        "follow_up": True,
    }
    if command.verb == "stop":
        return [StopAction.model_validate({**common, "only": "any", "stop": event.occurred_at})]
    if command.verb != "start":
        return []
    chat = config.chat
    identity_settings = config.identities.get(identity)
    workspace = identity_settings.workspace_id if identity_settings is not None else None
    billable = next(
        (b for b in (command.billable, chat.billable, config.defaults.billable) if b is not None), None
    )
    tags = list(dict.fromkeys([*command.tags, *chat.tags]))
    start = {
        **common,
        "description": command.description,
        "project": command.project if command.project is not None else chat.project,
        "tags": tags,
        "billable": billable,
        "workspace_id": workspace if workspace is not None else config.defaults.workspace_id,
        "start": event.occurred_at,
    }
    return [StartAction.model_validate(start)]
