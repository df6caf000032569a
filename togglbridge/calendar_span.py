"""A calendar's meetings over a span of days, as the rules see them: what ``togglbridge calendar preview`` shows
and ``togglbridge backfill calendar`` sends.

The feed is read once, whole, touching nothing the poller keeps, and expanded over the span. Each meeting's
events come from the function a poll uses (``sources.calendar.phase_events``): the same ids and data, so a preview
shows what polling will do, and a backfill of a meeting polling already saw is a duplicate the queue drops.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import httpx

from togglbridge.calendars import read_calendar_text
from togglbridge.config import Calendar, Config
from togglbridge.events import Event, Priority
from togglbridge.sources.calendar import Mode, Occurrence, phase_events
from togglbridge.sources.ics import INCLUDABLE, Skipped, read_feed


@dataclass(frozen=True, slots=True)
class Meeting:
    """One occurrence in the span: the events polling gives it, or why the calendar leaves it out."""

    occurrence: Occurrence
    events: tuple[Event, ...]
    left_out: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """What a calendar holds over a span: its meetings by start, and the feed's events that could not be read."""

    meetings: list[Meeting]
    skipped: list[Skipped]


def day_span(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last`` (both included), in ``zone``."""
    if last < first:
        raise ValueError(f"the last day ({last}) is before the first ({first})")
    start = datetime.combine(first, time(), zone)
    return start, datetime.combine(last + timedelta(days=1), time(), zone)


def read_span(
    config: Config,
    calendar: Calendar,
    *,
    start: datetime,
    end: datetime,
    http: httpx.Client,
    environ: Mapping[str, str] = os.environ,
    body: str | None = None,
    mode: Mode | None = None,
    priority: Priority | None = None,
) -> Span:
    """The meetings that start in ``[start, end)``. ``body``: read this iCalendar text instead of the feed (an
    export). ``mode``: make the events of this mode rather than the calendar's (a backfill logs)."""
    text = body if body is not None else read_calendar_text(calendar, http=http, environ=environ)
    identity = config.identities.get(calendar.identity)
    reading = read_feed(
        text,
        start=start,
        end=end,
        default_timezone=config.defaults.timezone,
        my_emails=identity.emails if identity else (),
        include=INCLUDABLE,  # everything, to say why what the calendar leaves out is left out
    )
    meetings = []
    for occurrence in reading.occurrences:
        if not start <= occurrence.start < end:
            continue  # began before the span: another day's meeting
        left_out = why_left_out(occurrence, calendar.include)
        events = (
            ()
            if left_out
            else tuple(
                scheduled.event
                for scheduled in phase_events(
                    occurrence, calendar=calendar.name, mode=mode or calendar.mode, priority=priority
                )
            )
        )
        meetings.append(Meeting(occurrence, events, left_out))
    return Span(meetings, reading.skipped)


def why_left_out(occurrence: Occurrence, include: Collection[str]) -> str | None:
    """Why a poll of the calendar gives this occurrence no events (None: it gives them)."""
    if occurrence.status == "cancelled":
        return "cancelled by its organizer"
    if occurrence.my_status == "declined" and "declined" not in include:
        return "declined (include: [declined] to let rules see it)"
    if occurrence.all_day and "all_day" not in include:
        return "all-day (include: [all_day] to let rules see it)"
    if occurrence.free and "free" not in include:
        return "shows as free (include: [free] to let rules see it)"
    return None
