"""A planning task takes the planning messages waiting right behind it (``store.waiting_plans``) and plans them
with its own (``dispatch.dispatch_with_waiting``), on a real Redis with the receiver's accept script and kombu's
own messages: only planning messages next in line, in order; given back untouched when they are not planned; and
safe against a task that dies holding them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import redis

from togglbridge import dispatch as dispatch_module
from togglbridge.config import parse_config
from togglbridge.dispatch import Dispatched, Message, dispatch_with_waiting
from togglbridge.events import Event
from togglbridge.queues import QUEUE_INGEST, TASK_FOLLOW_UP, TASK_PLAN
from togglbridge.store import keys
from togglbridge.store.drain_lock import DrainLocks
from togglbridge.store.enqueue import RECEIVED_AT_HEADER, EventQueue, requeue_unplanned, task_message
from togglbridge.store.journal import Journal
from togglbridge.store.metrics import EVENTS
from togglbridge.store.outbox import Outbox
from togglbridge.store.waiting_plans import PlanMessage, WaitingPlans
from workers.app import app, configure

pytestmark = pytest.mark.integration

RULES = """
identities:
  ana:
    emails: [ana@acme.io]
  bo:
    emails: [bo@acme.io]
rules:
  - name: log
    on: work.log
    do: [{log: {description: "{{ title }}", duration: 10m}}]
"""


@pytest.fixture
def celery_on_redis(redis_url: str) -> Iterator[None]:
    configure(app, redis_url)
    yield


def event(number: int, actor: str = "ana@acme.io", *, title: str | None = None) -> Event:
    return Event(
        id=f"generic:work-{number}",
        source="generic",
        kind="work.log",
        actor=actor,
        occurred_at=datetime(2026, 11, 30, 9, number % 60, tzinfo=UTC),
        data={"title": title or f"Work {number}"},
    )


def accept(client: redis.Redis, *events: Event) -> str:
    """Accept one delivery the receiver's way; its message's id."""
    EventQueue(client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=1000).accept_sync(
        "generic", None, list(events)
    )
    newest = client.lindex(QUEUE_INGEST, 0)
    assert newest is not None
    return str(json.loads(newest)["headers"]["id"])


def waiting(client: redis.Redis) -> WaitingPlans:
    return WaitingPlans(client, queue=QUEUE_INGEST, task=TASK_PLAN, received_at_header=RECEIVED_AT_HEADER)


def take(client: redis.Redis, limit: int, *, now: float | None = None) -> list[PlanMessage]:
    """What a planning task's transaction takes off the queue, on its own."""
    plans = waiting(client)
    with client.pipeline(transaction=True) as pipe:
        position = plans.queue_take(pipe, limit, now)
        return plans.read(pipe.execute()[position])


def queued(client: redis.Redis) -> list[bytes]:
    """The queue, next to be taken first."""
    return [item for item in reversed(client.lrange(QUEUE_INGEST, 0, -1)) if isinstance(item, bytes)]


def own_message(client: redis.Redis) -> Message:
    """Take the next message the way kombu's transport does (BRPOP's end) and read it as the task gets it."""
    envelope = client.rpop(QUEUE_INGEST)
    assert isinstance(envelope, bytes)
    data = json.loads(envelope)
    args = json.loads(base64.b64decode(data["body"]))[0]
    events = [Event.model_validate(item) for item in args[0]]
    return Message(events, data["headers"]["id"], data["headers"].get(RECEIVED_AT_HEADER))


def test_only_the_planning_messages_next_in_line_are_taken_oldest_first(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    first = [accept(redis_client, event(n)) for n in range(3)]
    follow_up = task_message(app, TASK_FOLLOW_UP, ["generic:work-0"], QUEUE_INGEST)
    redis_client.lpush(QUEUE_INGEST, follow_up)
    later = [accept(redis_client, event(n)) for n in range(3, 5)]
    before = queued(redis_client)

    taken = take(redis_client, 10)

    assert [message.message_id for message in taken] == first
    assert [message.events for message in taken] == [[event(n).model_dump(mode="json")] for n in range(3)]
    assert all(isinstance(message.received_at, float) for message in taken)
    # The chat's follow-up is next now, then the later deliveries: nothing behind it was taken or moved.
    assert queued(redis_client) == before[3:]
    assert json.loads(queued(redis_client)[0])["headers"]["task"] == TASK_FOLLOW_UP
    assert [json.loads(m)["headers"]["id"] for m in queued(redis_client)[1:]] == later


def test_at_most_the_limit_is_taken(redis_client: redis.Redis, celery_on_redis: None) -> None:
    ids = [accept(redis_client, event(n)) for n in range(5)]
    assert take(redis_client, 0) == []
    assert [message.message_id for message in take(redis_client, 2)] == ids[:2]
    assert [json.loads(m)["headers"]["id"] for m in queued(redis_client)] == ids[2:]


def test_kombus_own_planning_messages_are_taken_but_not_one_with_an_eta(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    """Messages Celery publishes itself (``apply_async``: kombu's JSON, spaced its way) read the same; one to run
    later belongs to a worker that holds it until then."""
    payload = [event(1).model_dump(mode="json")]
    app.send_task(TASK_PLAN, args=[payload], queue=QUEUE_INGEST)
    app.send_task(TASK_PLAN, args=[[event(2).model_dump(mode="json")]], queue=QUEUE_INGEST, countdown=60)

    taken = take(redis_client, 10)

    assert [message.events for message in taken] == [payload]
    assert taken[0].received_at is None  # Celery's own messages carry no acceptance time
    assert redis_client.llen(QUEUE_INGEST) == 1
    assert json.loads(queued(redis_client)[0])["headers"]["eta"] is not None


def test_a_body_that_does_not_read_is_given_back_where_it_was(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    good = accept(redis_client, event(1))
    envelope = json.loads(task_message(app, TASK_PLAN, [[event(2).model_dump(mode="json")]], QUEUE_INGEST))
    envelope["body"] = base64.b64encode(b"[not json").decode()
    redis_client.lpush(QUEUE_INGEST, json.dumps(envelope))
    after = accept(redis_client, event(3))

    taken = take(redis_client, 10)

    # Taken: the good one; the broken one is next, for a task of its own to fail on, and the one behind it after.
    assert [message.message_id for message in taken] == [good]
    front, *rest = queued(redis_client)
    assert json.loads(front)["body"] == envelope["body"]
    assert [json.loads(m)["headers"]["id"] for m in rest] == [after]
    assert redis_client.zscore(keys.UNPLANNED_AT, after) is not None


def test_given_back_messages_are_next_again_in_their_order(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    for n in range(4):
        accept(redis_client, event(n))
    before = queued(redis_client)
    waiting(redis_client).give_back(take(redis_client, 3))
    assert queued(redis_client) == before


def test_a_taken_message_is_not_queued_again_while_planned_but_is_after_its_task_died(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    message_id = accept(redis_client, event(1))
    redis_client.zadd(keys.UNPLANNED_AT, {message_id: 1_000.0})  # accepted long ago, as after a backlog

    taken = take(redis_client, 5, now=5_000.0)  # ... and its task dies now, before planning it

    assert [message.message_id for message in taken] == [message_id]
    assert redis_client.zscore(keys.UNPLANNED_AT, message_id) == 5_000.0
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=15, now=5_010.0) == 0  # may be planning
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=15, now=5_016.0) == 1  # it is lost: again
    again = take(redis_client, 5)
    assert [message.events for message in again] == [message.events for message in taken]


def test_a_task_plans_the_waiting_messages_with_its_own_in_one_go(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    config = parse_config(RULES, "rules.yaml")
    journal = Journal(redis_client, cap=1000)
    deliveries = [(event(n, "ana@acme.io" if n % 2 else "bo@acme.io"),) for n in range(6)]
    for delivery in deliveries:
        accept(redis_client, *delivery)
    own = own_message(redis_client)
    answered: list[str] = []

    planned = dispatch_with_waiting(redis_client, journal, config, own, waiting(redis_client), limit=4,
                                    answered=answered)  # fmt: skip

    assert planned.identities == {"ana", "bo"} and planned.first is None  # no locks were offered
    outbox = Outbox(redis_client)
    assert outbox.depths() == {"ana": 2, "bo": 2}  # four messages: its own and three taken
    assert redis_client.llen(QUEUE_INGEST) == 2  # the rest wait for the next task
    assert redis_client.hlen(keys.UNPLANNED_MESSAGES) == 2  # the planned ones' copies went with the plan
    planned_count = sum(float(v) for v in redis_client.hgetall(EVENTS.key).values())
    assert planned_count == 4
    # The next task takes the rest; planning any of them twice adds nothing.
    dispatch_with_waiting(
        redis_client, journal, config, own_message(redis_client), waiting(redis_client), limit=32
    )
    dispatch_with_waiting(redis_client, journal, config, own, waiting(redis_client), limit=32)
    assert outbox.depths() == {"ana": 3, "bo": 3}
    assert redis_client.hlen(keys.UNPLANNED_MESSAGES) == 0
    assert sum(float(v) for v in redis_client.hgetall(EVENTS.key).values()) == 6


def plan_with_locks(client: redis.Redis, config: Any) -> Dispatched:
    """What a planning task does with the next message on the queue."""
    locks = DrainLocks(client, timeout=60)
    journal = Journal(client, cap=1000)
    return dispatch_with_waiting(
        client, journal, config, own_message(client), waiting(client), limit=32, locks=locks
    )


def test_the_planning_transaction_asks_for_the_first_identitys_drain_lock(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    """Nothing waits: one round trip plans the message, finds nothing to take and takes the drain lock, whose
    answer carries the head the drain starts with."""
    config = parse_config(RULES, "rules.yaml")
    accept(redis_client, event(1), event(2, "bo@acme.io"))

    planned = plan_with_locks(redis_client, config)

    assert planned.first is not None
    assert planned.first.lock.identity == "ana"  # the first in order; bo's drain takes its own lock
    assert planned.first.acquired.state == "locked"
    assert redis_client.get(keys.lock("ana")) == planned.first.lock.lock.local.token
    assert redis_client.get(keys.lock("bo")) is None
    head = planned.first.acquired.head
    assert head is not None and head.action is not None and head.action.event_id == "generic:work-1"
    assert head.key is not None and head.intent_marked and not head.intent  # recorded for the create to come
    assert redis_client.exists(keys.intent(head.key))
    assert [identity for identity, _ in planned.in_drain_order()] == ["ana", "bo"]
    assert [taken is planned.first for _, taken in planned.in_drain_order()] == [True, False]


def test_a_drain_lock_asked_for_before_a_batch_reads_the_head_again(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    """The taken messages are planned after the lock's script read the head: they may have queued work ahead
    of it, so the drain must not start from that head."""
    config = parse_config(RULES, "rules.yaml")
    accept(redis_client, event(30))
    accept(redis_client, event(10))  # earlier work of the same identity, waiting behind
    planned = plan_with_locks(redis_client, config)

    assert planned.first is not None and planned.first.acquired.state == "locked"
    assert planned.first.acquired.head is None
    assert Outbox(redis_client).depths() == {"ana": 2}
    assert redis_client.keys(keys.intent("*")) == []  # the intent that read recorded is taken back


def test_a_busy_identitys_lock_is_not_taken_by_planning(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    config = parse_config(RULES, "rules.yaml")
    redis_client.set(keys.lock("ana"), "another worker's token")
    accept(redis_client, event(1))
    planned = plan_with_locks(redis_client, config)
    assert planned.first is not None and planned.first.acquired.state == "busy"
    assert redis_client.get(keys.lock("ana")) == b"another worker's token"


def test_a_taken_message_whose_events_do_not_read_is_left_to_a_task_of_its_own(
    redis_client: redis.Redis, celery_on_redis: None
) -> None:
    config = parse_config(RULES, "rules.yaml")
    accept(redis_client, event(1))
    broken = [{**event(2).model_dump(mode="json"), "occurred_at": "not a time"}]
    redis_client.lpush(QUEUE_INGEST, task_message(app, TASK_PLAN, [broken], QUEUE_INGEST))
    accept(redis_client, event(3))

    dispatch_with_waiting(
        redis_client, Journal(redis_client, cap=1000), config, own_message(redis_client), waiting(redis_client),
        limit=32,
    )  # fmt: skip

    assert Outbox(redis_client).depths() == {"ana": 2}
    left = queued(redis_client)
    assert len(left) == 1
    assert orjson.loads(base64.b64decode(json.loads(left[0])["body"]))[0][0] == broken


@pytest.mark.parametrize(
    ("poisoned", "planned", "copies"),
    [
        (0, {}, 4),  # the task's own message fails: nothing planned, nothing taken
        (2, {"ana": 1}, 3),  # a taken one fails: the task's own is planned, the taken ones are not
    ],
)
def test_when_planning_fails_the_taken_messages_go_back_unplanned_and_the_lock_too(
    redis_client: redis.Redis,
    celery_on_redis: None,
    monkeypatch: pytest.MonkeyPatch,
    poisoned: int,
    planned: dict[str, int],
    copies: int,
) -> None:
    config = parse_config(RULES, "rules.yaml")
    for n in range(4):
        accept(redis_client, event(n, title="poison" if n == poisoned else None))
    own = own_message(redis_client)
    before = queued(redis_client)
    real_plan = dispatch_module.plan  # type: ignore[attr-defined]

    def plan_failing_on_poison(item: Event, config: Any) -> Any:
        if item.data.get("title") == "poison":
            raise RuntimeError("a bug in a rule")
        return real_plan(item, config)

    monkeypatch.setattr(dispatch_module, "plan", plan_failing_on_poison)

    with pytest.raises(RuntimeError, match="a bug in a rule"):
        dispatch_with_waiting(
            redis_client, Journal(redis_client, cap=1000), config, own, waiting(redis_client), limit=32,
            locks=DrainLocks(redis_client, timeout=60),
        )  # fmt: skip

    assert queued(redis_client) == before  # the others are next, as they were: planned without the poison
    assert Outbox(redis_client).depths() == planned
    assert redis_client.hlen(keys.UNPLANNED_MESSAGES) == copies  # an unplanned message keeps its copy
    assert redis_client.get(keys.lock("ana")) is None  # no drain comes: the lock is not left to expire
    assert redis_client.keys(keys.intent("*")) == []
