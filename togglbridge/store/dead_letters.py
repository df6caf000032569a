"""Dead letters: actions Toggl refused (a 4xx other than 402, 409 and 429, twice), kept with Toggl's message.

One letter per action key: an action planned again (the same commit in a second push) and refused again replaces
its letter instead of adding a copy, and an action that later succeeds takes its letter away. The letters are a
list (oldest first, for people and ``status``) beside a hash from action key to the letter's exact text, which is
what lets a script remove a key's letter from the list.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from togglbridge.actions import ACTION_ADAPTER, Action
from togglbridge.store import keys, text
from togglbridge.store.outbox import Outbox

BY_KEY = f"{keys.DEAD_LETTERS}:by-key"  # hash: action key -> its letter, exactly as in the list

# KEYS: the list, the hash. ARGV: the action key, the new letter (empty: only remove the old one).
# Sent as EVAL with its text, in the callers' transactions: a registered script there costs a SCRIPT EXISTS round
# trip before every transaction (redis-py checks that pipelined scripts are loaded), and EVALSHA inside MULTI cannot
# recover from NOSCRIPT.
_REPLACE = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then redis.call('LREM', KEYS[1], 0, old) end
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[1], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
elseif old then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return old and 1 or 0
"""


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
        """The action's letter, replacing any earlier one of the same key (in ``pipe``'s transaction)."""
        pipe.eval(
            _REPLACE, 2, keys.DEAD_LETTERS, BY_KEY, action.key, letter(identity, action, status, message, at)
        )

    def discard(self, key: str, pipe: Any) -> None:
        """Drop the letter of an action that has now succeeded (a no-op for the usual action that had none)."""
        pipe.eval(_REPLACE, 2, keys.DEAD_LETTERS, BY_KEY, key, "")

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(text(raw)) for raw in self._redis.lrange(keys.DEAD_LETTERS, 0, -1)]

    def count(self) -> int:
        return int(self._redis.llen(keys.DEAD_LETTERS))

    def retry_one(self, key: str) -> str | None:
        """Put the dead letter of action ``key`` back in its identity's outbox; returns the identity to kick, or
        None when no letter has that key (retried already, or replaced). The letter is read under WATCH: a retry
        of all of them, or a new refusal of the same action, in between makes this one look again."""
        while True:
            with self._redis.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(BY_KEY, keys.DEAD_LETTERS)  # type: ignore[no-untyped-call]
                    raw = pipe.hget(BY_KEY, key)
                    if raw is None:
                        return None
                    found = json.loads(text(raw))
                    action = ACTION_ADAPTER.validate_python(found["action"])
                    pipe.multi()
                    Outbox(self._redis).put([action], pipe)
                    pipe.lrem(keys.DEAD_LETTERS, 1, text(raw))
                    pipe.hdel(BY_KEY, key)
                    pipe.execute()
                    return str(found["identity"])
                except redis.WatchError:
                    continue

    def retry(self) -> list[str]:
        """Put every dead letter back into its identity's outbox; returns the identities to kick. Each goes as
        ``retry_one`` puts it: leaving the list in the transaction that queues its action again."""
        identities = {
            identity
            for raw in self._redis.lrange(keys.DEAD_LETTERS, 0, -1)
            if (identity := self.retry_one(str(json.loads(text(raw))["key"]))) is not None
        }
        return sorted(identities)
