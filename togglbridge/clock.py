"""The calendar clock: when polls and meeting triggers are due. The real time, unless ``TOGGLBRIDGE_CLOCK_START``
names an instant (a demo of a past week, a test that walks a week in minutes): then the clock starts there and
runs at real speed.

Every process given the same start shares one anchor in Redis (the real time the first of them read the clock),
so a beat and its workers agree to the millisecond however far apart they started.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis

from togglbridge.store import keys


def calendar_now(client: redis.Redis, start: datetime | None) -> datetime:
    """The calendar clock's time, in UTC."""
    if start is None:
        return datetime.now(UTC)
    start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    anchor_key = keys.clock_anchor(start.astimezone(UTC).isoformat())
    client.set(anchor_key, time.time(), nx=True)
    anchor = float(client.get(anchor_key) or time.time())
    return datetime.fromtimestamp(start.timestamp() + time.time() - anchor, UTC)
