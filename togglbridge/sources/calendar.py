"""Calendar occurrences: one meeting on one day, as a feed shows it, and what a poll of a feed changes.

An occurrence is keyed by its UID and recurrence id (the original start of a recurring event's instance), so a
moved occurrence keeps its identity across polls. Pure: no I/O, no clock (``now`` is passed in).

``compare`` is a poll's whole effect: the events to accept now (an occurrence changed or cancelled while its entry
may exist), the triggers to (re)schedule for a meeting's start and end, the triggers to cancel, and the
occurrences to remember until the next poll. Every id it makes is a function of the occurrence and what happened
to it, never of the poll's time, so a re-poll, a restart or two pollers never queue anything twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from togglbridge.events import Event, Priority

Status = Literal["confirmed", "tentative", "cancelled"]
Attendance = Literal["accepted", "declined", "tentative", "needs-action"]
Mode = Literal["live", "log"]
CancelReason = Literal["cancelled", "deleted", "declined"]
CancelStage = Literal["before", "during", "after"]

SOURCE = "ics"
RETENTION = timedelta(days=2)
"""How long after its end an occurrence is remembered: a cancellation or a move of a meeting that ended within
this is still seen (and can correct its entry); a meeting that ended earlier is history, never backfilled."""

TIMED_CHANGES = ("start", "end", "title")
"""What a ``calendar.changed`` event is about: the fields an entry's times and description come from."""

CHANGED_FIELDS = ("previous_start", "previous_end", "previous_title", "changes")
"""The data a ``calendar.changed`` event has beyond an occurrence's: its times and title before the change, and
which of ``TIMED_CHANGES`` changed (a list, for ``{changes: {contains: title}}``)."""

CANCELLED_FIELDS = ("cancel_reason", "cancel_stage")
"""The data a ``calendar.cancelled`` event has beyond an occurrence's: why (``cancelled`` by its organizer,
``deleted`` from the feed, ``declined`` by the identity) and when (``before``, ``during`` or ``after`` the meeting,
by the times the bridge knew), so a rule can stop a running entry or remove a logged one."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a calendar event, with times in UTC."""

    uid: str
    recurrence_id: (
        str | None
    )  # the instance's original start (ISO 8601, UTC) for a recurring event; else None
    start: datetime
    end: datetime
    title: str
    all_day: bool = False
    status: Status = "confirmed"
    free: bool = False  # TRANSP:TRANSPARENT: the time shows as free
    my_status: Attendance | None = None  # the identity's own ATTENDEE PARTSTAT, when it is invited
    organizer: str | None = None
    location: str = ""
    description: str = ""
    sequence: int = 0

    @property
    def key(self) -> str:
        """Stable across polls, moves and renames: ``<uid>|<recurrence id>`` (the uid alone for a single event)."""
        return f"{self.uid}|{self.recurrence_id}" if self.recurrence_id else self.uid

    @property
    def active(self) -> bool:
        """Still a meeting of the identity's: neither cancelled by its organizer nor declined by the identity."""
        return self.status != "cancelled" and self.my_status != "declined"

    def event_id(self, calendar: str, phase: str) -> str:
        """The id of this occurrence's event in one phase (started, ended, changed, cancelled): the same on every
        poll, after a restart and from any poller, so an event is never queued twice."""
        return f"ics:{calendar}:{self.key}:{phase}"

    def data(self, calendar: str, mode: str) -> dict[str, Any]:
        """The event's ``data``, as the calendar kinds declare it (``sources/kinds.py``)."""
        return {
            "calendar": calendar,
            "uid": self.uid,
            "recurrence_id": self.recurrence_id,
            "title": self.title,
            "description": self.description,
            "location": self.location,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "duration_seconds": int((self.end - self.start).total_seconds()),
            "all_day": self.all_day,
            "organizer": self.organizer,
            "my_status": self.my_status,
            "mode": mode,
        }

    def to_json(self) -> str:
        """The occurrence as JSON, for the poller to remember between polls (``from_json`` reads it back)."""
        fields = asdict(self)
        fields.update(start=_iso(self.start), end=_iso(self.end))
        return json.dumps(fields, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Occurrence:
        fields = json.loads(raw)
        start, end = (datetime.fromisoformat(fields.pop(name)) for name in ("start", "end"))
        return cls(**fields, start=start, end=end)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An event due at a time. The poller schedules it as ``polling.Trigger(id, due, event)``: the id is the
    delivery id it is accepted with, so scheduling it again moves it, and firing it twice queues it once."""

    id: str
    due: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class Changes:
    """What one poll of a calendar changes; see ``compare``."""

    events: tuple[Event, ...] = ()  # to accept now, each with its own id as the delivery id
    schedule: tuple[Scheduled, ...] = ()  # to schedule, or move when already scheduled (same id)
    cancel: tuple[str, ...] = ()  # trigger ids to cancel (cancelling one that fired already changes nothing)
    known: dict[str, Occurrence] = field(default_factory=dict)  # to remember for the next poll, by key


def compare(
    known: Mapping[str, Occurrence],
    seen: Sequence[Occurrence],
    *,
    calendar: str,
    mode: Mode,
    now: datetime,
    retention: timedelta = RETENTION,
    window: tuple[datetime, datetime] | None = None,
    missed_after: datetime | None = None,
    declined_counts: bool = False,
) -> Changes:
    """What a poll that saw ``seen`` changes, given the occurrences ``known`` from the polls before.

    ``seen``: the feed's occurrences, filtered as the calendar wants, cancelled and declined ones included so that
    their cancellation is seen. ``window``: the span the poll expanded the feed over; a known occurrence missing
    from ``seen`` was deleted only if it lies in that span (None: the poll covers everything it could show).
    ``missed_after``: a new occurrence that ended before this is history, not a meeting the bridge missed while it
    was down: the poller passes its previous poll's time, or ``now`` on a feed's very first poll so that adding a
    calendar does not log its past days (None: the retention window's start). ``declined_counts``: a meeting the
    identity declined is still one of its meetings (the calendar's ``include: [declined]``), not a cancellation.

    - New: its triggers (live: ``calendar.started`` at its start and ``calendar.ended`` at its end; log: one
      ``calendar.ended`` at its end) are scheduled at the meeting's own times, past ones included: the tick fires
      a missed start or end at once, with the real time as ``occurred_at``, under the id it would have had live.
    - Modified (any field): its triggers are scheduled again with its new times and data (same ids: moved).
      Moved, resized or renamed while its entry may exist (live: started; log: ended) also gives a
      ``calendar.changed`` event now, with the previous values.
    - Cancelled, declined, or deleted from the feed: a ``calendar.cancelled`` event now, and its triggers
      cancelled.
    - Known occurrences that ended more than ``retention`` ago are forgotten, whatever the feed says of them.
    """
    if now.utcoffset() is None:
        raise ValueError("now needs a timezone")
    horizon = now - retention
    poll = _Poll(
        calendar,
        mode,
        now,
        horizon,
        history_until=max(horizon, missed_after) if missed_after is not None else horizon,
        window=window,
        declined_counts=declined_counts,
    )
    remembered = {key: occurrence for key, occurrence in known.items() if occurrence.end > horizon}
    latest = _latest_by_key(seen)
    parts = []
    for key in sorted(remembered.keys() | latest.keys()):
        before, after = remembered.get(key), latest.get(key)
        if before is None:
            parts.append(poll.new(latest[key]))
        elif after is None:
            parts.append(poll.missing(before))
        elif not poll.active(after):
            parts.append(poll.cancelled(before, after, _cancel_reason(after)))
        else:
            parts.append(poll.seen_again(before, after))
    return Changes(
        events=tuple(event for part in parts for event in part.events),
        schedule=tuple(trigger for part in parts for trigger in part.schedule),
        cancel=tuple(trigger_id for part in parts for trigger_id in part.cancel),
        known={key: occurrence for part in parts for key, occurrence in part.known.items()},
    )


@dataclass(frozen=True, slots=True)
class _Poll:
    """One poll of one calendar: what each occurrence's fate means, as its part of the poll's ``Changes``."""

    calendar: str
    mode: Mode
    now: datetime
    horizon: datetime  # a known occurrence that ended before this is forgotten
    history_until: datetime  # a new occurrence that ended before this is history, never backfilled
    window: tuple[datetime, datetime] | None
    declined_counts: bool

    def active(self, occurrence: Occurrence) -> bool:
        """Still one of the identity's meetings, as this calendar counts them."""
        return occurrence.active or (self.declined_counts and occurrence.status != "cancelled")

    def new(self, after: Occurrence) -> Changes:
        if not self.active(after) or after.end <= self.history_until:
            return Changes()
        return Changes(schedule=self.triggers(after), known={after.key: after})

    def missing(self, before: Occurrence) -> Changes:
        if not _covers(self.window, before):
            return Changes(known={before.key: before})  # out of the poll's sight, not deleted
        return self.cancelled(before, before, "deleted")

    def cancelled(self, before: Occurrence, after: Occurrence, reason: CancelReason) -> Changes:
        """``after`` is the last word of the feed on it (``before`` itself when deleted); the stage is by the
        times the bridge knew, which its triggers followed."""
        extra = {"cancel_reason": reason, "cancel_stage": _cancel_stage(before, self.now)}
        event_id = after.event_id(self.calendar, "cancelled")
        event = self.event(after, event_id, "calendar.cancelled", self.now, extra)
        return Changes(events=(event,), cancel=_trigger_ids(before, self.calendar))

    def seen_again(self, before: Occurrence, after: Occurrence) -> Changes:
        if after == before:
            return Changes(known={before.key: before})
        changed = self.changed(before, after)
        if after.end <= self.horizon:  # moved into the forgotten past: nothing of it fires any more
            return Changes(events=changed, cancel=_trigger_ids(before, self.calendar))
        # every phase again, with the new times and data: one that fired already fires again as a duplicate of
        # itself (same id), and one a downtime kept from firing fires with what the feed says now
        return Changes(events=changed, schedule=self.triggers(after), known={after.key: after})

    def changed(self, before: Occurrence, after: Occurrence) -> tuple[Event, ...]:
        """A ``calendar.changed`` event when the times or title changed and the entry may exist already; until
        then, rescheduling the triggers with the new data is all a change needs."""
        changes = [name for name in TIMED_CHANGES if getattr(before, name) != getattr(after, name)]
        if not changes or not _entry_may_exist(before, self.mode, self.now):
            return ()
        extra = {
            "previous_start": _iso(before.start),
            "previous_end": _iso(before.end),
            "previous_title": before.title,
            "changes": changes,
        }
        event_id = after.event_id(self.calendar, f"changed:{_change_digest(before, after)}")
        return (self.event(after, event_id, "calendar.changed", self.now, extra),)

    def triggers(self, occurrence: Occurrence) -> tuple[Scheduled, ...]:
        return phase_events(occurrence, calendar=self.calendar, mode=self.mode)

    def event(
        self,
        occurrence: Occurrence,
        event_id: str,
        kind: str,
        occurred_at: datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> Event:
        return _event(occurrence, self.calendar, self.mode, event_id, kind, occurred_at, extra)


def phase_events(
    occurrence: Occurrence, *, calendar: str, mode: Mode, priority: Priority | None = None
) -> tuple[Scheduled, ...]:
    """The events of an occurrence's phases (live: ``calendar.started`` and ``calendar.ended``; log: one
    ``calendar.ended``), each due at the meeting's own time, with the ids and data a poll gives them: what
    a preview shows and a backfill sends (``priority``: bulk, behind live work) are what polling makes."""
    scheduled = []
    for phase, kind, due in _phases(occurrence, mode):
        event_id = occurrence.event_id(calendar, phase)
        event = _event(occurrence, calendar, mode, event_id, kind, due, priority=priority)
        scheduled.append(Scheduled(event_id, due, event))
    return tuple(scheduled)


def _event(
    occurrence: Occurrence,
    calendar: str,
    mode: Mode,
    event_id: str,
    kind: str,
    occurred_at: datetime,
    extra: Mapping[str, Any] | None = None,
    *,
    priority: Priority | None = None,
) -> Event:
    return Event(
        id=event_id,
        source=SOURCE,
        kind=kind,
        occurred_at=occurred_at,
        actor=calendar,
        data={**occurrence.data(calendar, mode), **(extra or {})},
        subject=f"{calendar}|{occurrence.key}",  # two calendars may hold one invitation: each its own entry
        priority=priority,
    )


def _latest_by_key(seen: Sequence[Occurrence]) -> dict[str, Occurrence]:
    """One occurrence per key. A feed may show one twice (a recurring event's instance and the override that
    changes it): the higher sequence wins, and at the same sequence a cancelled or declined one, since an override
    that cancels an instance is the later word; past that, any fixed choice, so the feed's order never matters."""
    latest: dict[str, Occurrence] = {}
    for occurrence in seen:
        other = latest.get(occurrence.key)
        if other is None or _precedence(occurrence) > _precedence(other):
            latest[occurrence.key] = occurrence
    return latest


def _precedence(occurrence: Occurrence) -> tuple[int, bool, str]:
    return occurrence.sequence, not occurrence.active, occurrence.to_json()


def _covers(window: tuple[datetime, datetime] | None, occurrence: Occurrence) -> bool:
    if window is None:
        return True
    first, last = window  # [first, last), as the feed reader expands it (sources/ics.py)
    if occurrence.end > occurrence.start:
        return occurrence.start < last and occurrence.end > first
    return first <= occurrence.start < last  # an instant is in the window or not


def _phases(occurrence: Occurrence, mode: Mode) -> Iterator[tuple[str, str, datetime]]:
    """(phase, kind, due) of each trigger of the occurrence in ``mode``."""
    if mode == "live":
        yield "started", "calendar.started", occurrence.start
    yield "ended", "calendar.ended", occurrence.end


def _trigger_ids(occurrence: Occurrence, calendar: str) -> tuple[str, ...]:
    """Both phases whatever the mode: a trigger left from before the calendar's mode changed goes too."""
    return tuple(occurrence.event_id(calendar, phase) for phase, _, _ in _phases(occurrence, "live"))


def _entry_may_exist(before: Occurrence, mode: Mode, now: datetime) -> bool:
    """Whether the event that makes an entry fired already: until then a move only reschedules its triggers."""
    return (before.start if mode == "live" else before.end) <= now


def _change_digest(before: Occurrence, after: Occurrence) -> str:
    """Names one change: the same poll of the same state names it alike, any other change differently (moving
    a meeting back and forth twice the same way without the feed bumping its SEQUENCE is the one collision)."""
    shape = [[_iso(o.start), _iso(o.end), o.title] for o in (before, after)] + [after.sequence]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:12]


def _cancel_reason(after: Occurrence) -> CancelReason:
    return "cancelled" if after.status == "cancelled" else "declined"


def _cancel_stage(before: Occurrence, now: datetime) -> CancelStage:
    """Where the meeting stood, by the times the bridge knew, when its cancellation was seen."""
    if now < before.start:
        return "before"
    return "during" if now < before.end else "after"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
