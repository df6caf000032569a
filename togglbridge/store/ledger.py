"""The idempotency ledger: which actions have taken effect, and which creates were in flight.

``done`` is written in the same transaction that removes the action from its outbox, so an action is either
waiting or done. A create's ``intent`` is written before the request, so that if a worker dies between Toggl's
answer and the ``done`` write, the redelivered action looks the entry up instead of creating it twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis

from togglbridge.store import keys

DONE_TTL_SECONDS = 60 * 24 * 3600  # longer than any sender redelivers or any backfill reaches back
INTENT_TTL_SECONDS = 14 * 24 * 3600


class Ledger:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def done(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(keys.done(key))
        return json.loads(raw) if raw is not None else None

    def mark_done(self, key: str, result: dict[str, Any], pipe: Any) -> None:
        pipe.set(keys.done(key), json.dumps(result, default=str), ex=DONE_TTL_SECONDS)
        pipe.delete(keys.intent(key))

    def intent(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(keys.intent(key))
        return json.loads(raw) if raw is not None else None

    def have_intents(self, action_keys: Sequence[str]) -> list[bool]:
        """Whether each of these actions has an intent, in one read."""
        found = self._redis.mget([keys.intent(key) for key in action_keys]) if action_keys else []
        return [raw is not None for raw in found]

    def mark_intent(self, key: str, what: dict[str, Any]) -> None:
        self._redis.set(keys.intent(key), json.dumps(what, default=str), ex=INTENT_TTL_SECONDS)

    def clear_intent(self, key: str) -> None:
        self._redis.delete(keys.intent(key))
