"""The plan stage: events in, actions queued in their identities' outboxes, and the journal told why.

Planning is pure (``rules.planner.plan``); this module only writes its result to Redis, in one transaction per
batch, and returns the identities that now have work. A planning task also plans the planning messages waiting
right behind its own (``dispatch_with_waiting``, ``store.waiting_plans``). Planning an event twice queues nothing new: actions are
keyed by their idempotency keys. The same transaction counts each event the first time it is planned, by outcome
(``store.metrics``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from togglbridge.actions import FOLLOWED_UP_KINDS, received
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.rules.planner import plan
from togglbridge.rules.toggl_changes import ECHO, LOOPING, is_entry_change
from togglbridge.store import echoes, metrics
from togglbridge.store.drain_lock import DrainLocks, TakenLock
from togglbridge.store.enqueue import forget_planned
from togglbridge.store.journal import Journal, record
from togglbridge.store.ledger import Ledger
from togglbridge.store.outbox import Outbox
from togglbridge.store.waiting_plans import WaitingPlans

log = logging.getLogger(__name__)


def plan_record(result: Any) -> str:
    """The journal's ``planned`` record: the identity, each rule's verdict, the actions and any errors."""
    # Only the rules' verdicts need pydantic's dump: the event and the actions' data are not part of it.
    rules = result.model_dump(mode="json", include={"rules"})["rules"]
    return record(
        "planned",
        identity=result.identity,
        identity_reason=result.identity_reason,
        rules=rules,
        actions=[{"key": a.key, "type": a.type, "rule": a.rule} for a in result.actions],
        errors=list(result.errors),
        note=result.note,
    )


def _as_rules_see_it(client: redis.Redis, config: Config, event: Event) -> Event:
    """A change made in Toggl, flagged when it is the bridge's own (an echo) or one of too many to the same entry
    (a loop): rules step aside for both (``rules.toggl_changes``)."""
    if not is_entry_change(event) or not isinstance(event.data.get("entry_id"), int):
        return event
    entry_id = int(event.data["entry_id"])
    created_by_us = (
        event.kind == "toggl.entry_created" and event.data.get("created_with") == config.defaults.created_with
    )
    changed_at = _time(event.data.get("at")) or event.occurred_at.timestamp()
    if created_by_us or echoes.is_echo(client, entry_id, changed_at):
        return event.model_copy(update={"data": {**event.data, ECHO: True}})
    if echoes.too_many_changes(client, entry_id):
        return event.model_copy(update={"data": {**event.data, LOOPING: True}})
    return event


def _time(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Message:
    """One accepted message's events. ``message_id``: the message whose safety copy goes in the planning
    transaction (None for events that came some other way); ``received_at``: when the receiver accepted it (unix
    time), carried on the actions."""

    events: Sequence[Event]
    message_id: str | None = None
    received_at: float | None = None


def dispatch(
    client: redis.Redis,
    journal: Journal,
    config: Config,
    events: Iterable[Event],
    *,
    message_id: str | None = None,
    answered: list[str] | None = None,
    received_at: float | None = None,
) -> set[str]:
    """Plan each event and queue its actions; returns the identities whose outboxes got work. ``answered``
    gets the events someone waits on in a chat whose story ends here (no identity, nothing to do). For the other
    arguments see ``Message``."""
    return dispatch_messages(
        client, journal, config, [Message(list(events), message_id, received_at)], answered
    )


def dispatch_messages(
    client: redis.Redis,
    journal: Journal,
    config: Config,
    messages: Sequence[Message],
    answered: list[str] | None = None,
) -> set[str]:
    """``dispatch`` for several messages at once, in one transaction: all of them planned, or none."""
    pipe = client.pipeline(transaction=True)
    identities = _plan_into(pipe, client, journal, config, messages, answered)
    pipe.execute()
    # (No trim here: planning only adds records to events the receiver's script indexed, and trimmed, already.)
    return identities


def _plan_into(
    pipe: Any,
    client: redis.Redis,
    journal: Journal,
    config: Config,
    messages: Sequence[Message],
    answered: list[str] | None,
) -> set[str]:
    """Queue the messages' planning on ``pipe``; the identities whose outboxes get work."""
    outbox = Outbox(client)
    identities: set[str] = set()
    for message in messages:
        received_at = message.received_at
        accepted = datetime.fromtimestamp(received_at, UTC) if received_at is not None else None
        counted: list[metrics.PlannedEvent] = []
        for event in message.events:
            event = _as_rules_see_it(client, config, event)
            result = plan(event, config)
            identities |= outbox.put(received(result.actions, accepted), pipe)
            journal.append(event.id, plan_record(result), pipe=pipe)
            outcome = metrics.event_outcome(result.identity, len(result.actions), len(result.errors))
            counted.append(
                metrics.PlannedEvent(
                    event.id, metrics.source_label(event.source), metrics.kind_label(event.kind), outcome
                )
            )
            # No action: this is the event's whole story, so say it (events with actions end in the executor).
            if not result.actions:
                why = "no identity" if result.identity is None else "no rule acted"
                log.info("event %s (%s): %s", event.id, event.kind, result.note or why)
                if answered is not None and event.kind in FOLLOWED_UP_KINDS:
                    answered.append(event.id)
        # After the journal's appends, before the message's copy goes.
        metrics.count_planned(pipe, message.message_id, counted)
        if message.message_id:
            forget_planned(pipe, message.message_id)
    return identities


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What a planning task planned: the identities with work, and the drain lock of one of them, asked for by the
    planning transaction itself (``dispatch_with_waiting``)."""

    identities: set[str]
    first: TakenLock | None = None

    def in_drain_order(self) -> list[tuple[str, TakenLock | None]]:
        """The identities to drain, the one whose lock was asked for first; each with that lock or None."""
        if self.first is None:
            return [(identity, None) for identity in sorted(self.identities)]
        first = self.first.lock.identity
        return [(first, self.first)] + [(identity, None) for identity in sorted(self.identities - {first})]


def dispatch_with_waiting(
    client: redis.Redis,
    journal: Journal,
    config: Config,
    own: Message,
    waiting: WaitingPlans,
    *,
    limit: int,
    answered: list[str] | None = None,
    locks: DrainLocks | None = None,
    now: float | None = None,
) -> Dispatched:
    """A planning task's own message planned, with up to ``limit - 1`` planning messages taken off the queue
    right behind it (``store.waiting_plans``). One round trip when nothing waits: the own message's transaction
    also takes what waits and, with ``locks``, asks for the drain lock of the first identity it gave work.

    Taken messages are planned in a second transaction. One whose events do not read is given back to fail in a
    task of its own; when that planning fails, every taken message is given back, to be planned without the one
    that failed."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=True)
    identities = _plan_into(pipe, client, journal, config, [own], answered)
    take_at = waiting.queue_take(pipe, limit - 1, now)
    drain_lock = locks.of(min(identities)) if locks is not None and identities else None
    answer = drain_lock.queue_acquire(pipe, now, mark_intent=True) if drain_lock is not None else None
    replies = pipe.execute()
    lock = (
        TakenLock(drain_lock, answer(replies[-1])) if drain_lock is not None and answer is not None else None
    )
    taken = waiting.read(replies[take_at])
    if not taken:
        return Dispatched(identities, lock)
    messages, read, unread = [], [], []
    for message in taken:
        try:
            events = [Event.model_validate(event) for event in message.events]
        except ValueError:
            unread.append(message)
            continue
        read.append(message)
        messages.append(Message(events, message.message_id, message.received_at))
    waiting.give_back(unread)
    try:
        identities |= dispatch_messages(client, journal, config, messages, answered)
    except Exception:
        waiting.give_back(read)
        if lock is not None and lock.acquired.state == "locked":
            # Its drain will not come: others may take the identity at once. What failed first is what the task
            # reports, whatever this meets.
            with contextlib.suppress(redis.RedisError):
                _forget_recorded_intent(client, lock)
                lock.lock.release(time.time())
        raise
    if lock is not None and lock.acquired.head is not None:
        # The taken messages may have queued work ahead of the head the lock's script read: the drain reads again.
        _forget_recorded_intent(client, lock)
        lock = TakenLock(lock.lock, replace(lock.acquired, head=None))
    return Dispatched(identities, lock)


def _forget_recorded_intent(client: redis.Redis, lock: TakenLock) -> None:
    """Take back the intent the lock's read recorded for its head: no apply of that head is sure to come next."""
    head = lock.acquired.head
    if head is not None and head.key is not None and head.intent_marked and not head.intent:
        Ledger(client).clear_intent(head.key)
