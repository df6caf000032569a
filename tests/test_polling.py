"""Scheduled triggers and polls on a real Redis: due things are claimed once however many claim at once, a claim
whose claimer died comes back after its lease, and a trigger's event enters the same accept path as a delivery."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.pipeline_support import running_pipeline, wait_for
from togglbridge.events import Event
from togglbridge.polling import (
    Trigger,
    cancel_triggers,
    due_polls,
    fire_due_triggers,
    plan_polls,
    polled,
    schedule_triggers,
)
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.store import keys
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.journal import Journal
from togglbridge.store.schedule import Schedule
from workers.app import app

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def meeting_event(phase: str, at: datetime) -> Event:
    return Event(
        id=f"ics:work:standup@2026-11-02:{phase}",
        source="ics",
        kind=f"calendar.{phase}",
        actor="work",
        occurred_at=at,
        subject="ics:work:standup@2026-11-02",
        data={"title": "Standup"},
    )


def trigger(phase: str, at: datetime) -> Trigger:
    event = meeting_event(phase, at)
    return Trigger(id=event.id, due=at, event=event)


def event_queue(client: redis.Redis) -> EventQueue:
    return EventQueue(client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=1000)


def test_a_due_trigger_fires_once_however_many_fire_at_once(redis_client: redis.Redis) -> None:
    schedule_triggers(redis_client, [trigger("started", NOW), trigger("ended", NOW + timedelta(minutes=15))])
    fired: list[int] = []

    def tick() -> None:
        own = redis.Redis(connection_pool=redis_client.connection_pool)
        fired.append(fire_due_triggers(own, event_queue(own), NOW.timestamp() + 1))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(fired) == 1
    assert redis_client.llen(QUEUE_INGEST) == 1  # one plan task, in the same queue as a delivery's
    (record,) = Journal(redis_client, cap=1000).event("ics:work:standup@2026-11-02:started")
    assert record["stage"] == "received" and record["kind"] == "calendar.started"
    assert Schedule(redis_client, "togglbridge:triggers").pending() == 1  # the end is still to come


def test_a_trigger_waits_for_its_time_and_fires_after(redis_client: redis.Redis) -> None:
    end = NOW + timedelta(minutes=15)
    schedule_triggers(redis_client, [trigger("ended", end)])
    assert fire_due_triggers(redis_client, event_queue(redis_client), NOW.timestamp()) == 0
    assert fire_due_triggers(redis_client, event_queue(redis_client), end.timestamp()) == 1
    assert redis_client.llen(QUEUE_INGEST) == 1


def test_a_moved_trigger_fires_at_its_new_time_and_a_cancelled_one_never(redis_client: redis.Redis) -> None:
    schedule_triggers(redis_client, [trigger("started", NOW)])
    later = NOW + timedelta(hours=1)
    schedule_triggers(redis_client, [trigger("started", later)])  # the meeting moved: same id, new time
    assert fire_due_triggers(redis_client, event_queue(redis_client), NOW.timestamp() + 60) == 0
    cancel_triggers(redis_client, [trigger("started", later).id])
    assert fire_due_triggers(redis_client, event_queue(redis_client), later.timestamp() + 60) == 0
    assert redis_client.llen(QUEUE_INGEST) == 0


def test_a_trigger_fired_again_after_a_crash_queues_nothing_twice(redis_client: redis.Redis) -> None:
    again = trigger("started", NOW)
    schedule_triggers(redis_client, [again])
    assert fire_due_triggers(redis_client, event_queue(redis_client), NOW.timestamp()) == 1
    schedule_triggers(redis_client, [again])  # a re-poll schedules it once more
    assert fire_due_triggers(redis_client, event_queue(redis_client), NOW.timestamp()) == 0
    assert redis_client.llen(QUEUE_INGEST) == 1


def test_a_poll_is_claimed_once_per_lease_and_again_when_its_poller_died(redis_client: redis.Redis) -> None:
    now = time.time()
    plan_polls(redis_client, {"work": now, "home": now + 300})
    plan_polls(redis_client, {"work": now + 999})  # a feed already scheduled keeps its time
    assert due_polls(redis_client, now, lease=60) == ["work"]
    assert due_polls(redis_client, now + 30, lease=60) == []  # leased to the first poller
    assert due_polls(redis_client, now + 61, lease=60) == ["work"]  # it died: claimed again
    polled(redis_client, "work", now + 361)
    assert due_polls(redis_client, now + 300, lease=60) == ["home"]
    assert redis_client.zscore(f"{keys.PREFIX}:polls", "work") == pytest.approx(now + 361)


LIVE_RULES = """
identities:
  ops:
    aliases: [work]
rules:
  - name: meetings
    on: calendar.started
    do:
      - start: {description: "{{ title }}"}
"""


def test_the_beat_fires_a_due_trigger_and_a_worker_applies_it(redis_url: str, tmp_path: Path) -> None:
    with running_pipeline(redis_url, LIVE_RULES, tmp_path, ["ops"]) as pipeline:
        started = datetime.now(UTC).replace(microsecond=0)
        event = meeting_event("started", started).model_copy(update={"data": {"title": "Standup"}})
        schedule_triggers(pipeline.redis, [Trigger(id=event.id, due=started, event=event)])

        def applied() -> bool:
            stages = [r["stage"] for r in Journal(pipeline.redis, cap=1000).event(event.id)]
            return "applied" in stages

        wait_for(applied, timeout=60, what="the trigger's event")
        (entry,) = [e for e in pipeline.sim.state.entries.values() if e.description == "Standup"]
        assert entry.stop is None  # a running timer, started by the scheduled event
