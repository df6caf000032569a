"""The lifecycle of calendar occurrences, poll after poll: what a new, moved, renamed, cancelled or deleted meeting
makes happen, with a clock moved through a week, a bridge that goes down, and pollers that race.

``Bridge`` below stands in for the poller and the tick: it remembers what ``compare`` returns as ``known``, keeps
the scheduled triggers by id (scheduling an id again moves it), fires the due ones, and accepts events once per
id, as the accept script does with delivery ids.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from togglbridge.config import load_config
from togglbridge.events import Event
from togglbridge.rules.planner import plan
from togglbridge.sources.calendar import (
    CANCELLED_FIELDS,
    CHANGED_FIELDS,
    RETENTION,
    Changes,
    Mode,
    Occurrence,
    Scheduled,
    compare,
)
from togglbridge.sources.kinds import PLANNED_KINDS

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = "alice-work"
MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of MONDAY: day 0 is Monday."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def meeting(
    start: datetime,
    minutes: int = 15,
    *,
    uid: str = "standup@acme.io",
    recurring: bool = True,
    title: str = "Daily stand-up",
    **fields: Any,
) -> Occurrence:
    """A stand-up; recurring, its recurrence id is the start it is given here (move it with ``moved``)."""
    recurrence_id = start.isoformat().replace("+00:00", "Z") if recurring else None
    return Occurrence(uid, recurrence_id, start, start + timedelta(minutes=minutes), title, **fields)


def moved(occurrence: Occurrence, start: datetime, minutes: int | None = None, **fields: Any) -> Occurrence:
    length = occurrence.end - occurrence.start if minutes is None else timedelta(minutes=minutes)
    return replace(occurrence, start=start, end=start + length, **fields)


@dataclass
class Bridge:
    """One calendar's poller and the tick, over a store of triggers and a ledger of accepted ids."""

    mode: Mode = "live"
    known: dict[str, Occurrence] = field(default_factory=dict)
    triggers: dict[str, Scheduled] = field(default_factory=dict)
    accepted: dict[str, Event] = field(default_factory=dict)  # by delivery id, in the order accepted
    last_poll: datetime | None = None

    def poll(self, seen: list[Occurrence], now: datetime, **options: Any) -> Changes:
        self.tick(now)  # the tick runs every few seconds: whatever was due has fired before a poll
        changes = compare(self.known, seen, calendar=CALENDAR, mode=self.mode, now=now, **options)
        for event in changes.events:
            self.accept(event)
        for trigger in changes.schedule:
            self.triggers[trigger.id] = trigger
        for trigger_id in changes.cancel:
            self.triggers.pop(trigger_id, None)
        self.known = changes.known
        self.last_poll = now
        self.tick(now)
        return changes

    def tick(self, now: datetime) -> list[Event]:
        due = sorted((t for t in self.triggers.values() if t.due <= now), key=lambda t: (t.due, t.id))
        fired = []
        for trigger in due:
            del self.triggers[trigger.id]
            if self.accept(trigger.event):
                fired.append(trigger.event)
        return fired

    def accept(self, event: Event) -> bool:
        if event.id in self.accepted:
            return False
        self.accepted[event.id] = event
        return True

    def kinds(self) -> list[tuple[str, datetime]]:
        return [(event.kind, event.occurred_at) for event in self.accepted.values()]


def ids(changes: Changes) -> dict[str, list[str]]:
    return {
        "events": [event.id for event in changes.events],
        "schedule": [trigger.id for trigger in changes.schedule],
        "cancel": list(changes.cancel),
    }


def nothing_but(known: dict[str, Occurrence], changes: Changes) -> bool:
    return changes == Changes(known=known)


STANDUP = meeting(at(1, 9))  # Tuesday 09:00-09:15
STARTED = STANDUP.event_id(CALENDAR, "started")
ENDED = STANDUP.event_id(CALENDAR, "ended")
CANCELLED = STANDUP.event_id(CALENDAR, "cancelled")


# -- new meetings -------------------------------------------------------------------------------------------------


def test_a_new_meeting_schedules_its_start_and_end_at_its_own_times() -> None:
    changes = compare({}, [STANDUP], calendar=CALENDAR, mode="live", now=at(0, 12))
    assert changes.events == ()
    assert changes.cancel == ()
    assert changes.known == {STANDUP.key: STANDUP}
    started, ended = changes.schedule
    assert (started.id, started.due, ended.id, ended.due) == (STARTED, at(1, 9), ENDED, at(1, 9, 15))
    for trigger, kind in ((started, "calendar.started"), (ended, "calendar.ended")):
        event = trigger.event
        assert (event.id, event.kind, event.occurred_at) == (trigger.id, kind, trigger.due)
        assert (event.source, event.actor, event.subject) == ("ics", CALENDAR, f"{CALENDAR}|{STANDUP.key}")
        assert event.data == STANDUP.data(CALENDAR, "live")


def test_in_log_mode_a_meeting_is_one_event_after_its_end() -> None:
    changes = compare({}, [STANDUP], calendar=CALENDAR, mode="log", now=at(0, 12))
    (ended,) = changes.schedule
    assert (ended.id, ended.due, ended.event.kind) == (ENDED, at(1, 9, 15), "calendar.ended")
    assert ended.event.data["mode"] == "log"


def test_a_re_poll_of_the_same_state_changes_nothing() -> None:
    first = compare({}, [STANDUP], calendar=CALENDAR, mode="live", now=at(0, 12))
    for now in (at(0, 12, 5), at(1, 9, 5), at(1, 10)):
        again = compare(first.known, [STANDUP], calendar=CALENDAR, mode="live", now=now)
        assert nothing_but(first.known, again)


def test_cancelled_and_declined_meetings_never_known_are_ignored() -> None:
    seen = [
        replace(STANDUP, status="cancelled"),
        meeting(at(1, 11), uid="planning@acme.io", my_status="declined"),
    ]
    assert nothing_but({}, compare({}, seen, calendar=CALENDAR, mode="live", now=at(0, 12)))


def test_a_feed_showing_one_occurrence_twice_counts_its_latest_word() -> None:
    override = moved(STANDUP, at(1, 10), sequence=1)
    changes = compare({}, [override, STANDUP], calendar=CALENDAR, mode="live", now=at(0, 12))
    assert changes.known == {STANDUP.key: override}
    cancelling = replace(STANDUP, status="cancelled")
    changes = compare({}, [STANDUP, cancelling], calendar=CALENDAR, mode="live", now=at(0, 12))
    assert changes.known == {} and changes.schedule == ()
    twins = [replace(STANDUP, location="Room 1"), replace(STANDUP, location="Room 2")]
    one_way = compare({}, twins, calendar=CALENDAR, mode="live", now=at(0, 12))
    assert one_way == compare({}, twins[::-1], calendar=CALENDAR, mode="live", now=at(0, 12))


# -- moves, resizes and renames ---------------------------------------------------------------------------------


def test_a_move_before_the_start_only_reschedules() -> None:
    known = {STANDUP.key: STANDUP}
    later = moved(STANDUP, at(1, 10))
    changes = compare(known, [later], calendar=CALENDAR, mode="live", now=at(0, 12))
    assert changes.events == () and changes.cancel == ()
    assert [(t.id, t.due) for t in changes.schedule] == [(STARTED, at(1, 10)), (ENDED, at(1, 10, 15))]
    assert changes.schedule[0].event.data["start"] == "2026-11-03T10:00:00Z"
    assert changes.known == {STANDUP.key: later}


def test_a_meeting_moved_while_it_runs_says_so_with_its_previous_times() -> None:
    known = {STANDUP.key: STANDUP}
    later = moved(STANDUP, at(1, 9, 5), minutes=30)
    changes = compare(known, [later], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
    (changed,) = changes.events
    assert changed.kind == "calendar.changed"
    assert changed.id.startswith(STANDUP.event_id(CALENDAR, "changed:"))
    assert (changed.occurred_at, changed.subject) == (at(1, 9, 7), f"{CALENDAR}|{STANDUP.key}")
    assert changed.data == {
        **later.data(CALENDAR, "live"),
        "previous_start": "2026-11-03T09:00:00Z",
        "previous_end": "2026-11-03T09:15:00Z",
        "previous_title": "Daily stand-up",
        "changes": ["start", "end"],
    }
    # the end is rescheduled; the start fired already, and firing it again is a no-op under its id
    assert [(t.id, t.due) for t in changes.schedule] == [(STARTED, at(1, 9, 5)), (ENDED, at(1, 9, 35))]


def test_resized_and_renamed_meetings_name_what_changed() -> None:
    known = {STANDUP.key: STANDUP}
    longer = moved(STANDUP, STANDUP.start, minutes=45)
    renamed = replace(STANDUP, title="Stand-up and planning")
    for changed_to, changes_named in ((longer, ["end"]), (renamed, ["title"])):
        changes = compare(known, [changed_to], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
        (changed,) = changes.events
        assert changed.data["changes"] == changes_named
        assert changed.data["previous_title"] == "Daily stand-up"
        assert changed.data["title"] == changed_to.title


def test_a_change_that_is_not_about_times_or_title_reschedules_without_an_event() -> None:
    known = {STANDUP.key: STANDUP}
    described = replace(STANDUP, description="Bring the release notes", sequence=1)
    changes = compare(known, [described], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
    assert changes.events == ()
    assert [t.event.data["description"] for t in changes.schedule] == ["Bring the release notes"] * 2


def test_each_distinct_change_is_its_own_event_and_a_re_poll_is_not_a_new_one() -> None:
    bridge = Bridge()
    bridge.poll([STANDUP], at(0, 12))
    states = [
        moved(STANDUP, at(1, 9, 5)),
        moved(STANDUP, at(1, 9, 5), title="Stand-up (short)"),
        moved(STANDUP, at(1, 9, 5)),  # renamed back: the same times and title as two changes ago
        moved(STANDUP, at(1, 9, 10)),
    ]
    change_ids = []
    for minute, state in enumerate(states, start=6):
        (changed,) = bridge.poll([state], at(1, 9, minute)).events
        change_ids.append(changed.id)
        assert bridge.poll([state], at(1, 9, minute) + timedelta(seconds=30)).events == ()  # again
    assert len(set(change_ids)) == len(states)


def test_a_racing_poller_names_the_same_change_alike() -> None:
    known = {STANDUP.key: STANDUP}
    later = moved(STANDUP, at(1, 9, 5))
    first = compare(known, [later], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
    second = compare(known, [later], calendar=CALENDAR, mode="live", now=at(1, 9, 8))
    assert ids(first) == ids(second)
    assert first.known == second.known


def test_in_log_mode_a_change_matters_once_the_meeting_is_logged() -> None:
    known = {STANDUP.key: STANDUP}
    later = moved(STANDUP, at(1, 9, 5))
    during = compare(known, [later], calendar=CALENDAR, mode="log", now=at(1, 9, 7))
    assert during.events == ()
    assert [(t.id, t.due) for t in during.schedule] == [(ENDED, at(1, 9, 20))]
    after = compare(known, [later], calendar=CALENDAR, mode="log", now=at(1, 18))
    (changed,) = after.events
    assert changed.data["previous_end"] == "2026-11-03T09:15:00Z" and changed.data["mode"] == "log"


def test_a_meeting_moved_into_the_forgotten_past_fires_nothing_more() -> None:
    known = {STANDUP.key: STANDUP}
    long_ago = moved(STANDUP, at(-7, 9))
    changes = compare(known, [long_ago], calendar=CALENDAR, mode="live", now=at(0, 12))
    assert changes.schedule == () and changes.events == ()
    assert set(changes.cancel) == {STARTED, ENDED}
    assert changes.known == {}


# -- cancellations --------------------------------------------------------------------------------------------


def cancellation(before: Occurrence, seen: list[Occurrence], now: datetime, mode: Mode = "live") -> Changes:
    changes = compare({before.key: before}, seen, calendar=CALENDAR, mode=mode, now=now)
    assert changes.known == {}
    assert changes.schedule == ()
    assert set(changes.cancel) == {STARTED, ENDED}
    return changes


def test_a_cancellation_says_why_and_where_the_meeting_stood() -> None:
    cancelled = replace(STANDUP, status="cancelled", sequence=2)
    declined = replace(STANDUP, my_status="declined")
    cases = [
        ([cancelled], at(0, 12), "cancelled", "before"),
        ([cancelled], at(1, 9, 5), "cancelled", "during"),
        ([cancelled], at(2, 8), "cancelled", "after"),
        ([], at(0, 12), "deleted", "before"),
        ([], at(1, 9, 5), "deleted", "during"),
        ([], at(2, 8), "deleted", "after"),
        ([declined], at(0, 12), "declined", "before"),
        ([declined], at(1, 9, 5), "declined", "during"),
    ]
    for seen, now, reason, stage in cases:
        (event,) = cancellation(STANDUP, seen, now).events
        assert (event.id, event.kind, event.subject) == (
            CANCELLED,
            "calendar.cancelled",
            f"{CALENDAR}|{STANDUP.key}",
        )
        assert event.occurred_at == now  # a running entry stops when the cancellation is seen
        assert (event.data["cancel_reason"], event.data["cancel_stage"]) == (reason, stage), (reason, stage)


def test_a_cancellation_is_seen_once() -> None:
    bridge = Bridge()
    bridge.poll([STANDUP], at(0, 12))
    cancelled = replace(STANDUP, status="cancelled")
    assert [e.id for e in bridge.poll([cancelled], at(1, 9, 5)).events] == [CANCELLED]
    for now in (at(1, 9, 10), at(1, 12), at(2, 9)):
        assert nothing_but({}, compare(bridge.known, [cancelled], calendar=CALENDAR, mode="live", now=now))
        assert nothing_but({}, compare(bridge.known, [], calendar=CALENDAR, mode="live", now=now))


def test_a_cancelled_meeting_carries_what_the_feed_says_of_it_last() -> None:
    cancelled = moved(STANDUP, at(1, 10), status="cancelled", title="Cancelled: Daily stand-up")
    (event,) = cancellation(STANDUP, [cancelled], at(0, 12)).events
    assert event.data["title"] == "Cancelled: Daily stand-up"
    assert event.data["cancel_stage"] == "before"  # by the times whose triggers were scheduled


def test_a_meeting_outside_the_polled_window_is_not_deleted() -> None:
    known = {STANDUP.key: STANDUP}
    window = (at(1, 10), at(15, 0))  # the poll no longer looks back to Tuesday morning
    changes = compare(known, [], calendar=CALENDAR, mode="live", now=at(1, 12), window=window)
    assert nothing_but(known, changes)
    window = (at(1, 0), at(15, 0))
    changes = compare(known, [], calendar=CALENDAR, mode="live", now=at(1, 12), window=window)
    assert [e.data["cancel_reason"] for e in changes.events] == ["deleted"]


# -- downtime ---------------------------------------------------------------------------------------------------


def test_a_bridge_down_across_a_start_fires_it_late_at_its_real_time() -> None:
    bridge = Bridge()
    bridge.poll([STANDUP], at(0, 12))
    # down from Tuesday 08:00 to 09:05: nothing polled, nothing fired; its triggers waited in the store
    fired = bridge.tick(at(1, 9, 5))
    assert [(e.id, e.occurred_at) for e in fired] == [(STARTED, at(1, 9))]
    assert nothing_but(bridge.known, bridge.poll([STANDUP], at(1, 9, 5)))


def test_a_meeting_first_seen_while_it_runs_still_starts_at_its_real_start() -> None:
    live = Bridge()
    live.poll([STANDUP], at(0, 12))
    live.tick(at(1, 10))
    late = Bridge()
    changes = late.poll([STANDUP], at(1, 9, 5))  # added to the feed at 09:02, or seen after downtime
    assert [t.id for t in changes.schedule] == [STARTED, ENDED]
    assert late.kinds() == [("calendar.started", at(1, 9))]
    late.tick(at(1, 10))
    assert late.accepted == live.accepted  # the same ids and events as if it had been seen in time


def test_a_meeting_over_while_the_bridge_was_down_starts_and_stops_at_its_real_times() -> None:
    # in live mode the rules that start and stop a timer see both, late; the executor's timeline makes them one
    # finished entry with the real times (a single "ended" would need every live rule to be written twice)
    for known_before in (True, False):
        bridge = Bridge()
        if known_before:
            bridge.poll([STANDUP], at(0, 12))
        bridge.poll([STANDUP], at(1, 12))  # back at noon
        assert bridge.kinds() == [("calendar.started", at(1, 9)), ("calendar.ended", at(1, 9, 15))]
        assert list(bridge.accepted) == [STARTED, ENDED]
    logging = Bridge(mode="log")
    logging.poll([STANDUP], at(1, 12))
    assert logging.kinds() == [("calendar.ended", at(1, 9, 15))]


def test_a_meeting_that_ended_before_the_previous_poll_is_history_not_missed() -> None:
    bridge = Bridge()
    bridge.poll([], at(1, 10))
    # it appears afterwards, entered after the fact: the poller says when it polled last
    changes = bridge.poll([STANDUP], at(1, 11), missed_after=bridge.last_poll)
    assert nothing_but({}, changes)
    # a calendar's very first poll passes its own time: adding a calendar does not log its past days
    first = compare({}, [STANDUP], calendar=CALENDAR, mode="live", now=at(1, 11), missed_after=at(1, 11))
    assert nothing_but({}, first)


# -- retention ----------------------------------------------------------------------------------------------


def test_a_past_meeting_is_remembered_for_the_retention_window_then_forgotten() -> None:
    bridge = Bridge()
    bridge.poll([STANDUP], at(0, 12))
    still = STANDUP.end + RETENTION - timedelta(minutes=1)
    assert bridge.poll([STANDUP], still).known == {STANDUP.key: STANDUP}
    late_cancel = compare(bridge.known, [], calendar=CALENDAR, mode="live", now=still)
    assert [e.data["cancel_stage"] for e in late_cancel.events] == ["after"]
    gone = STANDUP.end + RETENTION
    assert nothing_but({}, bridge.poll([STANDUP], gone))
    assert nothing_but({}, compare(bridge.known, [], calendar=CALENDAR, mode="live", now=gone))


def test_a_new_meeting_entirely_past_the_retention_window_is_not_backfilled() -> None:
    old = meeting(at(-5, 9))
    assert nothing_but({}, compare({}, [old], calendar=CALENDAR, mode="live", now=at(0, 12)))


# -- a week ------------------------------------------------------------------------------------------------------


def test_a_week_of_stand_ups() -> None:
    """Mon-Fri 09:00-09:15, polled every 5 minutes from 08:00 to 18:00, the bridge down Friday 08:30-12:00."""
    series = {day: meeting(at(day, 9)) for day in range(5)}

    def feed(now: datetime) -> list[Occurrence]:
        shown = dict(series)
        if now >= at(0, 17):  # Monday evening: Tuesday's moves to 10:00
            shown[1] = moved(series[1], at(1, 10), sequence=1)
        if now >= at(2, 8):  # Wednesday morning: Wednesday's is cancelled
            shown[2] = replace(series[2], status="cancelled", sequence=1)
        if now >= at(3, 9, 3):  # Thursday, while it runs: renamed
            shown[3] = replace(series[3], title="Stand-up: release day", sequence=1)
        if now >= at(4, 9, 30):  # Friday, while the bridge is down and after it ended: deleted
            del shown[4]
        if now >= at(2, 12):  # a 1:1 added Wednesday noon for the afternoon
            shown[5] = meeting(at(2, 15), 30, uid="1on1@acme.io", recurring=False, title="1:1 with Bob")
        return list(shown.values())

    bridge = Bridge()
    now = at(0, 8)
    while now < at(5, 0):
        down = at(4, 8, 30) <= now < at(4, 12)
        if not down and 8 <= now.hour < 18:
            bridge.poll(feed(now), now)
        now += timedelta(minutes=5)

    def kind_and_day(event: Event) -> tuple[str, str, datetime]:
        return event.kind, event.subject or "", event.occurred_at

    subject = {day: f"{CALENDAR}|{occurrence.key}" for day, occurrence in series.items()}
    assert [kind_and_day(e) for e in bridge.accepted.values()] == [
        ("calendar.started", subject[0], at(0, 9)),
        ("calendar.ended", subject[0], at(0, 9, 15)),
        ("calendar.started", subject[1], at(1, 10)),
        ("calendar.ended", subject[1], at(1, 10, 15)),
        ("calendar.cancelled", subject[2], at(2, 8)),
        ("calendar.started", f"{CALENDAR}|1on1@acme.io", at(2, 15)),
        ("calendar.ended", f"{CALENDAR}|1on1@acme.io", at(2, 15, 30)),
        ("calendar.started", subject[3], at(3, 9)),
        ("calendar.changed", subject[3], at(3, 9, 5)),
        ("calendar.ended", subject[3], at(3, 9, 15)),
        # Friday: down across the whole meeting; its triggers fired late when the tick came back at noon, before
        # the poll that saw it deleted: the cancellation says it came after, so a rule can remove the entry
        ("calendar.started", subject[4], at(4, 9)),
        ("calendar.ended", subject[4], at(4, 9, 15)),
        ("calendar.cancelled", subject[4], at(4, 12)),
    ]
    cancelled_friday = list(bridge.accepted.values())[-1]
    assert cancelled_friday.data["cancel_stage"] == "after"
    assert bridge.triggers == {}
    assert bridge.known.keys() == {
        series[3].key
    }  # Friday evening: only Thursday's is within the retention window
    assert [e.data["title"] for e in bridge.accepted.values() if e.subject == subject[3]] == [
        "Daily stand-up",
        "Stand-up: release day",
        "Stand-up: release day",
    ]


# -- the events as rules see them --------------------------------------------------------------------------------


def test_the_example_events_are_what_a_poll_makes() -> None:
    standup = Occurrence(
        uid="3k9vq7c1@acme.io",
        recurrence_id="2024-05-02T07:30:00Z",
        start=datetime(2024, 5, 2, 7, 30, tzinfo=UTC),
        end=datetime(2024, 5, 2, 7, 45, tzinfo=UTC),
        title="Daily stand-up",
        my_status="accepted",
        organizer="carol@acme.io",
        location="https://meet.example.com/abc-defg-hij",
        description="Yesterday, today, blockers.",
    )
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    changes = compare({}, [standup], calendar=CALENDAR, mode="live", now=now)
    for trigger in changes.schedule:
        phase = trigger.id.rsplit(":", 1)[1]
        example = ROOT / "examples" / "events" / f"calendar_{phase}.json"
        assert trigger.event == Event.model_validate_json(example.read_text())


def test_changed_and_cancelled_events_carry_the_declared_fields_and_plan_cleanly() -> None:
    declared = PLANNED_KINDS["calendar.started"].fields
    known = {STANDUP.key: STANDUP}
    changed = compare(known, [moved(STANDUP, at(1, 9, 5))], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
    cancelled = compare(known, [], calendar=CALENDAR, mode="live", now=at(1, 9, 7))
    config = load_config(ROOT / "examples" / "togglbridge.yaml")
    for changes, extra, actions in (
        (changed, CHANGED_FIELDS, ["update", "move"]),  # the rule renames it, the built-in moves it
        (cancelled, CANCELLED_FIELDS, ["withdraw"]),
    ):
        (event,) = changes.events
        assert set(event.data) == declared | set(extra)
        result = plan(event, config)
        assert result.errors == [] and result.identity == "alice"
        assert [action.type for action in result.actions] == actions
        assert all(action.subject == f"{CALENDAR}|{STANDUP.key}" for action in result.actions)


def test_an_occurrence_survives_being_remembered() -> None:
    for occurrence in (
        STANDUP,
        meeting(at(1, 9), recurring=False, my_status="tentative", organizer="c@acme.io"),
    ):
        assert Occurrence.from_json(occurrence.to_json()) == occurrence


# -- properties ---------------------------------------------------------------------------------------------------

UIDS = ("standup@acme.io", "review@acme.io", "planning@acme.io")
BASE = at(1, 9)


@st.composite
def feed_states(draw: st.DrawFn) -> list[Occurrence]:
    """What a feed may show of three meetings around Tuesday 09:00: absent, moved, renamed, cancelled..."""
    shown = []
    for uid in UIDS:
        if draw(st.booleans()) and draw(st.booleans()):
            continue  # absent (deleted, or never there)
        start = BASE + timedelta(hours=draw(st.sampled_from([-80, -30, -2, 0, 1, 3, 24])))
        minutes = draw(st.sampled_from([0, 15, 60]))
        shown.append(
            Occurrence(
                uid,
                None,
                start,
                start + timedelta(minutes=minutes),
                draw(st.sampled_from(["Sync", "Review"])),
                status=draw(st.sampled_from(["confirmed", "confirmed", "tentative", "cancelled"])),
                my_status=draw(st.sampled_from([None, "accepted", "declined"])),
                description=draw(st.sampled_from(["", "agenda"])),
                sequence=draw(st.integers(0, 2)),
            )
        )
    return shown


minutes_later = st.one_of(st.integers(0, 6 * 60), st.integers(0, 3 * 24 * 60))  # often soon, at times days
Poll = tuple[list[Occurrence], int]  # what the feed shows, and how many minutes after the poll before


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Poll], list[Occurrence]]:
    """Polls of a few states that come back (a feed mostly shows what it showed before), and the last state."""
    states = draw(st.lists(feed_states(), min_size=1, max_size=3))
    path = draw(st.lists(st.tuples(st.sampled_from(states), minutes_later), max_size=8))
    return path, draw(st.one_of(st.sampled_from(states), feed_states()))


polls = histories().map(lambda history: history[0])


def pending(bridge: Bridge) -> dict[str, tuple[datetime, Event]]:
    return {trigger.id: (trigger.due, trigger.event) for trigger in bridge.triggers.values()}


@settings(max_examples=300, deadline=None)
@given(histories(), st.sampled_from(["live", "log"]), st.integers(0, 3 * 24 * 60))
def test_any_polls_ending_in_one_state_end_in_the_same_schedule_and_memory(
    history: tuple[list[Poll], list[Occurrence]], mode: Mode, start_minutes: int
) -> None:
    path, final = history
    now = BASE - timedelta(days=1) + timedelta(minutes=start_minutes)
    travelled = Bridge(mode=mode)
    for state, minutes_later in path:
        now += timedelta(minutes=minutes_later)
        travelled.poll(state, now)
    last = travelled.poll(final, now)
    direct = Bridge(mode=mode)
    direct.poll(final, now)
    assert travelled.known == direct.known
    assert pending(travelled) == pending(direct)
    same = compare(last.known, list(reversed(final)), calendar=CALENDAR, mode=mode, now=now)
    assert nothing_but(last.known, same)
    later = travelled.poll(final, now + timedelta(minutes=1))  # only the retention window moves on
    assert (later.events, later.schedule, later.cancel) == ((), (), ())


@settings(max_examples=300, deadline=None)
@given(polls, st.sampled_from(["live", "log"]))
def test_event_ids_are_unique_per_distinct_change(path: list[Poll], mode: Mode) -> None:
    bridge = Bridge(mode=mode)
    now = BASE - timedelta(hours=6)
    made: dict[str, set[str]] = {}
    for state, minutes_later in path:
        now += timedelta(minutes=minutes_later)
        for event in bridge.poll(state, now).events:
            what: dict[str, Any] = {"kind": event.kind, "subject": event.subject}
            if event.kind == "calendar.changed":
                what |= {
                    name: event.data[name]
                    for name in ("start", "end", "title", "previous_start", "previous_end", "previous_title")
                }
                what["sequence"] = next(o.sequence for o in state if f"{CALENDAR}|{o.key}" == event.subject)
            made.setdefault(event.id, set()).add(json.dumps(what, sort_keys=True))
    assert all(len(whats) == 1 for whats in made.values()), made
    contents = [what for whats in made.values() for what in whats]
    assert len(contents) == len(set(contents))  # and one change is never two ids


@st.composite
def changes_of_a_running_meeting(draw: st.DrawFn) -> list[Occurrence]:
    """A meeting that began, changed back and forth among a few times and titles (the feed bumps no SEQUENCE)."""
    shapes = [
        (start, minutes, title) for start in (0, 5) for minutes in (15, 30) for title in ("Sync", "Review")
    ]
    chosen = draw(st.lists(st.sampled_from(shapes), min_size=2, max_size=12))
    return [meeting(BASE + timedelta(minutes=m), length, recurring=False, title=t) for m, length, t in chosen]


@settings(max_examples=300, deadline=None)
@given(changes_of_a_running_meeting())
def test_a_change_is_named_by_what_it_changed_from_and_to(states: list[Occurrence]) -> None:
    bridge = Bridge()
    bridge.poll(states[:1], BASE - timedelta(hours=1))
    names: dict[tuple[Occurrence, Occurrence], str] = {}
    for minute, (before, after) in enumerate(itertools.pairwise(states), start=6):
        events = bridge.poll([after], BASE + timedelta(minutes=minute)).events
        assert [event.kind for event in events] == ([] if after == before else ["calendar.changed"])
        for changed in events:
            assert names.setdefault((before, after), changed.id) == changed.id  # one change, one id
    assert len(set(names.values())) == len(names)  # two changes, two ids


def test_the_calendar_kinds_declare_every_field_the_lifecycle_adds() -> None:
    from togglbridge.sources import REGISTRY
    from togglbridge.sources.calendar import CANCELLED_FIELDS, CHANGED_FIELDS

    assert set(CHANGED_FIELDS) <= REGISTRY.kind_schemas["calendar.changed"].fields
    assert set(CANCELLED_FIELDS) <= REGISTRY.kind_schemas["calendar.cancelled"].fields


def test_a_calendar_that_includes_declined_meetings_keeps_them() -> None:
    known = {STANDUP.key: STANDUP}
    declined = replace(STANDUP, my_status="declined")
    counted = compare(known, [declined], calendar=CALENDAR, mode="live", now=at(1, 8), declined_counts=True)
    assert [e.kind for e in counted.events] == [] and len(counted.schedule) == 2
    assert all(s.event.data["my_status"] == "declined" for s in counted.schedule)
    assert counted.cancel == ()

    withdrawn = compare(known, [declined], calendar=CALENDAR, mode="live", now=at(1, 8))
    assert [e.kind for e in withdrawn.events] == ["calendar.cancelled"]

    # A cancellation by the organizer is one whatever the calendar includes.
    gone = compare(
        known, [replace(STANDUP, status="cancelled")], calendar=CALENDAR, mode="live", now=at(1, 8),
        declined_counts=True,
    )  # fmt: skip
    assert [e.kind for e in gone.events] == ["calendar.cancelled"]
