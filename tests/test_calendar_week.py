"""A week of meetings walked through in minutes: a real worker and beat poll a calendar while the calendar clock
(``TOGGLBRIDGE_CLOCK_START``) jumps from checkpoint to checkpoint, and the simulator ends the week with exactly
the entries the meetings call for.

Every checkpoint starts a new worker and beat on the same Redis and simulator (the bridge was down in between),
so each is also a restart: nothing may be created twice. The week is a past one, so the simulator never sees a
start in its future.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.pipeline_support import Pipeline, running_pipeline, wait_for
from togglbridge.clock import calendar_now
from togglbridge.serving import serve_in_thread
from togglbridge.store import keys
from togglbridge.store.feed_state import feed_fields
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 16)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHECKPOINT_TIMEOUT = 60.0

Entry = tuple[str, datetime, datetime | None]  # description, start, stop (None: running)


def at(day: str, hhmm: str) -> datetime:
    """A wall-clock time in Berlin on a day of the week walked through, in UTC."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    moment = datetime.combine(MONDAY + timedelta(days=DAYS.index(day)), datetime.min.time(), BERLIN)
    return moment.replace(hour=hour, minute=minute).astimezone(UTC)


def entries(sim: Simulator, *, deleted: bool = False) -> list[Entry]:
    """The simulator's entries (or its deleted ones), sorted by start."""
    with sim.lock:
        found = [
            (
                e.description,
                datetime.fromtimestamp(e.start, UTC),
                datetime.fromtimestamp(e.stop, UTC) if e.stop is not None else None,
            )
            for e in sim.state.entries.values()
            if e.deleted == deleted
        ]
    return sorted(found, key=lambda e: (e[1], e[0]))


def show(listed: Sequence[Entry]) -> str:
    def hhmm(moment: datetime | None) -> str:
        return moment.astimezone(BERLIN).strftime("%a %H:%M:%S") if moment else "running"

    return "; ".join(f"{d} {hhmm(start)}-{hhmm(stop)}" for d, start, stop in listed) or "none"


@dataclass
class Walk:
    """Worker and beat started at one calendar time after another, on one Redis and one simulator."""

    redis_url: str
    rules: str
    workdir: Path
    env: dict[str, str]
    calendar: str
    sim: Simulator = field(default_factory=Simulator)
    runs: int = 0

    @contextmanager
    def checkpoint(self, moment: datetime, *, poll: bool = True) -> Iterator[Pipeline]:
        """Run the bridge with its calendar clock starting at ``moment``; returns once a poll of the calendar
        at that time finished (the caller then waits for what it expects, while the bridge still runs).
        ``poll=False`` for a restart within the interval of the last poll: none is due."""
        client = redis.Redis.from_url(self.redis_url)
        before = feed_fields(client, self.calendar).get("last_success") if self.runs else None
        client.close()
        env = self.env | {
            "TOGGLBRIDGE_CLOCK_START": moment.isoformat(),
            "TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off",
        }
        with running_pipeline(
            self.redis_url,
            self.rules,
            self.workdir,
            ["alice"],
            extra_env=env,
            sim=self.sim,
            fresh=not self.runs,
        ) as pipeline:
            self.runs += 1

            def polled() -> bool:
                fields = feed_fields(pipeline.redis, self.calendar)
                assert not fields.get("last_error"), fields["last_error"]
                return fields.get("last_success", before) != before

            if poll:
                wait_for(polled, timeout=CHECKPOINT_TIMEOUT, what=f"a poll at {moment}")
            yield pipeline

    def expect(
        self, pipeline: Pipeline, wanted: Sequence[Entry], *, deleted: Sequence[Entry] | None = None
    ) -> None:
        """Wait until the simulator holds exactly ``wanted`` (and ``deleted``, when given) and the bridge has
        nothing left to do."""

        def holds() -> bool:
            done = entries(self.sim) == list(wanted) and (
                deleted is None or entries(self.sim, deleted=True) == list(deleted)
            )
            return done and idle(pipeline.redis)

        try:
            wait_for(holds, timeout=CHECKPOINT_TIMEOUT, what="the expected entries")
        except AssertionError:
            raise AssertionError(
                f"expected {show(wanted)}\n   found {show(entries(self.sim))}"
                f"\n deleted {show(entries(self.sim, deleted=True))}"
            ) from None

    def settle(self, pipeline: Pipeline) -> None:
        """Wait until two more ticks ran (the first fires whatever is due, a poll's triggers too) and everything
        accepted was planned and applied: after that, an entry still to come would be a bug."""
        ticks: list[object] = [pipeline.redis.get(keys.LAST_TICK)]

        def ticked_twice() -> bool:
            tick = pipeline.redis.get(keys.LAST_TICK)
            if tick != ticks[-1]:
                ticks.append(tick)
            return len(ticks) > 2 and idle(pipeline.redis)

        wait_for(ticked_twice, timeout=CHECKPOINT_TIMEOUT, what="two ticks and an idle bridge")


def idle(client: redis.Redis) -> bool:
    """Nothing accepted and waiting to be planned, nothing planned and waiting to be applied."""
    if client.zcard(keys.UNPLANNED_AT):
        return False
    return not any(client.zcard(key) for key in client.scan_iter(match=f"{keys.PREFIX}:outbox:*"))


# -- an ICS feed over HTTP, live mode ---------------------------------------------------------------------------

LIVE_RULES = """
identities:
  alice:
    emails: [alice@acme.io]
calendars:
  - {name: work, identity: alice, url_env: WORK_CALENDAR_FOR_TEST, mode: live, poll_every: 1m}
rules:
  - name: meetings
    on: calendar.started
    do:
      - start: {description: "{{ title }}", tags: [meeting]}
  - name: meeting over
    on: calendar.ended
    if: {mode: live}
    do:
      - stop: {only: started_by_this_event}
"""

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y%m%dT%H%M%S")


def vevent(uid: str, title: str, start: datetime, end: datetime, *lines: str, sequence: int = 0) -> str:
    """A VEVENT with times in Berlin (TZID), organized by carol, alice accepted unless ``lines`` say otherwise."""
    attendee = (
        ()
        if any(line.startswith("ATTENDEE") for line in lines)
        else ("ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@acme.io",)
    )
    return "\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20261101T000000Z",
            f"DTSTART;TZID=Europe/Berlin:{local(start)}",
            f"DTEND;TZID=Europe/Berlin:{local(end)}",
            f"SUMMARY:{title}",
            f"SEQUENCE:{sequence}",
            "ORGANIZER:mailto:carol@acme.io",
            *attendee,
            *lines,
            "END:VEVENT",
            "",
        ]
    )


@dataclass
class Week:
    """The feed's week; the fields are what changes between checkpoints."""

    planning: tuple[str, str] = ("14:00", "15:00")  # Monday
    one_on_one: tuple[str, str] = ("11:00", "11:30")  # Tuesday
    retro_cancelled: bool = False  # Tuesday 16:00-17:00

    def ics(self) -> str:
        moved = at("Wed", "09:00")
        body = [
            # Every weekday at 09:00 but Thursday (EXDATE); Wednesday's moved to 10:00; Friday's cancelled.
            vevent(
                "standup@acme.io",
                "Standup",
                at("Mon", "09:00"),
                at("Mon", "09:15"),
                "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                f"EXDATE;TZID=Europe/Berlin:{local(at('Thu', '09:00'))}",
            ),
            vevent(
                "standup@acme.io",
                "Standup",
                at("Wed", "10:00"),
                at("Wed", "10:15"),
                f"RECURRENCE-ID;TZID=Europe/Berlin:{local(moved)}",
                sequence=1,
            ),
            vevent(
                "standup@acme.io",
                "Standup",
                at("Fri", "09:00"),
                at("Fri", "09:15"),
                f"RECURRENCE-ID;TZID=Europe/Berlin:{local(at('Fri', '09:00'))}",
                "STATUS:CANCELLED",
                sequence=1,
            ),
            vevent(
                "budget@acme.io",
                "Budget review",
                at("Mon", "11:00"),
                at("Mon", "12:00"),
                "RRULE:FREQ=WEEKLY",
                "ATTENDEE;PARTSTAT=DECLINED:mailto:Alice@Acme.io",
            ),
            vevent(
                "design@acme.io",
                "Design sync",
                at("Tue", "14:00"),
                at("Tue", "15:00"),
                "ATTENDEE;PARTSTAT=TENTATIVE:mailto:alice@acme.io",
            ),
            vevent(
                "planning@acme.io",
                "Planning",
                at("Mon", self.planning[0]),
                at("Mon", self.planning[1]),
                sequence=int(self.planning != Week.planning),
            ),
            vevent(
                "one-on-one@acme.io",
                "1:1 Bob",
                at("Tue", self.one_on_one[0]),
                at("Tue", self.one_on_one[1]),
                sequence=int(self.one_on_one != Week.one_on_one),
            ),
            vevent(
                "retro@acme.io",
                "Retro",
                at("Tue", "16:00"),
                at("Tue", "17:00"),
                *(["STATUS:CANCELLED"] if self.retro_cancelled else []),
                sequence=int(self.retro_cancelled),
            ),
            vevent(
                "focus@acme.io", "Focus time", at("Thu", "13:00"), at("Thu", "15:00"), "TRANSP:TRANSPARENT"
            ),
            "\n".join(
                [
                    "BEGIN:VEVENT",
                    "UID:offsite@acme.io",
                    "DTSTAMP:20261101T000000Z",
                    "DTSTART;VALUE=DATE:20261118",
                    "DTEND;VALUE=DATE:20261119",
                    "SUMMARY:Offsite",
                    "END:VEVENT",
                    "",
                ]
            ),
        ]
        text = (
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//week//EN\n"
            + VTIMEZONE
            + "".join(body)
            + "END:VCALENDAR\n"
        )
        return text.replace("\n", "\r\n")


class Feed:
    """An ICS address that counts its fetches and answers 304 to a fetch that names its ETag."""

    def __init__(self, week: Week) -> None:
        self.week = week
        self.fetches = 0

    async def serve(self, request: Request) -> Response:
        self.fetches += 1
        body = self.week.ics()
        etag = f'"{abs(hash(body))}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="text/calendar", headers={"ETag": etag})


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    served = Feed(Week())
    app = Starlette(routes=[Route("/secret-token/work.ics", served.serve)])
    with serve_in_thread(app, name="feed") as url:
        yield served, f"{url}/secret-token/work.ics"


def test_a_week_of_an_ics_calendar_gives_exactly_its_meetings(
    redis_url: str, tmp_path: Path, feed: tuple[Feed, str]
) -> None:
    served, address = feed
    walk = Walk(redis_url, LIVE_RULES, tmp_path, {"WORK_CALENDAR_FOR_TEST": address}, "work")
    standup_mon = ("Standup", at("Mon", "09:00"), at("Mon", "09:15"))
    fetched = 0

    def visit(
        moment: datetime,
        wanted: Sequence[Entry],
        *,
        then: Callable[[], None] = lambda: None,
        interrupted: bool = False,
    ) -> None:
        """Run the bridge at ``moment`` until ``wanted`` holds, then change the feed with ``then``.
        ``interrupted``: stopped first as soon as its poll is done, with the poll's triggers and actions still in
        flight, and started again at once: the clock carries on from the same start, so the feed is not due again
        and what was in flight is done once."""
        nonlocal fetched
        if interrupted:
            with walk.checkpoint(moment):
                pass
        with walk.checkpoint(moment, poll=not interrupted) as pipeline:
            walk.expect(pipeline, wanted)
            assert served.fetches == fetched + 1  # one fetch per interval (1 minute), however often it ticks
            fetched = served.fetches
        then()

    # Monday: the stand-up runs; the declined budget review never starts; planning runs, then is moved earlier
    # and shorter while it runs: its entry starts at the new start, and stops at the new end.
    visit(at("Mon", "09:05"), [("Standup", at("Mon", "09:00"), None)])
    visit(
        at("Mon", "14:10"),
        [standup_mon, ("Planning", at("Mon", "14:00"), None)],
        then=lambda: setattr(served.week, "planning", ("13:45", "14:30")),
    )
    visit(at("Mon", "14:20"), [standup_mon, ("Planning", at("Mon", "13:45"), None)])
    planning = ("Planning", at("Mon", "13:45"), at("Mon", "14:30"))

    # Tuesday, the bridge down until 16:10: the meetings it missed are there with their real times (the tentative
    # design sync too), the retro runs. Then the finished 1:1 is moved and the running retro cancelled.
    tuesday = [
        ("Standup", at("Tue", "09:00"), at("Tue", "09:15")),
        ("Design sync", at("Tue", "14:00"), at("Tue", "15:00")),
    ]

    def change_tuesday() -> None:
        served.week.one_on_one = ("11:15", "11:45")
        served.week.retro_cancelled = True

    visit(
        at("Tue", "16:10"),
        [
            standup_mon,
            planning,
            tuesday[0],
            ("1:1 Bob", at("Tue", "11:00"), at("Tue", "11:30")),
            tuesday[1],
            ("Retro", at("Tue", "16:00"), None),
        ],
        then=change_tuesday,
        interrupted=True,
    )
    with walk.checkpoint(at("Tue", "16:20")) as pipeline:
        # The retro stops when the poll saw it cancelled: the calendar time of that poll.
        seen = datetime.fromisoformat(feed_fields(pipeline.redis, "work")["last_success"])
        week: list[Entry] = [
            standup_mon,
            planning,
            tuesday[0],
            ("1:1 Bob", at("Tue", "11:15"), at("Tue", "11:45")),
            tuesday[1],
        ]

        def retro_stopped() -> bool:
            found = [e for e in entries(walk.sim) if e[0] == "Retro"]
            return bool(found) and found[0][2] is not None

        wait_for(retro_stopped, timeout=CHECKPOINT_TIMEOUT, what="the cancelled retro's stop")
        (retro,) = [e for e in entries(walk.sim) if e[0] == "Retro"]
        assert retro[1] == at("Tue", "16:00")
        assert retro[2] is not None and abs(retro[2] - seen) <= timedelta(
            seconds=1
        )  # Toggl keeps whole seconds
        walk.expect(pipeline, sorted([*week, retro], key=lambda e: (e[1], e[0])))
        assert served.fetches == fetched + 1
        fetched = served.fetches
    week = sorted([*week, retro], key=lambda e: (e[1], e[0]))

    # Wednesday: the stand-up runs at its moved time (10:00), not at 09:00; the all-day offsite is no entry.
    wednesday = ("Standup", at("Wed", "10:00"), at("Wed", "10:15"))
    visit(at("Wed", "10:05"), [*week, (wednesday[0], wednesday[1], None)])
    # Friday evening: Thursday's stand-up was excluded, its focus time is free, Friday's stand-up was cancelled.
    final = [*week, wednesday]
    visit(at("Fri", "17:00"), final)

    # Restarted at once: the clock goes on from where it was (the same start, the same anchor), so the feed is
    # not due again before its interval is over, and nothing is created twice.
    client = redis.Redis.from_url(redis_url)
    due = client.zscore(keys.POLLS, "work")
    with walk.checkpoint(at("Fri", "17:00"), poll=False) as pipeline:
        walk.settle(pipeline)
        assert entries(walk.sim) == final, show(entries(walk.sim))
        if due is not None and calendar_now(client, at("Fri", "17:00")).timestamp() < due:
            assert served.fetches == fetched
    client.close()
    assert entries(walk.sim, deleted=True) == []
    assert served.fetches <= walk.runs


# -- a CalDAV calendar on Radicale, log mode --------------------------------------------------------------------

LOG_RULES = """
identities:
  alice:
    emails: [alice@acme.io]
calendars:
  - name: team
    identity: alice
    caldav_url_env: TEAM_CALDAV_URL
    username_env: TEAM_CALDAV_USER
    password_env: TEAM_CALDAV_PASSWORD
    mode: log
    poll_every: 1m
rules:
  - name: meetings logged
    on: calendar.ended
    if: {mode: log}
    do:
      - log: {description: "{{ title }}", start: "{{ start }}", tags: [meeting]}
"""


def caldav_event(uid: str, title: str, start: datetime, end: datetime, sequence: int = 0) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//week//EN\r\n"
        + VTIMEZONE.replace("\n", "\r\n")
        + vevent(uid, title, start, end, sequence=sequence).replace("\n", "\r\n")
        + "END:VCALENDAR\r\n"
    )


def test_a_week_of_a_caldav_calendar_logs_exactly_its_meetings(redis_url: str, tmp_path: Path) -> None:
    from caldav import DAVClient

    from tests.feeds.radicale_server import run_radicale

    (tmp_path / "radicale").mkdir()
    with (
        run_radicale(tmp_path / "radicale") as radicale,
        DAVClient(url=radicale.home, username=radicale.username, password=radicale.password) as owner,
    ):
        team = owner.principal().make_calendar(name="Team", cal_id="team")
        meetings = {
            "standup": ("Standup", at("Mon", "09:00"), at("Mon", "09:15")),
            "kickoff": ("Kickoff", at("Mon", "10:00"), at("Mon", "11:00")),
            "review": ("Review", at("Mon", "13:00"), at("Mon", "14:00")),
            "demo": ("Demo", at("Mon", "15:00"), at("Mon", "16:00")),
            "sync": ("Sync", at("Tue", "10:00"), at("Tue", "11:00")),
        }
        for uid, (title, start, end) in meetings.items():
            team.save_event(caldav_event(f"{uid}@acme.io", title, start, end))

        def move(uid: str, start: datetime, end: datetime) -> None:
            title = meetings[uid][0]
            team.save_event(caldav_event(f"{uid}@acme.io", title, start, end, sequence=1))

        env = {
            "TEAM_CALDAV_URL": str(team.url),
            "TEAM_CALDAV_USER": radicale.username,
            "TEAM_CALDAV_PASSWORD": radicale.password,
        }
        walk = Walk(redis_url, LOG_RULES, tmp_path, env, "team")

        # Before the day begins: nothing is logged yet. Then the kickoff is moved and the sync deleted, both
        # before they happen.
        with walk.checkpoint(at("Mon", "08:50")) as pipeline:
            walk.settle(pipeline)
            assert entries(walk.sim) == []
        move("kickoff", at("Mon", "10:30"), at("Mon", "11:30"))
        team.event_by_uid("sync@acme.io").delete()

        standup = meetings["standup"]
        with walk.checkpoint(at("Mon", "10:15")) as pipeline:
            walk.expect(pipeline, [standup])

        kickoff = ("Kickoff", at("Mon", "10:30"), at("Mon", "11:30"))
        logged = [standup, kickoff, meetings["review"], meetings["demo"]]
        with walk.checkpoint(at("Mon", "16:30")) as pipeline:
            walk.expect(pipeline, logged)
        # After they were logged: the review is moved, the demo deleted.
        move("review", at("Mon", "13:30"), at("Mon", "14:30"))
        team.event_by_uid("demo@acme.io").delete()

        final = [standup, kickoff, ("Review", at("Mon", "13:30"), at("Mon", "14:30"))]
        with walk.checkpoint(at("Mon", "16:40")):
            pass  # stopped as soon as the poll saw the move and the deletion, their work still in flight
        with walk.checkpoint(at("Mon", "16:40"), poll=False) as pipeline:
            walk.expect(pipeline, final, deleted=[meetings["demo"]])

        # Tuesday noon: the deleted sync never became an entry, and nothing was made twice.
        with walk.checkpoint(at("Tue", "12:00")) as pipeline:
            walk.settle(pipeline)
            assert entries(walk.sim) == final, show(entries(walk.sim))
            assert entries(walk.sim, deleted=True) == [meetings["demo"]]
