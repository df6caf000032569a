"""An identity's drain lock on a real Redis: taking it says whether the identity is parked and ends a park that is
over; giving it back says whether work waits; ``reacquire`` still extends it."""

from __future__ import annotations

import redis

from togglbridge.store import keys
from togglbridge.store.drain_lock import DrainLocks

NOW = 1_800_000_000.0


def test_a_park_in_the_future_keeps_the_lock_free_and_one_that_is_over_ends(
    redis_client: redis.Redis,
) -> None:
    locks = DrainLocks(redis_client, timeout=30)
    redis_client.zadd(keys.PARKED, {"alice": NOW + 60})
    taken = locks.of("alice").acquire(NOW)
    assert (taken.state, taken.parked_until) == ("parked", NOW + 60)
    assert not redis_client.exists(keys.lock("alice"))
    taken = locks.of("alice").acquire(NOW + 61)
    assert taken.state == "locked" and redis_client.zscore(keys.PARKED, "alice") is None


def test_a_held_lock_is_busy_for_others_and_reacquire_extends_it(redis_client: redis.Redis) -> None:
    locks = DrainLocks(redis_client, timeout=30)
    mine = locks.of("alice")
    assert mine.acquire(NOW).state == "locked"
    assert locks.of("alice").acquire(NOW).state == "busy"
    redis_client.pexpire(keys.lock("alice"), 1000)
    mine.lock.reacquire()
    assert redis_client.pttl(keys.lock("alice")) > 20_000
    released = mine.release(NOW)
    assert released.held and not released.work_waiting
    assert locks.of("alice").acquire(NOW).state == "locked"


def test_the_release_says_whether_work_waits_and_whether_it_still_held_the_lock(
    redis_client: redis.Redis,
) -> None:
    locks = DrainLocks(redis_client, timeout=30)
    mine = locks.of("alice")
    mine.acquire(NOW)
    redis_client.zadd(keys.outbox("alice", "bulk"), {"k1": 1})
    redis_client.hset(keys.state("alice"), "bulk_held_until", NOW + 60)
    assert mine.release(NOW).work_waiting is False  # bulk work held behind the quota reserve
    mine.acquire(NOW)
    assert mine.release(NOW + 61).work_waiting is True
    mine.acquire(NOW)
    redis_client.delete(keys.lock("alice"))  # expired, and another worker took it
    redis_client.set(keys.lock("alice"), "someone-else")
    released = mine.release(NOW)
    assert not released.held and redis_client.get(keys.lock("alice")) == b"someone-else"
