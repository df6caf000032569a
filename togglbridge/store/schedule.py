"""Things due at a time, in Redis: a sorted set of members by due time, claimed atomically with a lease.

The pattern of parked identities, for anything that must happen at a time (a meeting's start and end, a feed's
next poll): nothing waits in a Celery countdown, which Redis would deliver again past its visibility timeout;
the beat's tick claims what is due. A claim moves each due member to ``now + lease`` in the same script that
reads it, so however many beats and workers look at once, a member is claimed once per lease; whoever claimed it
then marks it ``done`` (or puts it back at its next time). A claimer that dies leaves the member to be claimed
again when the lease runs out: nothing due is lost, and what it leads to must be idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from togglbridge.store import text

# KEYS: the schedule (sorted set), its payloads (hash). ARGV: now, lease seconds, at most this many.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
  table.insert(claimed, member)
  table.insert(claimed, redis.call('HGET', KEYS[2], member) or '')
end
return claimed
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A due member, now leased to the caller, with the payload it was scheduled with ('' for none)."""

    member: str
    payload: str


class Schedule:
    """One named schedule: ``put`` members at their due times, ``claim`` the due ones, mark them ``done``."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self._redis = client
        self.key = key
        self.payloads_key = f"{key}:payloads"
        self._claim = client.register_script(_CLAIM)

    def put(
        self, due: Mapping[str, float], payloads: Mapping[str, str] | None = None, pipe: Any = None
    ) -> None:
        """Schedule (or move) members to their due times (unix seconds), with optional payloads."""
        if not due:
            return
        target = pipe if pipe is not None else self._redis.pipeline(transaction=True)
        target.zadd(self.key, dict(due))
        if payloads:
            fields: dict[Any, Any] = dict(payloads)  # redis-py's mapping type is invariant in its keys
            target.hset(self.payloads_key, mapping=fields)
        if pipe is None:
            target.execute()

    def claim(self, now: float, *, lease: float, limit: int = 100) -> list[Claimed]:
        """The members due at ``now`` (oldest first, at most ``limit``), each leased for ``lease`` seconds."""
        flat = self._claim(keys=[self.key, self.payloads_key], args=[now, lease, limit])
        return [Claimed(text(flat[i]), text(flat[i + 1])) for i in range(0, len(flat), 2)]

    def done(self, *members: str, pipe: Any = None) -> None:
        """Remove members and their payloads: what they were due for has happened (or no longer will)."""
        if not members:
            return
        target = pipe if pipe is not None else self._redis.pipeline(transaction=True)
        target.zrem(self.key, *members)
        target.hdel(self.payloads_key, *members)
        if pipe is None:
            target.execute()

    def due_at(self, member: str) -> float | None:
        score = self._redis.zscore(self.key, member)
        return float(score) if score is not None else None

    def pending(self) -> int:
        return int(self._redis.zcard(self.key))
