"""The tasks: plan events, drain an identity's outbox, and the beat's tick. Thin wiring around togglbridge."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from celery import Task

from togglbridge.calendars import poll_calendar
from togglbridge.clock import calendar_now
from togglbridge.dispatch import Message, dispatch_with_waiting
from togglbridge.events import Event
from togglbridge.executor import DrainReport
from togglbridge.follow_ups import follow_up as send_follow_up
from togglbridge.polling import due_polls, fire_due_triggers, forget_polls, plan_polls, polled
from togglbridge.queues import TASK_DRAIN, TASK_FOLLOW_UP, TASK_PLAN, TASK_POLL, TASK_TICK
from togglbridge.runtime import runtime
from togglbridge.store.enqueue import RECEIVED_AT_HEADER, EventQueue, requeue_unplanned
from togglbridge.store.journal import iso_now
from togglbridge.store.keys import LAST_TICK
from togglbridge.store.waiting_plans import WaitingPlans
from workers.app import QUEUE_INGEST, QUEUE_MAINTENANCE, QUEUE_TOGGL, app

log = logging.getLogger(__name__)

# Waits up to this long are Celery countdowns; longer ones stay in the parked set for the beat's tick.
SHORT_WAIT_SECONDS = 60.0
TICK_SECONDS = 5.0
# A planning task applies at most this many actions itself, so new events do not wait behind a long backlog.
INLINE_ACTIONS = 20
# A planning task plans at most this many messages together: its own and those waiting right behind it.
PLAN_BATCH = 32
# An accepted message not planned this long after it was queued, with the queue empty, was lost between kombu's
# queue and a worker (planning takes milliseconds): queue it again.
UNPLANNED_GRACE_SECONDS = 15.0


def kick(identity: str, *, countdown: float | None = None) -> None:
    """Ask a worker to drain ``identity`` (a message carrying only the identity's name)."""
    drain_identity.apply_async((identity,), queue=QUEUE_TOGGL, countdown=countdown)


@app.task(name=TASK_PLAN, bind=True)
def plan_events(self: Task, events: list[dict[str, Any]]) -> None:
    """Plan a delivery's events, and those of the planning messages waiting behind it (``store.waiting_plans``),
    and queue their actions (``dispatch.dispatch_with_waiting``); then apply them right here when their identity
    is free (a task less per event, and a chat command's timer starts without another queue hop)."""
    state = runtime()
    # Read before anything is taken: a message that cannot be read fails alone, as it always did.
    own = Message(
        [Event.model_validate(event) for event in events], self.request.id, _received_at(self.request)
    )
    answered: list[str] = []
    planned = dispatch_with_waiting(
        state.redis,
        state.journal,
        state.config,
        own,
        _waiting_plans(),
        limit=PLAN_BATCH,
        answered=answered,
        locks=state.executor.locks,
    )
    tell(answered)
    for identity, taken in planned.in_drain_order():
        follow_up(state.executor.drain(identity, max_actions=INLINE_ACTIONS, taken=taken))


@app.task(name=TASK_DRAIN)
def drain_identity(identity: str) -> None:
    """Apply the identity's waiting actions in order; a short wait is rescheduled here, a long one is parked."""
    follow_up(runtime().executor.drain(identity))


def _received_at(request: Any) -> float | None:
    """When the receiver accepted the message (its header); None for messages sent before it had one."""
    value = getattr(request, RECEIVED_AT_HEADER, None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def tell(event_ids: list[str]) -> None:
    """Have a worker tell the chats waiting on these events what became of them."""
    for event_id in event_ids:
        chat_follow_up.apply_async((event_id,), queue=QUEUE_INGEST)


@app.task(name=TASK_FOLLOW_UP)
def chat_follow_up(event_id: str) -> None:
    """Tell the person who typed a chat command what became of it (``togglbridge.follow_ups``)."""
    state = runtime()
    send_follow_up(
        state.redis,
        state.journal,
        event_id,
        http=_http(),
        visibility=state.config.chat.reply,
        discord_api_url=str(state.settings.discord_api_url),
    )


def follow_up(report: DrainReport) -> None:
    """What a drain leaves to do: more work for another task, or a short wait as a countdown (a long wait
    stays parked for the beat's tick; a busy identity is its drainer's); and news for the chats waiting."""
    tell(report.follow_ups)
    if report.status == "more":
        kick(report.identity)
    elif report.status == "parked" and report.resume_at is not None:
        wait = report.resume_at - time.time()
        if wait <= SHORT_WAIT_SECONDS:
            kick(report.identity, countdown=max(0.0, wait))


@app.task(name=TASK_TICK)
def tick() -> None:
    """Fire the scheduled triggers that are due, wake identities whose wait is over and any whose work sits idle
    (a lost kick, a dead worker's lock)."""
    state = runtime()
    state.redis.set(LAST_TICK, iso_now())  # for `togglbridge status`: the beat is alive
    now = calendar_now(state.redis, state.settings.clock_start).timestamp()
    fired = fire_due_triggers(state.redis, _trigger_queue(), now)
    calendars = [calendar.name for calendar in state.config.calendars if calendar.enabled]
    plan_polls(state.redis, dict.fromkeys(calendars, now))  # a calendar new in the file is polled at once
    for name in due_polls(state.redis, now):
        poll_calendar_feed.apply_async((name,), queue=QUEUE_MAINTENANCE)
    requeued = requeue_unplanned(state.redis, QUEUE_INGEST, older_than=UNPLANNED_GRACE_SECONDS)
    woken = state.executor.due_identities()
    for identity in woken:
        kick(identity)
    # Celery's own lines about the tick are at DEBUG: say it here when the tick did something.
    if fired:
        log.info("tick: %d scheduled event(s) due", fired)
    if requeued:
        log.info("tick: %d accepted message(s) lost before planning were queued again", requeued)
    if woken:
        log.info("tick: woke %s", ", ".join(woken))


@app.task(name=TASK_POLL)
def poll_calendar_feed(name: str) -> None:
    """Read one calendar feed and queue what changed (``togglbridge.calendars``); then say when it is next due."""
    state = runtime()
    calendar = state.config.calendar(name)
    if calendar is None or not calendar.enabled:
        forget_polls(state.redis, [name])  # no longer in the rule file
        return
    next_due = poll_calendar(
        state.redis,
        _trigger_queue(),
        state.config,
        calendar,
        http=_http(),
        now=calendar_now(state.redis, state.settings.clock_start),
    )
    polled(state.redis, name, next_due.timestamp())


_http_client: httpx.Client | None = None


def _http() -> httpx.Client:
    """One connection pool per worker process for the calendar feeds."""
    global _http_client
    if _http_client is None:
        _http_client = httpx.Client()
    return _http_client


_queue: EventQueue | None = None
_waiting: WaitingPlans | None = None


def _waiting_plans() -> WaitingPlans:
    """The planning messages waiting behind a running planning task (built once per process)."""
    global _waiting
    if _waiting is None:
        _waiting = WaitingPlans(
            runtime().redis, queue=QUEUE_INGEST, task=TASK_PLAN, received_at_header=RECEIVED_AT_HEADER
        )
    return _waiting


def _trigger_queue() -> EventQueue:
    """The accept path scheduled events take, the same as a delivery's (built once per process)."""
    global _queue
    if _queue is None:
        state = runtime()
        _queue = EventQueue(
            state.redis,
            app,
            task=TASK_PLAN,
            queue=QUEUE_INGEST,
            journal_cap=state.settings.journal_max_events,
        )
    return _queue


app.conf.beat_schedule = {
    "togglbridge-tick": {"task": TASK_TICK, "schedule": TICK_SECONDS},
}
