"""An identity's drain lock, taken and given back with what the drain must know at those moments, one round trip
each: taking it also says whether the identity is parked (and ends a park whose time is over) and, once taken,
what the head of the identity's work is (``next_action``'s answer); giving it back also says whether work arrived
meanwhile, which a kick into the busy lock could not start.

The lock is redis-py's ``Lock`` (a key holding a random token, with an expiry) so that ``reacquire`` keeps working;
only acquiring and releasing go through these scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import uuid4

import redis
from redis.commands.core import Script
from redis.lock import Lock

from togglbridge.store import keys, text
from togglbridge.store.next_action import NEXT_HEAD_LUA, Next, head_args, head_keys, parse_next

_ACQUIRE = (
    NEXT_HEAD_LUA
    + """
-- KEYS: 1 the lock, 2 the parked set, 3 main lane, 4 bulk lane, 5 the identity's state
-- ARGV: 1 identity, 2 token, 3 expiry (ms), 4 now (unix seconds), 5.. next_head's prefixes, now and intent ttl
local parked = redis.call('ZSCORE', KEYS[2], ARGV[1])
if parked and tonumber(parked) > tonumber(ARGV[4]) then return {'parked', parked} end
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return {'busy', parked or ''} end
if parked then redis.call('ZREM', KEYS[2], ARGV[1]) end
return {'locked', parked or '', next_head(KEYS[3], KEYS[4], KEYS[5], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])}
"""
)

_RELEASE = """
-- KEYS: 1 the lock, 2 main lane, 3 bulk lane, 4 the identity's state; ARGV: 1 token, 2 now (unix seconds)
local held = redis.call('GET', KEYS[1]) == ARGV[1]
if held then redis.call('DEL', KEYS[1]) end
local waiting = redis.call('ZCARD', KEYS[2])
if waiting == 0 then
  local bulk_held = tonumber(redis.call('HGET', KEYS[4], 'bulk_held_until') or '') or 0
  if bulk_held <= tonumber(ARGV[2]) then waiting = redis.call('ZCARD', KEYS[3]) end
end
return {held and 1 or 0, waiting}
"""

Taken = Literal["locked", "parked", "busy"]


@dataclass(frozen=True, slots=True)
class Acquired:
    state: Taken
    parked_until: float | None  # for "parked": until when
    head: Next | None = None  # for "locked": the head of the identity's work when the lock was taken


@dataclass(frozen=True, slots=True)
class Released:
    held: bool  # False: the lock had expired and another worker may have taken it
    work_waiting: bool  # actions a drain could take now (bulk work held behind the quota reserve is not)


@dataclass(frozen=True, slots=True)
class TakenLock:
    """A drain lock asked for ahead of its drain (``DrainLock.queue_acquire``), and the answer."""

    lock: DrainLock
    acquired: Acquired


class DrainLocks:
    """The scripts, registered once per Redis client; ``of`` makes one identity's lock."""

    def __init__(self, client: redis.Redis, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    def of(self, identity: str) -> DrainLock:
        return DrainLock(self._client, identity, self._timeout, self._acquire, self._release)


class DrainLock:
    def __init__(
        self, client: redis.Redis, identity: str, timeout: float, acquire: Script, release: Script
    ) -> None:
        self.identity = identity
        self._timeout = timeout
        self._acquire = acquire
        self._release = release
        self.lock: Lock = client.lock(
            keys.lock(identity), timeout=timeout, blocking=False, thread_local=False
        )
        self._given_back = False

    def acquire(self, now: float, *, mark_intent: bool = False) -> Acquired:
        """Take the lock unless the identity is parked until after ``now`` or another worker holds it.
        ``mark_intent``: also record the head's intent (``Next.intent_marked``), for a drain about to apply it."""
        token = uuid4().hex
        self._given_back = False
        reply = self._acquire(keys=self._acquire_keys(), args=self._acquire_args(token, now, mark_intent))
        return self._taken(reply, token, now)

    def queue_acquire(self, pipe: Any, now: float, *, mark_intent: bool = False) -> Callable[[Any], Acquired]:
        """``acquire`` in ``pipe`` (a transaction that queues work for this identity: the lock comes with its
        round trip); returns what reads the answer from its reply. As EVAL with the text, which a transaction can
        always run."""
        token = uuid4().hex
        self._given_back = False
        script_keys = self._acquire_keys()
        pipe.eval(_ACQUIRE, len(script_keys), *script_keys, *self._acquire_args(token, now, mark_intent))
        return lambda reply: self._taken(reply, token, now)

    def _acquire_keys(self) -> list[str]:
        return [keys.lock(self.identity), keys.PARKED, *head_keys(self.identity)]

    def _acquire_args(self, token: str, now: float, mark_intent: bool) -> list[Any]:
        return [self.identity, token, int(self._timeout * 1000), now, *head_args(now, mark_intent)]

    def _taken(self, reply: Any, token: str, now: float) -> Acquired:
        state, until = text(reply[0]), text(reply[1])
        if state == "locked":
            self.lock.local.token = token.encode()  # so that ``reacquire`` extends this holding
            return Acquired("locked", float(until) if until else None, parse_next(reply[2], now))
        return Acquired("parked" if state == "parked" else "busy", float(until) if until else None)

    def given_back(self) -> None:
        """The drain's last transaction gave the lock back, having found nothing left (``NextAction.queue`` with
        the lock's token): ``release`` has nothing to send."""
        self._given_back = True
        self.lock.local.token = None

    def release(self, now: float) -> Released:
        """Give the lock back (if it is still ours) and say whether work waits."""
        if self._given_back:
            self._given_back = False
            return Released(held=True, work_waiting=False)
        token = self.lock.local.token
        held, waiting = self._release(
            keys=[
                keys.lock(self.identity),
                keys.outbox(self.identity, "main"),
                keys.outbox(self.identity, "bulk"),
                keys.state(self.identity),
            ],
            args=[token or b"", now],
        )
        self.lock.local.token = None
        return Released(held=bool(int(held)), work_waiting=bool(int(waiting)))
