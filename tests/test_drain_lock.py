"""An identity's drain lock on a real Redis: taking it says whether the identity is parked and ends a park that is
over and, once taken, what the head of the work is; giving it back says whether work waits; ``reacquire``
still extends it."""

from __future__ import annotations

from typing import Any

import redis

from togglbridge.actions import ACTION_ADAPTER
from togglbridge.store import keys
from togglbridge.store.drain_lock import DrainLocks
from togglbridge.store.ledger import INTENT_TTL_SECONDS, Ledger
from togglbridge.store.next_action import Next, NextAction, parse_next
from togglbridge.store.outbox import Outbox

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


def test_taking_the_lock_answers_the_head_of_the_work_as_next_action_does(redis_client: redis.Redis) -> None:
    log = ACTION_ADAPTER.validate_python(
        {
            "type": "log",
            "identity": "alice",
            "key": "git:acme/webapp:abc|commits|0",
            "event_id": "git:acme/webapp:abc",
            "rule": "commits",
            "occurred_at": "2026-11-30T10:00:00Z",
            "end": "2026-11-30T10:00:00Z",
            "duration_seconds": 600,
        }
    )
    locks = DrainLocks(redis_client, timeout=30)
    mine = locks.of("alice")
    empty = mine.acquire(NOW)
    assert empty.head is not None and empty.head.key is None
    mine.release(NOW)
    with redis_client.pipeline(transaction=True) as pipe:
        Outbox(redis_client).put([log], pipe)
        pipe.execute()
    redis_client.hset(keys.state("alice"), mapping={"quota_remaining": 7, "quota_reset_at": NOW + 600})
    redis_client.set(keys.intent(log.key), "{}")
    taken = mine.acquire(NOW)
    assert taken.state == "locked" and taken.head == NextAction(redis_client)("alice", NOW)
    assert taken.head is not None and taken.head.action == log and taken.head.intent
    assert taken.head.quota == (7, NOW + 600)
    assert locks.of("alice").acquire(NOW).head is None  # busy: nothing read for a drain that cannot run


def test_the_last_transaction_gives_the_lock_back_when_nothing_is_left(redis_client: redis.Redis) -> None:
    locks = DrainLocks(redis_client, timeout=30)
    mine = locks.of("alice")
    assert mine.acquire(NOW).state == "locked"
    token = mine.lock.local.token
    assert token is not None

    def head_after_the_transaction(lock_token: bytes) -> Next:
        with redis_client.pipeline(transaction=True) as pipe:
            position = NextAction.queue(pipe, "alice", NOW, lock_token)
            return parse_next(pipe.execute()[position], NOW)

    redis_client.zadd(keys.outbox("alice", "main"), {"k1": 1})
    waiting = head_after_the_transaction(token)
    assert waiting.key == "k1" and not waiting.released and redis_client.exists(keys.lock("alice"))
    redis_client.delete(keys.outbox("alice", "main"))
    assert not head_after_the_transaction(b"another-holder").released
    assert redis_client.exists(keys.lock("alice"))
    empty = head_after_the_transaction(token)
    assert empty.key is None and empty.released and not redis_client.exists(keys.lock("alice"))


def _log(key: str = "git:acme/webapp:abc|commits|0") -> Any:
    return ACTION_ADAPTER.validate_python(
        {"type": "log", "identity": "alice", "key": key, "event_id": key.split("|")[0], "rule": "commits",
         "occurred_at": "2026-11-30T10:00:00Z", "end": "2026-11-30T10:00:00Z", "duration_seconds": 600}
    )  # fmt: skip


def test_a_read_for_a_drain_records_the_heads_intent_and_says_whether_one_was_there(
    redis_client: redis.Redis,
) -> None:
    """The create's intent is recorded by the read that hands the head to the drain (one write less before the
    request); the read still says whether an intent was there before, which is what calls for a lookup."""
    log = _log()
    with redis_client.pipeline(transaction=True) as pipe:
        Outbox(redis_client).put([log], pipe)
        pipe.execute()
    plain = NextAction(redis_client)("alice", NOW)
    assert not plain.intent and not plain.intent_marked and not redis_client.exists(keys.intent(log.key))

    first = NextAction(redis_client)("alice", NOW, mark_intent=True)
    assert not first.intent and first.intent_marked
    assert 0 < redis_client.ttl(keys.intent(log.key)) <= INTENT_TTL_SECONDS
    assert Ledger(redis_client).intent(log.key) == {}  # what the ledger reads back: an intent, no details

    locks = DrainLocks(redis_client, timeout=30)
    again = locks.of("alice").acquire(NOW, mark_intent=True).head
    assert again is not None and again.intent and again.intent_marked  # there before: a lookup is due


def test_no_intent_is_recorded_for_a_head_already_done_or_whose_data_expired(
    redis_client: redis.Redis,
) -> None:
    done, expired = _log("a|commits|0"), _log("b|commits|0")
    with redis_client.pipeline(transaction=True) as pipe:
        Outbox(redis_client).put([done], pipe)
        pipe.execute()
    redis_client.set(keys.done(done.key), "{}")
    head = NextAction(redis_client)("alice", NOW, mark_intent=True)
    assert head.done and not head.intent_marked and not redis_client.exists(keys.intent(done.key))
    redis_client.delete(keys.outbox("alice", "main"))
    redis_client.zadd(keys.outbox("alice", "main"), {expired.key: 1})  # its data is gone (expired)
    head = NextAction(redis_client)("alice", NOW, mark_intent=True)
    assert (
        head.action is None and not head.intent_marked and not redis_client.exists(keys.intent(expired.key))
    )


def test_the_transactions_read_records_the_next_intent_only_when_asked(redis_client: redis.Redis) -> None:
    log = _log()
    with redis_client.pipeline(transaction=True) as pipe:
        Outbox(redis_client).put([log], pipe)
        pipe.execute()
    for mark in (False, True):
        with redis_client.pipeline(transaction=True) as pipe:
            position = NextAction.queue(pipe, "alice", NOW, b"token", mark_intent=mark)
            head = parse_next(pipe.execute()[position], NOW)
        assert head.intent_marked is mark and bool(redis_client.exists(keys.intent(log.key))) is mark
