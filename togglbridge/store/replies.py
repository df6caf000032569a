"""Where chat commands' follow-ups go: each accepted event's ``ReplyChannel`` (a response URL, an interaction
token), kept for the worker that will know what became of the command.

They are secrets of the moment: only here, for as long as the platform honours them, never in the event, the
journal or a log; the follow-up takes its channel away once it has answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from togglbridge.sources.base import ReplyChannel
from togglbridge.store import keys

REPLY_TTL_SECONDS = 15 * 60  # Discord's interaction tokens last 15 minutes (Slack's response URLs 30)


async def keep(client: Any, event_ids: Iterable[str], channel: ReplyChannel) -> None:
    """Keep ``channel`` for each event (the receiver's asynchronous Redis client)."""
    pipe = client.pipeline(transaction=False)
    for event_id in event_ids:
        pipe.set(keys.reply(event_id), channel.to_json(), ex=REPLY_TTL_SECONDS)
    await pipe.execute()


def channel_of(client: Any, event_id: str) -> ReplyChannel | None:
    raw = client.get(keys.reply(event_id))
    return ReplyChannel.from_json(raw) if raw is not None else None


def claim(client: Any, event_id: str) -> ReplyChannel | None:
    """Take the channel for good (GETDEL): of two workers telling the same final story, one gets it."""
    raw = client.getdel(keys.reply(event_id))
    return ReplyChannel.from_json(raw) if raw is not None else None


def forget(client: Any, event_id: str) -> None:
    client.delete(keys.reply(event_id))
