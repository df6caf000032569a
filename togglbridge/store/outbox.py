"""Per-identity outboxes: planned actions waiting to be applied, in ``occurred_at`` order.

Each identity has a sorted set of action keys scored by the event's time (with the action's position in its plan as
a binary fraction, so one event's actions keep their order), and each action's JSON under its own key (compact: ``stored_action``). Adding the
same action twice changes nothing (the key is the idempotency key), which makes re-planning an event harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, cast

import redis

from togglbridge.actions import Action
from togglbridge.store import keys, stored_action, text

Lane = Literal["main", "bulk"]
LANES: tuple[Lane, ...] = ("main", "bulk")


def lane_of(action: Action) -> Lane:
    """Bulk work waits in its own lane; urgent and normal work share the main one, in time order."""
    return "bulk" if action.priority == "bulk" else "main"


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
            pipe.set(keys.action(action.key), stored_action.dump(action), ex=ACTION_TTL_SECONDS)
            lane = lane_of(action)
            pipe.zadd(keys.outbox(action.identity, lane), {action.key: score(action, position)}, nx=True)
            identities.add(action.identity)
        if identities:
            pipe.sadd(keys.IDENTITIES, *identities)
        return identities

    def peek(self, identity: str, lane: Lane, count: int) -> list[tuple[str, Action | None, float]]:
        """The lane's first ``count`` waiting actions, oldest first."""
        members = cast(
            list[tuple[bytes, float]],
            self._redis.zrange(keys.outbox(identity, lane), 0, count - 1, withscores=True),
        )
        if not members:
            return []
        raws = self._redis.mget([keys.action(text(member)) for member, _ in members])
        return [
            (key, stored_action.load(key, raw) if raw is not None else None, float(order))
            for key, order, raw in (
                (text(member), order, raw) for (member, order), raw in zip(members, raws, strict=True)
            )
        ]

    def remove(self, identity: str, key: str, pipe: Any) -> None:
        for lane in LANES:
            pipe.zrem(keys.outbox(identity, lane), key)

    def depth(self, identity: str, lane: Lane | None = None) -> int:
        """Actions waiting in one lane, or in all of them."""
        pipe = self._redis.pipeline(transaction=False)
        for name in (lane,) if lane else LANES:
            pipe.zcard(keys.outbox(identity, name))
        return sum(int(n) for n in pipe.execute())

    def identities(self) -> list[str]:
        return sorted(text(member) for member in self._redis.smembers(keys.IDENTITIES))

    def depths(self) -> dict[str, int]:
        names = self.identities()
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            for lane in LANES:
                pipe.zcard(keys.outbox(name, lane))
        counts = [int(n) for n in pipe.execute()]
        return {name: sum(counts[i * len(LANES) : (i + 1) * len(LANES)]) for i, name in enumerate(names)}
