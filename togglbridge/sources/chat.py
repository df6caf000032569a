"""What the chat sources share: the text after ``/toggl`` read with the grammar (``chat_text``), and the one
``chat.command`` event a command becomes.

A chat source reads its platform's request into the text and a few fields of its own (channel, user name), then
calls ``read`` and ``command_event`` here, so that every platform makes the same event of the same command. Text
that does not parse, and ``help``, make no event: the immediate answer (the usage, the help) is all there is to
say, and the planner would do nothing with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from togglbridge.chat_text import ChatCommand, ChatCommandError, describe, parse_chat_command
from togglbridge.events import Event
from togglbridge.sources.base import PayloadError
from togglbridge.sources.kinds import PLANNED_KINDS, KindSchema

KIND = "chat.command"
KINDS: dict[str, KindSchema] = {KIND: PLANNED_KINDS[KIND]}
"""One kind, whose fields ``kinds.py`` declares for every chat platform."""

MAX_REPLY_CHARS = 2_000
"""Discord's limit for a message; the usage and the help are far shorter, this only bounds a hostile text."""


@dataclass(frozen=True, slots=True)
class Reading:
    """The text as read: a command to carry out (``command``), or only something to answer (``answer``)."""

    command: ChatCommand | None
    answer: str


def read(text: str) -> Reading:
    """The command in ``text``; for ``help`` and text that is not a command, only the answer (help or usage)."""
    try:
        command = parse_chat_command(text)
    except ChatCommandError as exc:
        return Reading(None, str(exc)[:MAX_REPLY_CHARS])
    if command.verb == "help":
        return Reading(None, describe(command)[:MAX_REPLY_CHARS])
    return Reading(command, describe(command)[:MAX_REPLY_CHARS])


def command_event(
    *,
    platform: str,
    event_id: str,
    actor: str,
    text: str,
    command: ChatCommand,
    fields: Mapping[str, str],
    received_at: datetime | None,
) -> Event:
    """The ``chat.command`` event of ``command`` typed as ``text`` by ``actor`` on ``platform``, with the platform's
    own ``fields`` (never a response URL or an interaction token). A command happens when it is received: no
    platform sends a time of its own (Discord's interaction id holds one, of the same instant)."""
    data = {**command.to_event_data(text), "platform": platform, **fields}
    try:
        return Event(
            id=event_id,
            source=platform,
            kind=KIND,
            occurred_at=received_at or datetime.now(UTC),
            actor=actor,
            data=data,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ())) or "the command"
        raise PayloadError(f"not a usable chat command: {where}: {problem.get('msg', 'invalid')}") from None
