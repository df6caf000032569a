"""Identities whose work waits until a given time (a quota reset, a backoff, a pacing window): a sorted set that
concurrent kicks respect and the beat's tick drains, so nothing waits in a long Celery countdown."""

from __future__ import annotations

import redis

from togglbridge.store import keys, text


class Parked:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def park(self, identity: str, until: float) -> None:
        """Hold the identity's work until ``until`` (the later of two parks wins)."""
        self._redis.zadd(keys.PARKED, {identity: until}, gt=True)  # GT still adds a new member

    def release(self, identity: str) -> None:
        self._redis.zrem(keys.PARKED, identity)

    def take_due(self, now: float) -> list[str]:
        """The identities whose wait is over at ``now``, removed from the set."""
        due = [text(member) for member in self._redis.zrangebyscore(keys.PARKED, 0, now)]
        if due:
            self._redis.zrem(keys.PARKED, *due)
        return due

    def identities(self) -> set[str]:
        return {text(member) for member in self._redis.zrange(keys.PARKED, 0, -1)}
