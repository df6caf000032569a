"""Event: the one normalized shape every source produces, and everything downstream reads.

An event says what happened, once, in the sender's terms. It is plain JSON data (it travels in Celery messages and
is kept in the journal), so ``Event.model_validate(event.model_dump(mode="json")) == event`` always holds.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive time is refused because nobody can tell which instant it means."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a timezone, e.g. 2024-05-02T09:00:00Z or 2024-05-02T11:00:00+02:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def known_kinds() -> tuple[str, ...]:
    """The kinds the registered sources send (``togglbridge.sources.REGISTRY``); read when asked, because the
    sources import this module."""
    from togglbridge.sources import REGISTRY

    return REGISTRY.known_kinds


def handle_platforms() -> tuple[str, ...]:
    """What an actor handle can be: a platform whose handle list identities have (the registry's), or email."""
    from togglbridge.sources import REGISTRY

    return (*REGISTRY.handles, "email")


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""An aware datetime, converted to UTC; naive input is a validation error."""


def _require_utf8(value: str, where: str) -> str:
    """Refuse text that is not valid Unicode (a lone surrogate, as JSON's \\ud800 escape can carry): it could
    not be queued, journalled or sent to Toggl, so it is refused where it arrives."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} holds text that is not valid Unicode (a lone surrogate)") from None
    return value


def _text(value: str) -> str:
    return _require_utf8(value, "text")


Text = Annotated[str, AfterValidator(_text)]


MAX_DATA_DEPTH = 64
"""How deeply event data may nest: real payloads nest a handful of levels; the serializer gives up near 255."""


_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _require_json(data: dict[str, Any]) -> dict[str, Any]:
    """Refuse values JSON cannot carry (datetimes, sets, NaN, broken text, keys that are not text) and data
    nested deeper than ``MAX_DATA_DEPTH``, so the event survives the queue and the journal unchanged."""
    try:
        # One pass in Rust for the common case; the passthrough options make it refuse what it would convert.
        encoded = orjson.dumps(data, option=_STRICT_JSON)
    except TypeError as exc:
        _explain(data)  # walk again, slowly, to say exactly where
        raise ValueError(f"data cannot travel as JSON: {exc}") from None  # e.g. an integer beyond 64 bits
    if encoded.count(b"{") + encoded.count(b"[") > MAX_DATA_DEPTH:  # (a bound: braces inside strings count)
        _check_depth(data)
    if b"null" in encoded:
        # orjson writes NaN and infinities as null; the standard library's C encoder refuses them instead.
        try:
            json.dumps(data, allow_nan=False)
        except ValueError:
            _explain(data)
            raise
    return data


def _check_depth(data: dict[str, Any]) -> None:
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DATA_DEPTH:
            raise ValueError(f"data is nested more than {MAX_DATA_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((item, depth + 1) for item in children if isinstance(item, dict | list))


def _explain(data: dict[str, Any]) -> None:
    """Raise a ValueError naming where ``data`` holds something JSON cannot carry (if it does)."""
    pending: list[tuple[str, Any]] = [("data", data)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            _require_utf8(value, where)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} is {value}, which JSON cannot carry")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"{where} has a key {key!r} that is not text")
                _require_utf8(key, f"{where} key")
                pending.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        elif not (value is None or type(value) in (bool, int, float)):
            raise ValueError(f"{where} is a {type(value).__name__}; event data holds JSON values only")


def _handle_platform(value: str) -> str:
    """A username or user id on one platform, or an email address: each names the identity list of the rule file
    the handle is looked up in (``email`` names ``emails``)."""
    platforms = handle_platforms()
    if value not in platforms:
        raise ValueError(f"should be one of {', '.join(platforms)}")
    return value


Priority = Literal["urgent", "normal", "bulk"]
"""Urgent work (a chat command, a meeting's timer) goes before normal work, normal before bulk (a backfill)."""


class ActorHandle(BaseModel):
    """Another name a source knows for an event's actor: a push's actor is the pusher's email, and its handles
    include the pusher's GitHub login, so that an identity listing only ``github: [login]`` owns the push."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: Annotated[str, AfterValidator(_handle_platform)] = Field(
        description="Where the handle is looked up: a platform's handle list (github, slack...) or email."
    )
    handle: Text = Field(min_length=1, description="The username, user id or email address.")


class Event(BaseModel):
    """Something that happened in another tool, normalized."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Text = Field(
        min_length=1, description="Stable key from the sender: the same happening has the same id."
    )
    source: Text = Field(min_length=1, description="Who sent it: github, gitlab, slack, ics, generic, ...")
    kind: Text = Field(
        min_length=1, description="What happened: git.commit, calendar.started, chat.command, ..."
    )
    occurred_at: UtcDatetime = Field(description="When it happened (UTC).")
    actor: Text = Field(description="Who, in the sender's terms: an email, a chat user id, a calendar name.")
    actor_handles: tuple[ActorHandle, ...] = Field(
        default=(),
        description="Other names of the actor the source knows (a GitHub login beside an email), tried in order "
        "after the actor itself when looking for the event's identity.",
    )
    data: Annotated[dict[str, Any], AfterValidator(_require_json)] = Field(
        default_factory=dict, description="The source's fields, JSON values only."
    )
    subject: Text | None = Field(
        default=None,
        description="What related events share (a calendar occurrence), so an end can stop what a start began.",
    )
    delivery_id: Text | None = Field(
        default=None, description="The sender's id of the delivery that carried it."
    )
    priority: Priority | None = Field(
        default=None,
        description="How urgent its actions are, when the sender knows better than the kind (a backfill's are "
        "bulk: behind live work); None: as the rule or the kind says.",
    )
