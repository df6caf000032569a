"""Dead letters: actions Toggl refused (a 4xx other than 402, 409 and 429), kept with Toggl's message."""

from __future__ import annotations

import json
from typing import Any

import redis

from togglbridge.actions import ACTION_ADAPTER, Action
from togglbridge.store import keys, text
from togglbridge.store.outbox import Outbox


def letter(identity: str, action: Action, status: int | None, message: str, at: float) -> str:
    return json.dumps(
        {
            "identity": identity,
            "key": action.key,
            "event_id": action.event_id,
            "action": json.loads(ACTION_ADAPTER.dump_json(action)),
            "status": status,
            "message": message,
            "at": round(at, 3),
        }
    )


class DeadLetters:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def add(
        self, identity: str, action: Action, status: int | None, message: str, at: float, pipe: Any
    ) -> None:
        pipe.rpush(keys.DEAD_LETTERS, letter(identity, action, status, message, at))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(text(raw)) for raw in self._redis.lrange(keys.DEAD_LETTERS, 0, -1)]

    def count(self) -> int:
        return int(self._redis.llen(keys.DEAD_LETTERS))

    def retry(self) -> list[str]:
        """Put every dead letter back into its identity's outbox; returns the identities to kick."""
        outbox = Outbox(self._redis)
        identities: set[str] = set()
        while (raw := self._redis.lpop(keys.DEAD_LETTERS)) is not None:
            action = ACTION_ADAPTER.validate_python(json.loads(text(raw))["action"])
            pipe = self._redis.pipeline(transaction=True)
            identities |= outbox.put([action], pipe)
            pipe.execute()
        return sorted(identities)
