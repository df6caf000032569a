"""Reading an iCalendar feed: the occurrences of its meetings in a window of time.

Google, Outlook/Exchange, iCloud, Nextcloud and Fastmail all publish RFC 5545 feeds, each with its quirks:
Google's ``X-WR-TIMEZONE`` (x-wr-timezone makes the calendar standard), Outlook's Windows zone names in TZID
(icalendar maps them to IANA zones itself, and honours a feed's own VTIMEZONE definitions), floating times (read
in the calendar's zone). Recurrences are expanded with recurring-ical-events over the window only, so an endless
rule costs what a short one does. Every time leaves here in UTC.

A body that is not a calendar at all is a ``PayloadError``; one event that cannot be read is skipped and named in
``Reading.skipped``, so that the rest of the feed still counts. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone  # type: ignore[import-untyped]  # the package ships no type information

from togglbridge.sources.base import PayloadError
from togglbridge.sources.calendar import Attendance, Occurrence, Status

Include = Literal["all_day", "free", "declined", "cancelled"]
"""What ``occurrences`` leaves out unless asked: all-day events, free time, meetings the identity declined and
cancelled occurrences (the lifecycle asks for those to notice a cancellation)."""
INCLUDABLE: frozenset[str] = frozenset(get_args(Include))

# Far enough either side of the window for any zone's offset (floating and all-day times are placed in a zone
# only after expansion): the exact window is applied in UTC afterwards.
_MARGIN = timedelta(days=1)
# A meeting repeats every quarter of an hour at most: a rule repeating by the minute or second would make
# thousands of occurrences a window (seconds of work), from one line of a hostile or broken feed.
_MOST_A_DAY = 96
_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600}
# Properties an occurrence's times are computed from: one of them broken and the event cannot be placed.
_TIME_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "RRULE", "RDATE", "EXDATE")
_STATUSES: dict[str, Status] = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_ATTENDANCE: dict[str, Attendance] = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needs-action",
}
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event of the feed that could not be read, and why (its UID, or "" when it has none)."""

    uid: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reading:
    """What a feed holds in a window: its occurrences (sorted by start, then key) and the events skipped."""

    occurrences: list[Occurrence]
    skipped: list[Skipped]


def occurrences(
    feed: bytes | str,
    *,
    start: datetime,
    end: datetime,
    default_timezone: ZoneInfo | str,
    my_emails: Collection[str] = (),
    include: Collection[str] = (),
) -> list[Occurrence]:
    """The occurrences overlapping ``[start, end)``; ``read_feed`` also tells which events were skipped."""
    return read_feed(
        feed,
        start=start,
        end=end,
        default_timezone=default_timezone,
        my_emails=my_emails,
        include=include,
    ).occurrences


def read_feed(
    feed: bytes | str,
    *,
    start: datetime,
    end: datetime,
    default_timezone: ZoneInfo | str,
    my_emails: Collection[str] = (),
    include: Collection[str] = (),
) -> Reading:
    """Read a feed's occurrences overlapping ``[start, end)`` (aware datetimes).

    ``default_timezone`` places floating times and all-day events when the feed names no zone of its own
    (``X-WR-TIMEZONE``). ``my_emails`` are the identity's addresses, matched case-insensitively against the
    attendees for ``my_status``. ``include`` keeps what is left out by default (``Include``).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the window's start and end must be aware datetimes")
    unknown = set(include) - INCLUDABLE
    if unknown:
        raise ValueError(f"cannot include {sorted(unknown)}: only {sorted(INCLUDABLE)}")
    fallback = default_timezone if isinstance(default_timezone, ZoneInfo) else ZoneInfo(default_timezone)

    calendars = _parse(feed)
    skipped: list[Skipped] = []
    zone = _calendar_zone(calendars[0], fallback, skipped)
    series = _series(calendars, skipped)
    me = frozenset(email.strip().lower() for email in my_emails)
    window = Window(start.astimezone(UTC), end.astimezone(UTC), zone)

    found: dict[str, Occurrence] = {}
    for uid, components in series.items():
        try:
            made = list(_expand(uid, components, window, me))
        except Exception as error:  # one unreadable series must not hide the rest of the feed
            skipped.append(Skipped(uid, f"its recurrence could not be expanded: {_brief(error)}"))
            continue
        for occurrence in made:
            known = found.get(occurrence.key)
            if known is None or occurrence.sequence > known.sequence:
                found[occurrence.key] = occurrence  # a duplicated event counts once, its latest version
    kept = [o for o in found.values() if _wanted(o, include)]
    kept.sort(key=lambda o: (o.start, o.key))
    return Reading(kept, skipped)


@dataclass(frozen=True, slots=True)
class Window:
    """The window asked for, in UTC, and the zone floating and all-day times are read in."""

    start: datetime
    end: datetime
    zone: tzinfo

    def overlaps(self, start: datetime, end: datetime) -> bool:
        if end > start:
            return start < self.end and end > self.start
        return self.start <= start < self.end  # an instant (no duration) is in the window or not

    def to_utc(self, moment: date) -> datetime:
        """A DTSTART-like value in UTC: a date is its midnight in the calendar's zone, a floating time is read
        in that zone."""
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time(), self.zone)
        elif moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC)


# -- the feed ---------------------------------------------------------------------------------------------------


def _parse(feed: bytes | str) -> list[icalendar.Calendar]:
    """The feed's calendars (one, usually; some aggregators concatenate several)."""
    text = feed.decode("utf-8", errors="replace") if isinstance(feed, bytes) else feed
    text = text.lstrip("\ufeff \t\r\n")
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise PayloadError(f"not an iCalendar feed: {_looks_like(text)}")
    try:
        components = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as error:  # icalendar raises many kinds; none may reach the poller as a traceback
        raise PayloadError(f"not an iCalendar feed: {_brief(error)}") from None
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if not calendars:
        raise PayloadError("not an iCalendar feed: it holds no complete VCALENDAR (was it cut short?)")
    for calendar in calendars:
        if str(calendar.get("CALSCALE", "GREGORIAN")).upper() != "GREGORIAN":
            raise PayloadError("not an iCalendar feed this bridge reads: only Gregorian calendars are")
    return calendars


def _looks_like(text: str) -> str:
    if not text.strip():
        return "the body is empty"
    if text.startswith("<"):
        return "it is HTML or XML (a login or error page?)"
    if text[0] in "{[":
        return "it is JSON"
    return f"it does not begin with BEGIN:VCALENDAR but with {text[:40]!r}"


def _calendar_zone(calendar: icalendar.Calendar, fallback: ZoneInfo, skipped: list[Skipped]) -> ZoneInfo:
    """Google's X-WR-TIMEZONE when it names a zone, else the configured one."""
    named = calendar.get("X-WR-TIMEZONE")
    if named is None:
        return fallback
    try:
        return ZoneInfo(str(named).strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        skipped.append(
            Skipped("", f"X-WR-TIMEZONE {str(named)[:60]!r} is not a known zone: {fallback} is used")
        )
        return fallback


def _series(
    calendars: list[icalendar.Calendar], skipped: list[Skipped]
) -> dict[str, list[icalendar.Component]]:
    """The feed's readable events by UID (a recurring event's master and its overrides share one), in the
    calendar's zone when it has an X-WR-TIMEZONE."""
    series: dict[str, list[icalendar.Component]] = {}
    for calendar in calendars:
        readable = icalendar.Calendar()
        for event in calendar.walk("VEVENT"):
            uid = _text(event.get("UID"))
            problem = _unreadable(event, uid)
            if problem:
                skipped.append(Skipped(uid, problem))
                continue
            if any(isinstance(v, icalendar.vBroken) for v in _values(event.get("SEQUENCE"))):
                del event["SEQUENCE"]  # recurring-ical-events compares it; unreadable, it is RFC 5545's 0
            readable.add_component(event)
        named = calendar.get("X-WR-TIMEZONE")
        if named is not None:
            readable = _standard(readable, str(named).strip(), skipped)
        for event in readable.subcomponents:
            series.setdefault(_text(event.get("UID")), []).append(event)
    return series


def _unreadable(event: icalendar.Component, uid: str) -> str | None:
    """Why an event cannot be placed in time (or followed across polls), or None."""
    if not uid:
        return "it has no UID, so it cannot be followed from one poll to the next"
    if "DTSTART" not in event:
        return "it has no DTSTART"
    if isinstance(event["DTSTART"], list):
        return "it has more than one DTSTART"
    for name in _TIME_PROPERTIES:
        for value in _values(event.get(name)):
            if isinstance(value, icalendar.vBroken):
                return f"its {name} cannot be read: {str(value)[:60]!r}"
    if not isinstance(_moment(event, "DTSTART"), date):
        return "its DTSTART is not a date or a date-time"
    for rule in _values(event.get("RRULE")):
        if _times_a_day(rule) > _MOST_A_DAY:
            return f"its RRULE repeats it more than {_MOST_A_DAY} times a day, too often for a meeting"
    return None


def _times_a_day(rule: Any) -> int:
    """How many times a day a rule may repeat, at most (BYHOUR, BYMINUTE and BYSECOND multiply a rule's
    occurrences at a coarser frequency, and may at a finer one)."""
    frequency = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
    interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
    expanding = {"SECONDLY": (), "MINUTELY": ("BYSECOND",), "HOURLY": ("BYMINUTE", "BYSECOND")}.get(
        frequency, ("BYHOUR", "BYMINUTE", "BYSECOND")
    )
    times = -(-86_400 // (_SECONDS[frequency] * interval)) if frequency in _SECONDS else 1
    for part in expanding:
        times *= max(len(rule.get(part) or ()), 1)
    return times


def _standard(calendar: icalendar.Calendar, zone_name: str, skipped: list[Skipped]) -> icalendar.Calendar:
    """The calendar with Google's X-WR-TIMEZONE applied: its UTC and floating times in that zone, so a daily
    meeting written in UTC keeps its local hour across a daylight-saving change."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return calendar  # already reported by _calendar_zone
    try:
        standard: icalendar.Calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
    except Exception as error:  # its times stay as written: UTC is still the right instant
        skipped.append(Skipped("", f"X-WR-TIMEZONE could not be applied: {_brief(error)}"))
        return calendar
    return standard


# -- occurrences --------------------------------------------------------------------------------------------------


def _expand(
    uid: str, components: list[icalendar.Component], window: Window, me: frozenset[str]
) -> Iterator[Occurrence]:
    """The series' occurrences in the window. An instance of a recurring event (or an override standing alone)
    is keyed by its original start; a single event by its UID alone."""
    recurring = any(name in c for c in components for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    versions = _versions(components, window)
    calendar = icalendar.Calendar()
    for component in components:
        calendar.add_component(component)
    # Naive (floating) and date values are compared in the zone of the query's bounds: the calendar's zone.
    query = recurring_ical_events.of(calendar)
    for instance in query.between(
        (window.start - _MARGIN).astimezone(window.zone), (window.end + _MARGIN).astimezone(window.zone)
    ):
        occurrence = _occurrence(uid, instance, window, me, recurring)
        if recurring:
            # recurring-ical-events gives every instance the series' highest SEQUENCE; an instance's own is its
            # override's, else its master's, so editing one instance does not touch the others
            own = versions.get(occurrence.recurrence_id, versions.get(None, occurrence.sequence))
            occurrence = replace(occurrence, sequence=own)
        if window.overlaps(occurrence.start, occurrence.end):
            yield occurrence


def _versions(components: list[icalendar.Component], window: Window) -> dict[str | None, int]:
    """The SEQUENCE of each override, by its recurrence id, and of the master (None)."""
    versions: dict[str | None, int] = {}
    for component in components:
        original = _moment(component, "RECURRENCE-ID")
        key = None if original is None else _iso(window.to_utc(original))
        versions[key] = max(versions.get(key, 0), _sequence(component.get("SEQUENCE")))
    return versions


def _occurrence(
    uid: str, instance: icalendar.Component, window: Window, me: frozenset[str], recurring: bool
) -> Occurrence:
    began = _moment(instance, "DTSTART")
    start = window.to_utc(began)
    ending = _moment(instance, "DTEND")
    if ending is not None:
        end = window.to_utc(ending)
    else:  # RFC 5545: an all-day event without an end lasts the day, a timed one is an instant
        end = start + timedelta(days=1) if not isinstance(began, datetime) else start
    recurrence_id = None
    if recurring:
        recurrence_id = _iso(window.to_utc(_moment(instance, "RECURRENCE-ID") or began))
    organizer = _address(instance.get("ORGANIZER"))
    return Occurrence(
        uid=uid,
        recurrence_id=recurrence_id,
        start=start,
        end=max(end, start),
        title=_text(instance.get("SUMMARY")),
        all_day=not isinstance(began, datetime),
        status=_STATUSES.get(_text(instance.get("STATUS")).upper(), "confirmed"),
        free=_text(instance.get("TRANSP")).upper() == "TRANSPARENT",
        my_status=_my_status(instance, me, organizer),
        organizer=organizer or None,
        location=_text(instance.get("LOCATION")),
        description=_text(instance.get("DESCRIPTION")),
        sequence=_sequence(instance.get("SEQUENCE")),
    )


def _my_status(event: icalendar.Component, me: frozenset[str], organizer: str) -> Attendance | None:
    """The identity's answer as an attendee (RFC 5545: no PARTSTAT is NEEDS-ACTION); an organizer who is not
    listed among the attendees runs their own meeting, which counts as accepted."""
    if not me:
        return None
    for attendee in _values(event.get("ATTENDEE")):
        addresses = {_address(attendee).lower(), str(attendee.params.get("EMAIL", "")).strip().lower()}
        if addresses & me:
            return _ATTENDANCE.get(str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
    if organizer.lower() in me:
        return "accepted"
    return None


def _wanted(occurrence: Occurrence, include: Collection[str]) -> bool:
    if occurrence.all_day and "all_day" not in include:
        return False
    if occurrence.free and "free" not in include:
        return False
    if occurrence.status == "cancelled" and "cancelled" not in include:
        return False
    return not (occurrence.my_status == "declined" and "declined" not in include)


# -- values -----------------------------------------------------------------------------------------------------


def _moment(component: icalendar.Component, name: str) -> Any:
    """A date or date-time property's value (a date, a date-time, naive when floating), or None."""
    value: Any = component.get(name)
    return None if value is None else value.dt


def _values(value: Any) -> Iterable[Any]:
    """A property's values: icalendar gives a list when the property appears more than once."""
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)


def _text(value: Any) -> str:
    """A text property (the first, when repeated), or ""."""
    values = list(_values(value))
    return str(values[0]).strip() if values else ""


def _address(value: Any) -> str:
    """An ORGANIZER's or ATTENDEE's address without its ``mailto:``."""
    return _MAILTO.sub("", _text(value))


def _sequence(value: Any) -> int:
    try:
        return int(_text(value) or 0)
    except ValueError:
        return 0


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _brief(error: BaseException) -> str:
    """An error's message, short enough for a log line or a status page."""
    message = " ".join(str(error).split()) or type(error).__name__
    return message if len(message) <= 160 else message[:157] + "..."
