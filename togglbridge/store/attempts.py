"""What the executor remembers of one action's failed tries: how many retries it had (for the backoff), and
whether it was already retried once after forgetting stale knowledge (a second refusal makes it dead)."""

from __future__ import annotations

from typing import Any

import redis

from togglbridge.store import keys

ATTEMPTS_TTL_SECONDS = 7 * 24 * 3600


def _attempts_key(key: str) -> str:
    return f"{keys.PREFIX}:attempts:{key}"


def _healed_key(key: str) -> str:
    return f"{keys.PREFIX}:healed:{key}"


class Attempts:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def count_retry(self, key: str) -> int:
        """Count one more retry of the action ``key``; returns how many it has had, this one included."""
        attempt = int(self._redis.incr(_attempts_key(key)))
        self._redis.expire(_attempts_key(key), ATTEMPTS_TTL_SECONDS)
        return attempt

    def heal_once(self, key: str) -> bool:
        """True the first time only (across drains): the action may be retried after forgetting what was learned."""
        return bool(self._redis.set(_healed_key(key), 1, nx=True, ex=ATTEMPTS_TTL_SECONDS))

    def forget(self, key: str, pipe: Any) -> None:
        """Done, or dead (planned again, it may retry and heal again)."""
        pipe.delete(_attempts_key(key), _healed_key(key))
