"""Per-identity outboxes: planned actions waiting to be applied, in ``occurred_at`` order.

Each identity has a sorted set of action keys scored by the event's time (with the action's position in its plan as
a binary fraction, so one event's actions keep their order), and each action's JSON under its own key. Adding the
same action twice changes nothing (the key is the idempotency key), which makes re-planning an event harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import redis

from togglbridge.actions import ACTION_ADAPTER, Action
from togglbridge.store import keys, text

ACTION_TTL_SECONDS = 14 * 24 * 3600  # kept after applying, for the journal and dead letters
MAX_ACTIONS_PER_EVENT = 1024


def score(action: Action, position: int) -> float:
    """Milliseconds since the epoch, plus the action's position as an exact binary fraction."""
    milliseconds = int(action.occurred_at.timestamp() * 1000)
    return milliseconds + min(position, MAX_ACTIONS_PER_EVENT - 1) / MAX_ACTIONS_PER_EVENT


class Outbox:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def put(self, actions: Iterable[Action], pipe: Any) -> set[str]:
        """Queue actions on ``pipe``; returns the identities that now have work."""
        identities = set()
        for position, action in enumerate(actions):
            pipe.set(keys.action(action.key), ACTION_ADAPTER.dump_json(action), ex=ACTION_TTL_SECONDS)
            pipe.zadd(keys.outbox(action.identity), {action.key: score(action, position)}, nx=True)
            identities.add(action.identity)
        if identities:
            pipe.sadd(keys.IDENTITIES, *identities)
        return identities

    def head(self, identity: str) -> tuple[str, Action | None, float] | None:
        """The oldest waiting action's key, the action (None if its JSON has gone) and its score; None when
        the outbox is empty."""
        first = self._redis.zrange(keys.outbox(identity), 0, 0, withscores=True)
        if not first:
            return None
        member, order = cast(tuple[bytes, float], first[0])
        key = text(member)
        raw = self._redis.get(keys.action(key))
        return key, ACTION_ADAPTER.validate_json(raw) if raw is not None else None, float(order)

    def remove(self, identity: str, key: str, pipe: Any) -> None:
        pipe.zrem(keys.outbox(identity), key)

    def depth(self, identity: str) -> int:
        return int(self._redis.zcard(keys.outbox(identity)))

    def identities(self) -> list[str]:
        return sorted(text(member) for member in self._redis.smembers(keys.IDENTITIES))

    def depths(self) -> dict[str, int]:
        names = self.identities()
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.zcard(keys.outbox(name))
        return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
