"""Reading iCalendar feeds: each provider's fixture against its golden occurrences, then each rule on its own
(recurrences, overrides, zones, attendance, filters, the window) and what a broken feed gives."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from togglbridge.sources.base import PayloadError
from togglbridge.sources.calendar import Occurrence
from togglbridge.sources.ics import INCLUDABLE, Reading, Skipped, occurrences, read_feed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ics"
GOLDEN_SUFFIX = ".occurrences.json"

# The goldens' window: two weeks around Europe's 2026 change to summer time (29 March), read as Ada.
WINDOW_START = datetime(2026, 3, 23, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 6, tzinfo=UTC)
ZONE = "Europe/Berlin"
ME = ("ada@example.com",)

BERLIN = ZoneInfo("Europe/Berlin")


# -- fixtures and goldens ---------------------------------------------------------------------------------------


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.ics"))


def golden_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.stem + GOLDEN_SUFFIX)


def occurrence_json(occurrence: Occurrence, kept_by_default: bool) -> dict[str, Any]:
    return {
        "key": occurrence.key,
        "uid": occurrence.uid,
        "recurrence_id": occurrence.recurrence_id,
        "start": occurrence.start.isoformat().replace("+00:00", "Z"),
        "end": occurrence.end.isoformat().replace("+00:00", "Z"),
        "title": occurrence.title,
        "all_day": occurrence.all_day,
        "status": occurrence.status,
        "free": occurrence.free,
        "my_status": occurrence.my_status,
        "organizer": occurrence.organizer,
        "location": occurrence.location,
        "description": occurrence.description,
        "sequence": occurrence.sequence,
        "kept_by_default": kept_by_default,
    }


def reading_json(fixture: Path) -> str:
    """Everything the fixture holds in the window (with what the default filters keep marked), and what was
    skipped."""
    body = fixture.read_bytes()
    window: dict[str, Any] = {
        "start": WINDOW_START,
        "end": WINDOW_END,
        "default_timezone": ZONE,
        "my_emails": ME,
    }
    everything = read_feed(body, include=INCLUDABLE, **window)
    kept = {o.key for o in occurrences(body, **window)}
    document = {
        "window": {"start": "2026-03-23T00:00:00Z", "end": "2026-04-06T00:00:00Z", "default_timezone": ZONE},
        "occurrences": [occurrence_json(o, o.key in kept) for o in everything.occurrences],
        "skipped": [{"uid": s.uid, "reason": s.reason} for s in everything.skipped],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("fixture", fixtures(), ids=[p.stem for p in fixtures()])
def test_each_fixture_makes_its_golden_occurrences(fixture: Path, update_golden: bool) -> None:
    made = reading_json(fixture)
    golden = golden_path(fixture)
    if update_golden:
        golden.write_text(made)
        return
    assert golden.exists(), f"{golden.name} is missing: write it with `pytest --update-golden` and review it"
    assert json.loads(made) == json.loads(golden.read_text()), (
        f"{fixture.name} no longer makes the occurrences of {golden.name}: if the change is meant, "
        "`pytest --update-golden` and review the diff"
    )


def test_no_golden_file_outlives_its_fixture() -> None:
    orphans = [
        p.name
        for p in FIXTURES.glob(f"*{GOLDEN_SUFFIX}")
        if not p.with_name(p.name.removesuffix(GOLDEN_SUFFIX) + ".ics").exists()
    ]
    assert orphans == []


def test_the_fixtures_cover_each_provider() -> None:
    providers = {p.name.partition("__")[0] for p in fixtures()}
    assert {"google", "outlook", "icloud", "nextcloud", "fastmail"} <= providers
    assert all("__" in p.name for p in fixtures())


# -- building feeds for the rules -------------------------------------------------------------------------------


def feed(*events: str, header: str = "") -> str:
    """A calendar of these VEVENT bodies (one property a line)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//togglbridge//tests//EN"]
    lines += [line.strip() for line in header.strip().splitlines() if line.strip()]
    for event in events:
        lines += ["BEGIN:VEVENT", *(line.strip() for line in event.strip().splitlines()), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def read(
    body: str | bytes,
    start: datetime = WINDOW_START,
    end: datetime = WINDOW_END,
    zone: ZoneInfo | str = ZONE,
    me: tuple[str, ...] = ME,
    include: frozenset[str] | set[str] = INCLUDABLE,
) -> list[Occurrence]:
    return occurrences(body, start=start, end=end, default_timezone=zone, my_emails=me, include=include)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


WEEKLY = """
UID:weekly
SUMMARY:Weekly
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T103000
RRULE:FREQ=WEEKLY
"""


# -- recurrences ---------------------------------------------------------------------------------------------------


def test_a_weekly_meeting_repeats_at_its_local_time_across_daylight_saving() -> None:
    found = read(feed(WEEKLY))
    assert [o.start for o in found] == [utc(2026, 3, 23, 9), utc(2026, 3, 30, 8)]
    assert [o.end - o.start for o in found] == [timedelta(minutes=30)] * 2


def test_every_instance_of_a_recurring_event_has_its_original_start_as_recurrence_id() -> None:
    found = read(feed(WEEKLY))
    assert [o.recurrence_id for o in found] == ["2026-03-23T09:00:00Z", "2026-03-30T08:00:00Z"]
    assert [o.key for o in found] == ["weekly|2026-03-23T09:00:00Z", "weekly|2026-03-30T08:00:00Z"]


def test_a_single_event_has_no_recurrence_id_and_its_uid_for_key() -> None:
    (single,) = read(feed("UID:once\nDTSTART:20260324T100000Z\nDTEND:20260324T110000Z"))
    assert single.recurrence_id is None
    assert single.key == "once"


def test_an_exdate_removes_its_instance() -> None:
    found = read(feed(WEEKLY + "EXDATE;TZID=Europe/Berlin:20260323T100000"))
    assert [o.recurrence_id for o in found] == ["2026-03-30T08:00:00Z"]


def test_an_rdate_adds_an_instance() -> None:
    found = read(feed(WEEKLY + "RDATE;TZID=Europe/Berlin:20260325T160000"))
    assert [o.start for o in found] == [utc(2026, 3, 23, 9), utc(2026, 3, 25, 15), utc(2026, 3, 30, 8)]
    assert found[1].recurrence_id == "2026-03-25T15:00:00Z"


def test_a_moved_occurrence_keeps_its_key_and_takes_its_new_time_and_fields() -> None:
    moved = """
    UID:weekly
    RECURRENCE-ID;TZID=Europe/Berlin:20260323T100000
    DTSTART;TZID=Europe/Berlin:20260324T150000
    DTEND;TZID=Europe/Berlin:20260324T160000
    SUMMARY:Weekly (Tuesday this time)
    SEQUENCE:1
    """
    first, second = read(feed(WEEKLY, moved))
    assert first.key == "weekly|2026-03-23T09:00:00Z"
    assert (first.start, first.end) == (utc(2026, 3, 24, 14), utc(2026, 3, 24, 15))
    assert (first.title, first.sequence) == ("Weekly (Tuesday this time)", 1)
    assert second.title == "Weekly"


def test_each_instance_has_its_own_sequence_not_the_series_highest() -> None:
    edited = """
    UID:weekly
    RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
    DTSTART;TZID=Europe/Berlin:20260330T110000
    DTEND;TZID=Europe/Berlin:20260330T113000
    SEQUENCE:5
    """
    found = read(feed(WEEKLY + "SEQUENCE:1", edited))
    assert [o.sequence for o in found] == [1, 5]


def test_an_override_matches_its_instance_by_the_instant_whatever_zone_it_is_written_in() -> None:
    moved_in_utc = """
    UID:weekly
    RECURRENCE-ID:20260330T080000Z
    DTSTART:20260331T120000Z
    DTEND:20260331T123000Z
    SUMMARY:Weekly, moved
    """
    found = read(feed(WEEKLY, moved_in_utc))
    assert [(o.key, o.title) for o in found] == [
        ("weekly|2026-03-23T09:00:00Z", "Weekly"),
        ("weekly|2026-03-30T08:00:00Z", "Weekly, moved"),
    ]


def test_an_occurrence_moved_out_of_the_window_leaves_it() -> None:
    moved = """
    UID:weekly
    RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
    DTSTART;TZID=Europe/Berlin:20260415T100000
    DTEND;TZID=Europe/Berlin:20260415T103000
    """
    assert [o.recurrence_id for o in read(feed(WEEKLY, moved))] == ["2026-03-23T09:00:00Z"]


def test_an_override_standing_alone_is_an_instance_of_a_recurring_event() -> None:
    # invited to one occurrence only: the feed has that override and no master
    alone = """
    UID:series-i-only-partly-see
    RECURRENCE-ID:20260325T090000Z
    DTSTART:20260325T100000Z
    DTEND:20260325T110000Z
    """
    (found,) = read(feed(alone))
    assert found.key == "series-i-only-partly-see|2026-03-25T09:00:00Z"


def test_an_endless_daily_rule_gives_one_occurrence_a_day_of_the_window() -> None:
    daily = "UID:daily\nDTSTART:20260101T090000Z\nDTEND:20260101T091500Z\nRRULE:FREQ=DAILY"
    found = read(feed(daily), start=utc(2026, 3, 1), end=utc(2026, 3, 17))
    assert len(found) == 16
    assert found[0].start == utc(2026, 3, 1, 9) and found[-1].start == utc(2026, 3, 16, 9)


def test_only_the_window_is_expanded_however_long_ago_the_rule_began() -> None:
    ancient = "UID:ancient\nDTSTART:19700101T090000Z\nDTEND:19700101T091500Z\nRRULE:FREQ=DAILY"
    recent = "UID:recent\nDTSTART:20260301T090000Z\nDTEND:20260301T091500Z\nRRULE:FREQ=DAILY;COUNT=40"
    began = time.perf_counter()
    assert len(read(feed(ancient), start=utc(2026, 3, 1), end=utc(2026, 3, 17))) == 16
    ancient_seconds = time.perf_counter() - began
    began = time.perf_counter()
    assert len(read(feed(recent), start=utc(2026, 3, 1), end=utc(2026, 3, 17))) == 16
    recent_seconds = time.perf_counter() - began
    assert ancient_seconds < recent_seconds * 20 + 0.5  # generous: what matters is not 20 000 days' worth


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY",
        "FREQ=SECONDLY;INTERVAL=600",
        "FREQ=HOURLY;BYMINUTE=0,10,20,30,40,50",
        "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16,17;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55",
    ],
)
def test_a_rule_repeating_more_than_every_quarter_hour_is_skipped_and_said(rule: str) -> None:
    body = feed(f"UID:spam\nDTSTART:20260324T100000Z\nRRULE:{rule}", "UID:ok\nDTSTART:20260324T100000Z")
    reading = read_feed(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE)
    assert [o.key for o in reading.occurrences] == ["ok"]
    assert reading.skipped == [
        Skipped("spam", "its RRULE repeats it more than 96 times a day, too often for a meeting")
    ]


@pytest.mark.parametrize(
    ("rule", "count"),
    [
        ("FREQ=MINUTELY;INTERVAL=15;COUNT=8", 8),
        ("FREQ=SECONDLY;INTERVAL=3600;COUNT=5", 5),
        ("FREQ=HOURLY;COUNT=30", 30),
        ("FREQ=DAILY;BYHOUR=9,17", 28),
    ],
)
def test_frequent_but_plausible_rules_are_expanded(rule: str, count: int) -> None:
    assert len(read(feed(f"UID:r\nDTSTART:20260323T090000Z\nRRULE:{rule}"))) == count


# -- times and zones ---------------------------------------------------------------------------------------------


def test_a_floating_time_is_read_in_the_default_zone() -> None:
    body = feed("UID:f\nDTSTART:20260325T190000\nDTEND:20260325T200000")
    assert read(body)[0].start == utc(2026, 3, 25, 18)
    assert read(body, zone=ZoneInfo("America/New_York"))[0].start == utc(2026, 3, 25, 23)


def test_x_wr_timezone_places_floating_times_instead_of_the_default_zone() -> None:
    body = feed("UID:f\nDTSTART:20260325T190000\nDTEND:20260325T200000", header="X-WR-TIMEZONE:Asia/Tokyo")
    assert read(body)[0].start == utc(2026, 3, 25, 10)


def test_x_wr_timezone_keeps_a_rule_written_in_utc_at_its_local_hour() -> None:
    # Google writes some recurring events in UTC: the meeting is at 09:30 in Berlin all year, not at 08:30 UTC
    standup = "UID:s\nDTSTART:20260105T083000Z\nDTEND:20260105T084500Z\nRRULE:FREQ=DAILY"
    start, end = utc(2026, 3, 28), utc(2026, 3, 31)
    google = read(feed(standup, header="X-WR-TIMEZONE:Europe/Berlin"), start, end)
    assert [o.start for o in google] == [
        utc(2026, 3, 28, 8, 30),
        utc(2026, 3, 29, 7, 30),
        utc(2026, 3, 30, 7, 30),
    ]
    plain = read(feed(standup), start, end)
    assert [o.start.hour for o in plain] == [8, 8, 8]


def test_an_unknown_x_wr_timezone_falls_back_to_the_default_zone_and_says_so() -> None:
    body = feed("UID:f\nDTSTART:20260325T190000", header="X-WR-TIMEZONE:Mars/Olympus_Mons")
    reading = read_feed(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE)
    assert reading.occurrences[0].start == utc(2026, 3, 25, 18)
    assert "Mars/Olympus_Mons" in reading.skipped[0].reason


def test_outlooks_windows_zone_names_are_understood_without_a_vtimezone() -> None:
    body = feed(
        "UID:w\nDTSTART;TZID=W. Europe Standard Time:20260325T100000\n"
        "DTEND;TZID=W. Europe Standard Time:20260325T110000",
        "UID:p\nDTSTART;TZID=Pacific Standard Time:20260325T100000",
    )
    assert [o.start for o in read(body)] == [utc(2026, 3, 25, 9), utc(2026, 3, 25, 17)]


def test_a_feeds_own_vtimezone_is_honoured_under_any_name() -> None:
    custom = """
    BEGIN:VTIMEZONE
    TZID:Customized Time Zone
    BEGIN:STANDARD
    DTSTART:16010101T000000
    TZOFFSETFROM:+0530
    TZOFFSETTO:+0530
    END:STANDARD
    END:VTIMEZONE
    """
    body = feed("UID:c\nDTSTART;TZID=Customized Time Zone:20260325T100000", header=custom)
    assert read(body)[0].start == utc(2026, 3, 25, 4, 30)


def test_an_all_day_event_runs_from_midnight_to_midnight_in_the_calendars_zone() -> None:
    (day,) = read(feed("UID:d\nDTSTART;VALUE=DATE:20260327\nDTEND;VALUE=DATE:20260328"))
    assert day.all_day
    assert (day.start, day.end) == (utc(2026, 3, 26, 23), utc(2026, 3, 27, 23))
    (tokyo,) = read(feed("UID:d\nDTSTART;VALUE=DATE:20260327", header="X-WR-TIMEZONE:Asia/Tokyo"))
    assert (tokyo.start, tokyo.end) == (utc(2026, 3, 26, 15), utc(2026, 3, 27, 15))  # no DTEND: one day


def test_a_recurring_all_day_events_recurrence_id_is_its_local_midnight_in_utc() -> None:
    (birthday,) = read(feed("UID:b\nDTSTART;VALUE=DATE:20200401\nRRULE:FREQ=YEARLY"))
    assert birthday.recurrence_id == "2026-03-31T22:00:00Z"


def test_a_duration_gives_the_end() -> None:
    (meeting,) = read(feed("UID:d\nDTSTART:20260325T100000Z\nDURATION:PT45M"))
    assert meeting.end == utc(2026, 3, 25, 10, 45)


def test_the_default_zone_may_be_a_name_or_a_zoneinfo() -> None:
    body = feed("UID:f\nDTSTART:20260325T190000")
    assert read(body, zone="Europe/Berlin") == read(body, zone=BERLIN)


# -- the window -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        ("20260322T230000Z", "20260323T000000Z", False),  # ends as the window starts
        ("20260322T230000Z", "20260323T000100Z", True),  # runs into it
        ("20260405T235900Z", "20260406T010000Z", True),  # starts in it
        ("20260406T000000Z", "20260406T010000Z", False),  # starts as it ends
        ("20260323T000000Z", "20260323T000000Z", True),  # an instant at its start
        ("20260406T000000Z", "20260406T000000Z", False),  # an instant at its end
        ("20260301T000000Z", "20260501T000000Z", True),  # spans it
    ],
)
def test_an_occurrence_counts_when_it_overlaps_the_window(start: str, end: str, inside: bool) -> None:
    assert len(read(feed(f"UID:e\nDTSTART:{start}\nDTEND:{end}"))) == int(inside)


def test_occurrences_are_sorted_by_start_then_key() -> None:
    body = feed(
        "UID:b\nDTSTART:20260324T100000Z",
        "UID:a\nDTSTART:20260324T100000Z",
        "UID:c\nDTSTART:20260323T100000Z",
    )
    assert [o.key for o in read(body)] == ["c", "a", "b"]


def test_a_duplicated_event_counts_once_in_its_latest_version() -> None:
    body = feed(
        "UID:dup\nDTSTART:20260324T100000Z\nSUMMARY:old\nSEQUENCE:1",
        "UID:dup\nDTSTART:20260324T100000Z\nSUMMARY:new\nSEQUENCE:2",
    )
    assert [(o.key, o.title) for o in read(body)] == [("dup", "new")]


def test_the_window_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        read(feed(WEEKLY), start=datetime(2026, 3, 23))


# -- status, attendance and the default filters ------------------------------------------------------------------


def test_status_and_transparency_are_read() -> None:
    body = feed(
        "UID:c\nDTSTART:20260324T100000Z\nSTATUS:CANCELLED",
        "UID:t\nDTSTART:20260324T110000Z\nSTATUS:TENTATIVE",
        "UID:n\nDTSTART:20260324T120000Z",
        "UID:f\nDTSTART:20260324T130000Z\nTRANSP:TRANSPARENT",
    )
    found = {o.key: o for o in read(body)}
    assert (found["c"].status, found["t"].status, found["n"].status) == (
        "cancelled",
        "tentative",
        "confirmed",
    )
    assert (found["f"].free, found["n"].free) == (True, False)


def test_a_cancelled_occurrence_of_a_series_is_its_instance_with_status_cancelled() -> None:
    cancelled = """
    UID:weekly
    RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
    DTSTART;TZID=Europe/Berlin:20260330T100000
    DTEND;TZID=Europe/Berlin:20260330T103000
    STATUS:CANCELLED
    """
    body = feed(WEEKLY, cancelled)
    everything = read(body, include={"cancelled"})
    assert [(o.key, o.status) for o in everything] == [
        ("weekly|2026-03-23T09:00:00Z", "confirmed"),
        ("weekly|2026-03-30T08:00:00Z", "cancelled"),
    ]
    assert [o.key for o in read(body, include=set())] == ["weekly|2026-03-23T09:00:00Z"]


def attendee(partstat: str | None, address: str = "mailto:ada@example.com") -> str:
    parameters = f";PARTSTAT={partstat}" if partstat else ""
    return (
        f"UID:m\nDTSTART:20260324T100000Z\nORGANIZER:mailto:boss@example.com\nATTENDEE{parameters}:{address}"
    )


@pytest.mark.parametrize(
    ("partstat", "my_status"),
    [
        ("ACCEPTED", "accepted"),
        ("DECLINED", "declined"),
        ("TENTATIVE", "tentative"),
        ("NEEDS-ACTION", "needs-action"),
        (None, "needs-action"),  # RFC 5545's default
        ("DELEGATED", None),
    ],
)
def test_my_status_is_my_attendees_partstat(partstat: str | None, my_status: str | None) -> None:
    (meeting,) = read(feed(attendee(partstat)))
    assert meeting.my_status == my_status


def test_my_address_is_matched_whatever_its_case_and_in_the_email_parameter() -> None:
    assert read(feed(attendee("TENTATIVE", "MAILTO:Ada@Example.COM")), me=("ADA@example.com",))[
        0
    ].my_status == ("tentative")
    by_parameter = (
        "UID:m\nDTSTART:20260324T100000Z\nATTENDEE;PARTSTAT=ACCEPTED;EMAIL=ada@example.com:urn:uuid:1"
    )
    assert read(feed(by_parameter))[0].my_status == "accepted"


def test_my_status_is_none_when_i_am_not_invited_or_nobody_is_me() -> None:
    assert read(feed(attendee("ACCEPTED", "mailto:someone@example.com")))[0].my_status is None
    assert read(feed(attendee("ACCEPTED")), me=())[0].my_status is None


def test_the_organizer_not_among_the_attendees_has_accepted_their_own_meeting() -> None:
    mine = "UID:m\nDTSTART:20260324T100000Z\nORGANIZER;CN=Ada:mailto:Ada@example.com"
    (meeting,) = read(feed(mine))
    assert (meeting.organizer, meeting.my_status) == ("Ada@example.com", "accepted")


def test_the_text_fields_are_read() -> None:
    event = """
    UID:m
    DTSTART:20260324T100000Z
    SUMMARY:Design review\\, round 2
    LOCATION:Room 1
    DESCRIPTION:Line one\\nLine two
    ORGANIZER;CN=Grace:mailto:grace@example.com
    SEQUENCE:4
    """
    (meeting,) = read(feed(event))
    assert meeting.title == "Design review, round 2"
    assert (meeting.location, meeting.description) == ("Room 1", "Line one\nLine two")
    assert (meeting.organizer, meeting.sequence) == ("grace@example.com", 4)


def test_a_bare_event_gets_the_defaults() -> None:
    (meeting,) = read(feed("UID:m\nDTSTART:20260324T100000Z"), me=())
    assert meeting == Occurrence(
        uid="m", recurrence_id=None, start=utc(2026, 3, 24, 10), end=utc(2026, 3, 24, 10), title=""
    )


DEFAULT_SKIPPED = {
    "all_day": "UID:all_day\nDTSTART;VALUE=DATE:20260324",
    "free": "UID:free\nDTSTART:20260324T100000Z\nTRANSP:TRANSPARENT",
    "declined": attendee("DECLINED").replace("UID:m", "UID:declined"),
    "cancelled": "UID:cancelled\nDTSTART:20260324T100000Z\nSTATUS:CANCELLED",
}


def test_by_default_all_day_free_declined_and_cancelled_occurrences_are_left_out() -> None:
    body = feed("UID:kept\nDTSTART:20260324T100000Z", *DEFAULT_SKIPPED.values())
    assert [o.key for o in read(body, include=set())] == ["kept"]


@pytest.mark.parametrize("kind", sorted(DEFAULT_SKIPPED))
def test_include_keeps_what_is_left_out_by_default(kind: str) -> None:
    body = feed(*DEFAULT_SKIPPED.values())
    assert [o.key for o in read(body, include={kind})] == [kind]


def test_include_names_only_what_can_be_left_out() -> None:
    with pytest.raises(ValueError, match="tentative"):
        read(feed(WEEKLY), include={"tentative"})


# -- what is not a calendar, and what cannot be read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"  \r\n", "the body is empty"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        (b'{"error": "unauthorized"}', "JSON"),
        (b"[]", "JSON"),
        (b"\xff\xfe\x00garbage", "does not begin with BEGIN:VCALENDAR"),
        (b"BEGIN:VCARD\r\nEND:VCARD\r\n", "does not begin with BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nthis is no content line\r\nEND:VCALENDAR\r\n", "not an iCalendar feed"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "not an iCalendar feed"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260324T100000Z\r\n", "cut short"),
        (b"BEGIN:VCALENDAR\r\nCALSCALE:ISLAMIC-CIVIL\r\nEND:VCALENDAR\r\n", "Gregorian"),
    ],
)
def test_a_body_that_is_not_a_calendar_is_a_payload_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as raised:
        read(body)
    assert str(raised.value).startswith("not an iCalendar feed")


def test_a_byte_order_mark_and_leading_blank_lines_are_fine() -> None:
    body = b"\xef\xbb\xbf\r\n" + feed("UID:m\nDTSTART:20260324T100000Z").encode()
    assert [o.key for o in read(body)] == ["m"]


def test_an_empty_calendar_has_no_occurrences() -> None:
    assert read(feed()) == []


def test_an_unreadable_event_is_skipped_and_said_and_the_rest_is_read() -> None:
    body = feed(
        "UID:broken\nDTSTART:2026-03-24 10:00\nSUMMARY:Broken",
        "UID:no-start\nSUMMARY:No start",
        "UID:twice\nDTSTART:20260324T100000Z\nDTSTART:20260324T110000Z",
        "DTSTART:20260324T100000Z\nSUMMARY:No UID",
        "UID:bad-rule\nDTSTART:20260324T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=XX",
        "UID:fine\nDTSTART:20260324T100000Z",
    )
    reading = read_feed(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE)
    assert [o.key for o in reading.occurrences] == ["fine"]
    reasons = {s.uid: s.reason for s in reading.skipped}
    assert reasons.keys() == {"broken", "no-start", "twice", "", "bad-rule"}
    assert "DTSTART cannot be read" in reasons["broken"]
    assert reasons["no-start"] == "it has no DTSTART"
    assert reasons["twice"] == "it has more than one DTSTART"
    assert "no UID" in reasons[""]
    assert "RRULE" in reasons["bad-rule"]


def test_occurrences_is_read_feeds_occurrences() -> None:
    body = feed(WEEKLY, "UID:broken\nDTSTART:nope")
    reading = read_feed(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE)
    assert isinstance(reading, Reading) and len(reading.skipped) == 1
    assert occurrences(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE) == reading.occurrences


# -- mangled feeds -------------------------------------------------------------------------------------------------

FEED_LINES = {p.stem: p.read_text().splitlines() for p in fixtures()}


@st.composite
def mangled_feeds(draw: st.DrawFn) -> str:
    """A fixture with a few lines deleted, duplicated, cut, swapped or garbled."""
    lines = list(FEED_LINES[draw(st.sampled_from(sorted(FEED_LINES)))])
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "cut", "swap", "garble", "insert"]))
        if operation == "delete":
            del lines[at]
        elif operation == "duplicate":
            lines.insert(at, lines[at])
        elif operation == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif operation == "garble":
            text = lines[at]
            where = draw(st.integers(0, len(text)))
            lines[at] = text[:where] + draw(st.text(max_size=8)) + text[where:]
        else:
            lines.insert(
                at, draw(st.sampled_from(["", "END:VEVENT", "BEGIN:VEVENT", "DTSTART:2026", ":", ";"]))
            )
    return "\r\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_feeds())
def test_a_mangled_feed_gives_occurrences_or_a_payload_error_never_anything_else(body: str) -> None:
    try:
        reading = read_feed(body, start=WINDOW_START, end=WINDOW_END, default_timezone=ZONE, my_emails=ME)
    except PayloadError as error:
        assert str(error).startswith("not an iCalendar feed")
        return
    for occurrence in reading.occurrences:
        assert occurrence.start.utcoffset() == timedelta(0) and occurrence.end >= occurrence.start
    assert [(o.start, o.key) for o in reading.occurrences] == sorted(
        (o.start, o.key) for o in reading.occurrences
    )
