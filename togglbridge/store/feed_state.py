"""What a calendar feed remembers between polls, in one Redis hash: its validators, the occurrences it knows (as
JSON), the mode they were scheduled for, and its health (last success, last error, consecutive failures)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from togglbridge.store import keys, text


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """How a feed's polls go, for ``togglbridge status``."""

    last_success: str | None
    last_error: str | None
    failures: int
    known: int
    next_poll: float | None


def feed_fields(client: redis.Redis, name: str) -> dict[str, str]:
    return {text(k): text(v) for k, v in client.hgetall(keys.feed(name)).items()}


def feed_health(client: redis.Redis, name: str) -> FeedHealth:
    fields = feed_fields(client, name)
    due = client.zscore(keys.POLLS, name)
    return FeedHealth(
        last_success=fields.get("last_success") or None,
        last_error=fields.get("last_error") or None,
        failures=int(fields.get("failures") or 0),
        known=len(json.loads(fields["known"])) if fields.get("known") else 0,
        next_poll=float(due) if due is not None else None,
    )


def polled_feeds(client: redis.Redis) -> list[str]:
    """The feeds the bridge polls (or has polled), by name."""
    return sorted(text(member) for member in client.zrange(keys.POLLS, 0, -1))
