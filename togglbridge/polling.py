"""Polled sources and scheduled triggers: how events nobody pushes enter the bridge.

A pushed source (``togglbridge.sources``) is handed a delivery by the receiver. A polled source is read on a
schedule: a calendar feed. Both end the same way, in ``EventQueue``'s accept script (dedupe by a delivery id,
queue for planning, journal), so the planner, the journal and the executor never know how an event arrived.

Where a polled source lives:

- its pure part, turning a feed's body into items and comparing a poll with what the last one saw (the events
  due now and the triggers due later), is a module of ``togglbridge.sources`` like any pushed source, tested
  with golden fixtures, and does no I/O;
- its fetching (HTTP with validators, CalDAV) and what it remembers between polls (the items it knows, the
  validators, the feed's health, under keys of its own) sit beside this module, used by a worker task;
- its events carry ``source`` = the source's name, and a delivery id that is stable per thing and phase (a
  meeting's occurrence and "started", say): a re-poll, a restart or two pollers never queue one twice.

When things happen: two schedules (``togglbridge.store.schedule``) that the beat's tick drains, the same
sorted-set-plus-tick pattern as parked identities (never a long Celery countdown):

- ``POLLS``: feed name -> when it is next due. ``due_polls`` claims due feeds with a lease, so one poll per feed
  per interval happens however many beats and workers run, and a poll whose worker died is claimed again once
  the lease runs out; the poller then puts the feed back at its next time with ``polled``.
- ``TRIGGERS``: trigger id -> when its event is due, with the event. ``fire_due_triggers`` claims the due ones,
  accepts their events with the trigger id as the delivery id (a trigger fired twice queues once), and marks
  them done. Rescheduling a trigger (a moved meeting) is ``schedule_triggers`` again with the same id; a
  cancelled one is ``cancel_triggers``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import redis

from togglbridge.events import Event
from togglbridge.store import keys
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.schedule import Schedule

log = logging.getLogger(__name__)

POLLS = keys.POLLS
TRIGGERS = keys.TRIGGERS
POLL_LEASE_SECONDS = 300.0  # a poll not reported back within this is claimed again
TRIGGER_LEASE_SECONDS = 60.0  # a claimed trigger not accepted within this is claimed again


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event due at a time: ``id`` is stable per thing and phase, and is the delivery id it is accepted with."""

    id: str
    due: datetime
    event: Event


def schedule_triggers(client: redis.Redis, triggers: Iterable[Trigger]) -> None:
    """Schedule triggers, or move ones already scheduled under the same ids to their new times and events."""
    listed = list(triggers)
    Schedule(client, TRIGGERS).put(
        {t.id: t.due.timestamp() for t in listed}, {t.id: t.event.model_dump_json() for t in listed}
    )


def cancel_triggers(client: redis.Redis, ids: Iterable[str]) -> None:
    Schedule(client, TRIGGERS).done(*ids)


def fire_due_triggers(client: redis.Redis, queue: EventQueue, now: float, *, limit: int = 500) -> int:
    """Accept the events of the triggers due at ``now``; returns how many were new (not fired before)."""
    schedule = Schedule(client, TRIGGERS)
    fired = 0
    for claimed in schedule.claim(now, lease=TRIGGER_LEASE_SECONDS, limit=limit):
        if not claimed.payload:  # its event is gone: nothing left to fire
            schedule.done(claimed.member)
            continue
        event = Event.model_validate_json(claimed.payload)
        accepted = queue.accept_sync(event.source, claimed.member, [event])
        fired += 0 if accepted.duplicate else 1
        schedule.done(claimed.member)
    return fired


def plan_polls(client: redis.Redis, next_due: Mapping[str, float]) -> None:
    """Make sure each feed has a due time (a feed already scheduled keeps its own)."""
    if next_due:
        client.zadd(POLLS, dict(next_due), nx=True)


def due_polls(
    client: redis.Redis, now: float, *, lease: float = POLL_LEASE_SECONDS, limit: int = 100
) -> list[str]:
    """The feeds due at ``now``, each leased to the caller: poll them, then report with ``polled``."""
    return [claimed.member for claimed in Schedule(client, POLLS).claim(now, lease=lease, limit=limit)]


def polled(client: redis.Redis, feed: str, next_due: float) -> None:
    """A poll of ``feed`` finished (or failed and backs off): it is next due at ``next_due``."""
    Schedule(client, POLLS).put({feed: next_due})


def forget_polls(client: redis.Redis, feeds: Iterable[str]) -> None:
    """Feeds no longer in the rule file are no longer polled."""
    Schedule(client, POLLS).done(*feeds)
