"""One card per identity: what runs now and since when, the time the bridge tracked today, the remaining quota
and its reset, work waiting or parked and why, and the last error. From Redis only: the dashboard spends no quota."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis

from togglbridge import status as status_parts
from togglbridge.config import Config
from togglbridge.store import keys, text
from togglbridge.store.identity_state import IdentityState, KnownEntry, Running, Unknown


@dataclass(frozen=True, slots=True)
class IdentityCard:
    name: str
    running: Running | None
    running_known: bool  # False: the bridge has not learned whether anything runs
    tracked_today_seconds: float
    entries_today: int
    waiting: int
    quota: dict[str, Any] | None
    parked_until: float | None
    held_until: float | None
    last_error: dict[str, Any] | None


def identity_cards(
    client: redis.Redis, config: Config | None, status: dict[str, Any], *, now: float
) -> list[IdentityCard]:
    """Every identity of the rule file, and any other the bridge holds work or quota for."""
    names = set(config.identities) if config else set()
    names |= set(status["outboxes"]) | set(status["quota"]) | {p["identity"] for p in status["parked"]}
    zone = ZoneInfo(config.defaults.timezone) if config else ZoneInfo("UTC")
    parked = {
        p["identity"]: p["until"] for p in status["parked"] if p["until"] > now
    }  # a past one ends at the tick
    errors: dict[str, dict[str, Any]] = {}
    for raw in client.lrange(keys.DEAD_LETTERS, 0, -1):  # newest first: the first one seen is the last error
        letter = json.loads(text(raw))
        errors.setdefault(str(letter.get("identity")), letter)
    # As Toggl last said, while the hour it counted lasts: once it is over the next answer tells the new count.
    quotas = {
        name: quota
        for name, quota in status_parts.quotas(client, sorted(names), now).items()
        if quota["resets_in_seconds"] != 0
    }
    return [
        _card(client, name, zone, now, status, parked.get(name), errors.get(name), quotas.get(name))
        for name in sorted(names)
    ]


def _card(
    client: redis.Redis,
    name: str,
    zone: ZoneInfo,
    now: float,
    status: dict[str, Any],
    parked_until: float | None,
    last_error: dict[str, Any] | None,
    quota: dict[str, Any] | None,
) -> IdentityCard:
    state = IdentityState(client, name)
    running = state.running()
    midnight = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    running_id = running.id if isinstance(running, Running) else None
    tracked, count = _tracked_since(client, name, midnight, datetime.fromtimestamp(now, zone), running_id)
    held = client.hget(keys.state(name), "bulk_held_until")
    held_until = float(held) if held and float(held) > now else None
    return IdentityCard(
        name=name,
        running=running if isinstance(running, Running) else None,
        running_known=not isinstance(running, Unknown),
        tracked_today_seconds=tracked,
        entries_today=count,
        waiting=int(status["outboxes"].get(name, 0)),
        quota=quota,
        parked_until=parked_until,
        held_until=held_until,
        last_error=last_error,
    )


def _tracked_since(
    client: redis.Redis, name: str, midnight: datetime, now: datetime, running_id: int | None
) -> tuple[float, int]:
    """The time of the timer and meeting entries the bridge made for ``name`` that overlap today, cut at midnight
    and now (the running one counts until now). Entries made in Toggl's app, logged ones (commits) and those a
    person deleted are not counted: the bridge keeps no view of them."""
    total = 0.0
    count = 0
    for raw in client.hvals(keys.entries(name)):
        entry = KnownEntry.from_json(raw)
        if entry.deleted or (entry.stop is None and entry.id != running_id):
            continue  # deleted by hand, or stopped somewhere the bridge did not see
        start = max(entry.start, midnight)
        stop = min(entry.stop or now, now)
        if stop > start:
            total += (stop - start) / timedelta(seconds=1)
            count += 1
    return total, count
