"""Calendar polling: the worker's CPU per feed poll, divided by the CPU of the bare icalendar +
recurring-ical-events parse and expansion of the same feed.

    python -m bench.calendar [--feeds 500] [--events 300] [--rounds 5] [--seed 1]

``--feeds`` distinct feeds (300 VEVENTs each by default, a third of them recurring), generated from a seed, are
written to a temporary folder and served over real HTTP by a small server in **another process** (keep-alive,
ETag and If-None-Match like a calendar server), so that this process's CPU clock holds only the worker's side.
Each feed is polled by ``togglbridge.calendars.poll_calendar`` itself, as a worker does (an ``httpx.Client``, the
local Redis, the rule file's calendar), four times:

- new: its first poll (fetch, parse, expand, compare with nothing, schedule every trigger, remember all);
- unchanged, 304: the same address again, the server answering 304 to the ETag it gave;
- unchanged, same body: an address whose server ignores validators and sends the same body (the hash path);
- modified: a new version of the feed, one meeting moved by an hour and another renamed.

Baseline, measured on the same feeds in the same rounds, interleaved with the polls feed by feed: the bare
``icalendar.Calendar.from_ical`` + ``x_wr_timezone.to_standard`` (when the feed names an X-WR-TIMEZONE, as the
reader does) + ``recurring_ical_events.of(...).between(...)`` over the poller's window, of the feed's text. Every
figure is ``time.process_time()`` around one call: this process's CPU, not the wall clock.

The feeds are split over the rounds (100 feeds a round by default); a round's ratio is its polls' CPU over its
bare parses' CPU, and the headline is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events
import redis
import x_wr_timezone  # type: ignore[import-untyped]  # the package ships no type information

from bench._common import (
    CpuMeter,
    bench_redis,
    child_env,
    header,
    redis_kind,
    redis_pid,
    run_main,
    spawn,
    terminate_on_sigterm,
    wait_for,
)
from togglbridge import calendars
from togglbridge.config import Config, parse_config
from togglbridge.polling import TRIGGERS, Trigger
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.sources.ics import Reading
from togglbridge.store import keys
from togglbridge.store.enqueue import EventQueue
from workers.app import app as celery_app

CHANGED_AIM = 1.3  # a changed feed's poll may cost at most this many bare parses
UNCHANGED_AIM = 0.05  # an unchanged feed's poll: a small fraction of one
# A fixed "now", so that the feeds, and so every count the check compares, are the same on every run.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW = (NOW - calendars.BEHIND, NOW + calendars.AHEAD)  # what the poller expands a feed over
PHASES = ("new", "unchanged 304", "unchanged same body", "modified")
CHANGED = ("new", "modified")
SERVER_START_SECONDS = 30.0


# -- the feeds ---------------------------------------------------------------------------------------------------

VTIMEZONES = {
    "Europe/Berlin": (
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\n"
        "TZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n"
    ),
    "America/New_York": (
        "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nX-LIC-LOCATION:America/New_York\r\nBEGIN:DAYLIGHT\r\n"
        "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nDTSTART:19700308T020000\r\n"
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\n"
        "TZOFFSETTO:-0500\r\nTZNAME:EST\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n"
    ),
}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
NAMES = (
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth",
    "Frances Allen", "Ken Thompson", "Margaret Hamilton", "John Backus", "Radia Perlman", "Leslie Lamport",
    "Katherine Johnson", "Dennis Ritchie", "Hedy Lamarr", "Tony Hoare", "Shafi Goldwasser", "Niklaus Wirth",
)  # fmt: skip
TOPICS = (
    "Platform", "Billing", "Onboarding", "Search", "Mobile", "Payments", "Data pipeline", "Security", "Design",
    "Hiring", "Roadmap", "Infrastructure", "Support", "Growth", "Release", "Customer", "Analytics", "API",
)  # fmt: skip
MEETINGS = (
    "sync", "weekly", "stand-up", "review", "planning", "retro", "1:1", "demo", "kick-off", "check-in",
    "deep dive", "office hours", "interview", "workshop", "all hands", "sprint planning", "design review",
)  # fmt: skip
ROOMS = (
    "Room Turing", "Room Hopper", "Room Lovelace", "Berlin 3.14", "NYC 12th floor, Hudson", "Zoom",
    "https://meet.google.com/abc-defg-hij", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc123",
)  # fmt: skip
WORDS = (
    "agenda", "notes", "decisions", "follow-up", "please", "review", "the", "doc", "before", "the", "call",
    "we", "will", "go", "through", "open", "questions", "and", "next", "steps", "for", "this", "quarter",
    "metrics", "dashboard", "blockers", "owners", "timeline", "launch", "risks", "customer", "feedback",
)  # fmt: skip
PARTSTATS = ("ACCEPTED",) * 14 + ("TENTATIVE",) * 2 + ("NEEDS-ACTION",) * 2 + ("DECLINED",) * 2


@dataclass(frozen=True, slots=True)
class Spec:
    """One VEVENT, before it is written: times are local to ``zone`` (naive), or a date for an all-day event."""

    uid: str
    start: datetime | date
    end: datetime | date
    title: str
    description: str
    location: str
    organizer: tuple[str, str]  # (name, email)
    attendees: tuple[tuple[str, str, str], ...]  # (name, email, PARTSTAT)
    sequence: int = 0
    free: bool = False
    status: str = "CONFIRMED"
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()
    recurrence_id: datetime | None = None
    in_utc: bool = False  # written in UTC (Google writes single events so), else with its TZID


@dataclass(frozen=True, slots=True)
class Feed:
    """One generated feed: its two versions (the second with one meeting moved and one renamed)."""

    index: int
    email: str
    versions: tuple[str, str]
    moved: Spec  # as in the modified version
    renamed: Spec


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 lines are at most 75 octets, continued with a space (the text here is ASCII)."""
    if len(line) <= 75:
        return line + "\r\n"
    parts = [line[:75]] + [line[i : i + 74] for i in range(75, len(line), 74)]
    return "\r\n ".join(parts) + "\r\n"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _when(name: str, value: datetime | date, zone: str, in_utc: bool) -> str:
    if not isinstance(value, datetime):
        return f"{name};VALUE=DATE:{value:%Y%m%d}"
    if in_utc:
        return f"{name}:{_stamp(value.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC))}Z"
    return f"{name};TZID={zone}:{_stamp(value)}"


def _vevent(spec: Spec, zone: str) -> str:
    lines = [
        "BEGIN:VEVENT",
        _when("DTSTART", spec.start, zone, spec.in_utc),
        _when("DTEND", spec.end, zone, spec.in_utc),
    ]
    if spec.rrule:
        lines.append(f"RRULE:{spec.rrule}")
    if spec.exdates:
        lines.append(f"EXDATE;TZID={zone}:" + ",".join(_stamp(d) for d in spec.exdates))
    lines += [f"DTSTAMP:{_stamp(NOW)}Z", f"ORGANIZER;CN={spec.organizer[0]}:mailto:{spec.organizer[1]}"]
    lines.append(f"UID:{spec.uid}")
    if spec.recurrence_id is not None:
        lines.append(_when("RECURRENCE-ID", spec.recurrence_id, zone, False))
    for name, email, partstat in spec.attendees:
        lines.append(
            f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={name};"
            f"X-NUM-GUESTS=0:mailto:{email}"
        )
    lines += [
        "CREATED:20250101T090000Z",
        f"DESCRIPTION:{_escape(spec.description)}",
        f"LAST-MODIFIED:{_stamp(NOW - timedelta(days=3 - spec.sequence))}Z",
        f"LOCATION:{_escape(spec.location)}",
        f"SEQUENCE:{spec.sequence}",
        f"STATUS:{spec.status}",
        f"SUMMARY:{_escape(spec.title)}",
        f"TRANSP:{'TRANSPARENT' if spec.free else 'OPAQUE'}",
        "END:VEVENT",
    ]
    return "".join(_fold(line) for line in lines)


def _calendar(index: int, zone: str, google: bool, specs: Iterable[Spec]) -> str:
    if google:
        head = (
            "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n"
            f"CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:person{index:03}@acme.io\r\n"
            f"X-WR-TIMEZONE:{zone}\r\n"
        )
    else:
        head = (
            "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
            "X-WR-CALNAME:Calendar\r\n"
        )
    return head + VTIMEZONES[zone] + "".join(_vevent(s, zone) for s in specs) + "END:VCALENDAR\r\n"


class _Writer:
    """Makes one feed's events from its own random stream."""

    def __init__(self, rng: random.Random, index: int, zone: str) -> None:
        self.rng = rng
        self.index = index
        self.zone = zone
        self.me = (f"Person {index:03}", f"person{index:03}@acme.io")
        self.now = NOW.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        self.today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        self.serial = 0

    def uid(self) -> str:
        self.serial += 1
        digest = hashlib.sha256(f"{self.index}:{self.serial}".encode()).hexdigest()[:26]
        return f"{digest}@google.com"

    def text(self, low: int, high: int) -> str:
        words = [self.rng.choice(WORDS) for _ in range(self.rng.randint(low, high))]
        sentences = [" ".join(words[i : i + 9]).capitalize() + "." for i in range(0, len(words), 9)]
        return "\n".join(sentences)

    def people(self, partstat: str | None = None) -> tuple[tuple[str, str], tuple[tuple[str, str, str], ...]]:
        """(organizer, attendees): the identity among them with its answer (or as the organizer)."""
        others = self.rng.sample(NAMES, self.rng.randint(1, 7))
        listed = [(n, n.lower().replace(" ", ".") + "@acme.io", self.rng.choice(PARTSTATS)) for n in others]
        if partstat is None and self.rng.random() < 0.15:
            organizer = self.me
            listed.insert(0, (*self.me, "ACCEPTED"))
        else:
            organizer = listed[0][:2]
            listed.insert(
                self.rng.randint(1, len(listed)), (*self.me, partstat or self.rng.choice(PARTSTATS))
            )
        return organizer, tuple(listed)

    def meeting(self, day: datetime, *, accepted: bool = False, **extra: Any) -> Spec:
        start = day.replace(hour=self.rng.randint(8, 17), minute=self.rng.choice((0, 0, 15, 30, 30)))
        minutes = self.rng.choice((15, 25, 30, 30, 45, 50, 60, 60, 90))
        organizer, attendees = self.people("ACCEPTED" if accepted else None)
        description = "" if self.rng.random() < 0.25 else self.text(12, 90)
        title = f"{self.rng.choice(TOPICS)} {self.rng.choice(MEETINGS)}"
        return Spec(
            uid=self.uid(),
            start=start,
            end=start + timedelta(minutes=minutes),
            title=title,
            description=description,
            location=self.rng.choice(ROOMS),
            organizer=organizer,
            attendees=attendees,
            sequence=self.rng.randint(0, 3),
            **extra,
        )

    def single(self, google: bool) -> Spec:
        day = self.today + timedelta(days=self.rng.randint(-150, 60))
        spec = self.meeting(day, in_utc=google)
        roll = self.rng.random()
        if roll < 0.05:  # all day: a date, ends the next day
            return replace(
                spec, start=day.date(), end=day.date() + timedelta(days=1), free=True, in_utc=False
            )
        if roll < 0.13:
            return replace(spec, free=True)  # "show me as free": a focus block, a reminder
        if roll < 0.16:
            return replace(spec, status="CANCELLED")
        return spec

    def series(self) -> list[Spec]:
        """A recurring meeting: the master, and sometimes an override of one instance near now."""
        first = self.today + timedelta(days=self.rng.randint(-700, -1))
        master = self.meeting(first)
        begin, length = master.start, master.end - master.start  # type: ignore[operator]  # a timed meeting
        assert isinstance(begin, datetime)
        weekday = DAYS[begin.weekday()]
        roll = self.rng.random()
        weekly = False
        if roll < 0.55:
            rule, weekly = f"FREQ=WEEKLY;BYDAY={weekday}", True
        elif roll < 0.65:
            extra = self.rng.choice([d for d in DAYS[:5] if d != weekday])
            rule = f"FREQ=WEEKLY;BYDAY={','.join(sorted({weekday, extra}, key=DAYS.index))}"
        elif roll < 0.77:
            rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday}"
        elif roll < 0.80:
            rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" if begin.weekday() < 5 else "FREQ=DAILY"
        else:
            nth = (begin.day - 1) // 7 + 1
            rule = f"FREQ=MONTHLY;BYDAY={min(nth, 4)}{weekday}" if nth <= 4 else "FREQ=MONTHLY"
        ending = self.rng.random()
        # Most series of a two-year-old calendar are over: a project's weekly, an interview loop.
        if ending < 0.35:
            until = first + timedelta(days=self.rng.randint(30, 365))
            rule += f";UNTIL={_stamp(until.replace(tzinfo=ZoneInfo(self.zone)).astimezone(UTC))}Z"
            weekly = False
        elif ending < 0.7:
            rule += f";COUNT={self.rng.randint(4, 40)}"
            weekly = False
        master = replace(master, rrule=rule)
        if not weekly:
            return [master]
        # An endless weekly meeting: its instances are a week apart, so one near now can be skipped or moved.
        weeks = (self.today - first.replace(hour=0, minute=0)).days // 7
        near = [begin + timedelta(weeks=weeks + k) for k in (-1, 0, 1, 2)]
        roll = self.rng.random()
        if roll < 0.2:
            return [replace(master, exdates=tuple(self.rng.sample(near, self.rng.randint(1, 2))))]
        if roll < 0.35:
            original = self.rng.choice(near[1:])
            moved = original + timedelta(minutes=self.rng.choice((30, 60, 60, 120, -60)))
            override = replace(
                master,
                start=moved,
                end=moved + length,
                rrule=None,
                recurrence_id=original,
                sequence=master.sequence + 1,
                status="CANCELLED" if self.rng.random() < 0.3 else "CONFIRMED",
                description="Moved this week. " + master.description,
            )
            return [master, override]
        return [master]

    def bumpable(self) -> Spec:
        """A single meeting a day to twelve ahead that the identity accepted: the modified feed moves or
        renames it, so each of them must be in the window, still to come and active."""
        day = self.today + timedelta(days=self.rng.randint(1, 12))
        return self.meeting(day, accepted=True, in_utc=False)


def make_feed(index: int, events: int, seed: int) -> Feed:
    rng = random.Random(f"{seed}:{index}")
    zone = rng.choice(tuple(VTIMEZONES))
    google = index % 2 == 0  # half like Google's feeds (X-WR-TIMEZONE, singles in UTC), half like Exchange's
    writer = _Writer(rng, index, zone)
    moved, renamed = writer.bumpable(), writer.bumpable()
    recurring: list[Spec] = []
    while len(recurring) < events // 3:
        recurring += writer.series()
    singles = [writer.single(google) for _ in range(events - 2 - len(recurring))]
    specs = [moved, renamed, *recurring, *singles]
    rng.shuffle(specs)
    hour = timedelta(hours=1)
    assert isinstance(moved.start, datetime) and isinstance(moved.end, datetime)
    moved_after = replace(moved, start=moved.start + hour, end=moved.end + hour, sequence=moved.sequence + 1)
    renamed_after = replace(renamed, title=f"{renamed.title} (new agenda)", sequence=renamed.sequence + 1)
    changed = [moved_after if s is moved else renamed_after if s is renamed else s for s in specs]
    versions = (_calendar(index, zone, google, specs), _calendar(index, zone, google, changed))
    return Feed(index, writer.me[1], versions, moved_after, renamed_after)


def rule_file(feeds: Sequence[Feed]) -> str:
    identities = "".join(f"  person{f.index:03}:\n    emails: [{f.email}]\n" for f in feeds)
    listed = "".join(
        f"  - {{name: cal{f.index:03}, identity: person{f.index:03}, url_env: BENCH_CAL_{f.index:03}, "
        "mode: live, poll_every: 5m}\n"
        for f in feeds
    )
    rules = (
        "rules:\n  - name: meetings\n    on: calendar.started\n    do:\n"
        '      - start: {description: "{{ title }}", tags: [meeting]}\n'
    )
    return f"identities:\n{identities}calendars:\n{listed}{rules}"


# -- the feed server (runs in its own process) -------------------------------------------------------------------


def serve_main(folder: Path) -> None:
    """Serve ``<feed>/<version>/<etag|plain>`` from the feeds in ``folder``: ``etag`` answers 304 to the ETag it
    gave, ``plain`` sends the body every time without validators (a feed generated on each request). ``/stats``
    counts the answers by kind and status."""
    bodies: dict[str, bytes] = {}
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a worker's connection pool uses it

        def log_message(self, format: str, *args: Any) -> None:  # the base class's names
            pass

        def do_GET(self) -> None:
            if self.path == "/stats":
                with lock:
                    self.answer(200, json.dumps(counts).encode(), {"Content-Type": "application/json"})
                return
            try:
                feed, version, mode = self.path.strip("/").split("/")
                name = f"{int(feed)}.{int(version)}"
                body = bodies.get(name) or bodies.setdefault(name, (folder / f"{name}.ics").read_bytes())
            except (ValueError, OSError):
                self.answer(404, b"", {})
                return
            etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
            status = 304 if mode == "etag" and self.headers.get("If-None-Match") == etag else 200
            with lock:
                counts[f"{mode} {status}"] += 1
            if status == 304:
                self.answer(304, None, {"ETag": etag})
                return
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            if mode == "etag":
                headers["ETag"] = etag
            self.answer(200, body, headers)

        def answer(self, status: int, body: bytes | None, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready = folder / "port.tmp"
    ready.write_text(str(server.server_port))
    ready.rename(folder / "port")  # whole or absent: the benchmark reads it as soon as it exists
    server.serve_forever()


def start_server(stack: contextlib.ExitStack, folder: Path) -> tuple[str, int]:
    """The feed server in its own process: its CPU must not land on this process's clock."""
    argv = [sys.executable, "-m", "bench.calendar", "_serve", str(folder)]
    child = spawn(stack, "feed server", argv, child_env())
    port_file = folder / "port"
    wait_for(
        lambda: port_file.exists() or not child.alive(), SERVER_START_SECONDS, "the feed server starting"
    )
    if not child.alive():
        raise RuntimeError("the feed server exited at start")
    return f"http://127.0.0.1:{port_file.read_text()}", child.process.pid


# -- measuring -----------------------------------------------------------------------------------------------------


def bare(text: str) -> int:
    """What any reader of the feed must do at least: parse it and expand it over the window."""
    calendar = icalendar.Calendar.from_ical(text)
    if "X-WR-TIMEZONE" in calendar:
        calendar = x_wr_timezone.to_standard(calendar)
    return len(recurring_ical_events.of(calendar).between(*WINDOW))


@dataclass
class Probe:
    """What the poller did during one poll, observed by thin wrappers around the functions it calls (one extra
    Python call each, inside the measured time: well under a microsecond against milliseconds)."""

    readings: list[Reading] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    cancelled: int = 0

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        # The names the poller calls, looked up in its module's namespace at each call: patching them there
        # observes the poller without changing it.
        read: Callable[..., Reading] = getattr(calendars, "read_feed")  # noqa: B009  # see above
        schedule: Callable[..., None] = getattr(calendars, "schedule_triggers")  # noqa: B009
        cancel: Callable[..., None] = getattr(calendars, "cancel_triggers")  # noqa: B009

        def read_feed(*args: Any, **kwargs: Any) -> Reading:
            reading = read(*args, **kwargs)
            self.readings.append(reading)
            return reading

        def schedule_triggers(client: redis.Redis, triggers: Iterable[Trigger]) -> None:
            listed = list(triggers)
            self.scheduled += [t.id for t in listed]
            schedule(client, listed)

        def cancel_triggers(client: redis.Redis, ids: Iterable[str]) -> None:
            listed = list(ids)
            self.cancelled += len(listed)
            cancel(client, listed)

        with contextlib.ExitStack() as stack:
            for name, wrapper in (
                ("read_feed", read_feed),
                ("schedule_triggers", schedule_triggers),
                ("cancel_triggers", cancel_triggers),
            ):
                stack.enter_context(mock.patch.object(calendars, name, wrapper))
            yield

    def reset(self) -> None:
        self.readings, self.scheduled, self.cancelled = [], [], 0


@dataclass(frozen=True, slots=True)
class Poll:
    cpu: float
    readings: list[Reading]
    scheduled: list[str]
    cancelled: int


@dataclass
class FeedRun:
    """One feed's measurements: CPU seconds of its bare parse and of each poll, and what each poll did.

    One bare parse serves all four ratios: the modified version differs from the original in two events (an
    hour and a few words), so parsing it costs the same, and a second bare parse per feed would add a quarter
    to the run's length for nothing."""

    feed: Feed
    bare: float = 0.0
    polls: dict[str, Poll] = field(default_factory=dict)

    def cpu(self, phase: str) -> float:
        return self.polls[phase].cpu


@dataclass
class Bench:
    client: redis.Redis
    queue: EventQueue
    config: Config
    http: httpx.Client
    base_url: str
    probe: Probe

    def poll(self, feed: Feed, version: int, mode: str) -> Poll:
        calendar = self.config.calendars[feed.index]
        environ = {calendar.url_env or "": f"{self.base_url}/{feed.index}/{version}/{mode}"}
        self.probe.reset()
        started = time.process_time()
        calendars.poll_calendar(
            self.client, self.queue, self.config, calendar, http=self.http, now=NOW, environ=environ
        )
        cpu = time.process_time() - started
        probe = self.probe
        return Poll(cpu, probe.readings, probe.scheduled, probe.cancelled)

    def run_feed(self, feed: Feed, bare_first: bool) -> FeedRun:
        """The feed's bare parse and its four polls, the bare parse first or last by turns (so that neither
        side always runs right after the other, on its warm caches)."""
        run = FeedRun(feed)
        if bare_first:
            run.bare = self.bare(feed)
        run.polls["new"] = self.poll(feed, 0, "etag")
        run.polls["unchanged 304"] = self.poll(feed, 0, "etag")
        run.polls["unchanged same body"] = self.poll(feed, 0, "plain")
        run.polls["modified"] = self.poll(feed, 1, "etag")
        if not bare_first:
            run.bare = self.bare(feed)
        return run

    @staticmethod
    def bare(feed: Feed) -> float:
        started = time.process_time()
        bare(feed.versions[0])
        return time.process_time() - started


# -- checking ----------------------------------------------------------------------------------------------------


def expected_known(reading: Reading) -> set[str]:
    """What a first poll keeps of a reading (live mode, the first poll at NOW): the active occurrences that have
    not ended yet. Each gets two triggers."""
    return {o.key for o in reading.occurrences if o.active and o.end > NOW}


def check_feed(client: redis.Redis, run: FeedRun, triggers: Counter[str]) -> list[str]:
    """Why this feed's polls did not do what they should, if they did not."""
    name = f"cal{run.feed.index:03}"
    problems = []
    parses = {phase: len(poll.readings) for phase, poll in run.polls.items()}
    if parses != {"new": 1, "unchanged 304": 0, "unchanged same body": 0, "modified": 1}:
        problems.append(f"{name}: feed parses per poll {parses} (one per changed poll, none otherwise)")
        return problems
    first, second = run.polls["new"].readings[0], run.polls["modified"].readings[0]
    if first.skipped or second.skipped:
        problems.append(f"{name}: the reader skipped {[s.reason for s in first.skipped + second.skipped]}")
    new_known = expected_known(first)
    if len(run.polls["new"].scheduled) != 2 * len(new_known) or not new_known:
        problems.append(
            f"{name}: the first poll scheduled {len(run.polls['new'].scheduled)} triggers for "
            f"{len(new_known)} meetings to come"
        )
    unchanged = [p for p in PHASES if p not in CHANGED and (run.polls[p].scheduled or run.polls[p].cancelled)]
    if unchanged:
        problems.append(
            f"{name}: the unchanged polls ({', '.join(unchanged)}) scheduled or cancelled triggers"
        )
    bumped = {s.uid for s in (run.feed.moved, run.feed.renamed)}
    moved = {tid.split(":")[2] for tid in run.polls["modified"].scheduled}
    if moved != bumped or len(run.polls["modified"].scheduled) != 4:
        problems.append(
            f"{name}: the modified poll scheduled {run.polls['modified'].scheduled}, not 2 for each of the 2 meetings it changed"
        )
    stored = json.loads(client.hget(keys.feed(name), "known") or b"{}")
    if set(stored) != expected_known(second):
        problems.append(
            f"{name}: {len(stored)} occurrences remembered, {len(expected_known(second))} expected"
        )
    if triggers[name] != 2 * len(expected_known(second)):
        problems.append(
            f"{name}: {triggers[name]} triggers in Redis, {2 * len(expected_known(second))} expected"
        )
    moved_start = run.feed.moved.start
    assert isinstance(moved_start, datetime)
    due = client.zscore(TRIGGERS, f"ics:{name}:{run.feed.moved.uid}:started")
    if due != moved_start.replace(tzinfo=ZoneInfo(_zone_of(run.feed))).timestamp():
        problems.append(f"{name}: the moved meeting's start trigger is due at {due}, not at its new time")
    return problems


def _zone_of(feed: Feed) -> str:
    return next(zone for zone in VTIMEZONES if f"TZID:{zone}\r\n" in feed.versions[0])


def triggers_by_calendar(client: redis.Redis) -> Counter[str]:
    counts: Counter[str] = Counter()
    for member, _ in client.zscan_iter(TRIGGERS, count=5000):
        counts[member.decode().split(":")[1]] += 1
    return counts


# -- the benchmark -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.calendar", description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds polled in the run (default 500)")
    parser.add_argument("--events", type=int, default=300, help="VEVENTs per feed, a third recurring (300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the feeds are split over (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="the feeds' random seed (default 1)")
    args = parser.parse_args(argv)
    if args.feeds < args.rounds or args.events < 30 or args.rounds < 1:
        parser.error("need at least one feed per round and 30 events per feed")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    started = time.monotonic()
    # One more feed than measured: polled first, untimed, to warm the imports, the connections and the caches.
    feeds = [make_feed(index, args.events, args.seed) for index in range(args.feeds + 1)]
    config = parse_config(rule_file(feeds), "bench.calendar")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-calendar-")))
        for feed in feeds:
            for version, text in enumerate(feed.versions):
                (folder / f"{feed.index}.{version}.ics").write_text(text, newline="")
        redis_url = stack.enter_context(bench_redis())
        base_url, server_pid = start_server(stack, folder)
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        http = stack.enter_context(httpx.Client())  # as a worker's: one connection pool for every feed
        queue = EventQueue(client, celery_app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=10_000)
        probe = Probe()
        stack.enter_context(probe.watching())
        bench = Bench(client, queue, config, http, base_url, probe)
        sizes = sorted(len(feed.versions[0].encode()) for feed in feeds)
        header(
            "calendar: worker CPU per feed poll / CPU of the bare icalendar + recurring-ical-events parse",
            [
                f"{args.feeds} feeds of {args.events} VEVENTs (a third recurring; seed {args.seed}), median "
                f"{statistics.median(sizes) / 1024:.0f} KiB; window {WINDOW[0]:%Y-%m-%d %H:%M} to "
                f"{WINDOW[1]:%Y-%m-%d %H:%M} UTC",
                "poll: togglbridge.calendars.poll_calendar, httpx.Client, live mode; served over HTTP by "
                "another process (ETag/304, or the same body without validators)",
                f"baseline: icalendar.from_ical + x_wr_timezone + recurring_ical_events.between; "
                f"{args.rounds} rounds, interleaved feed by feed; Redis: {redis_kind(redis_url)}",
            ],
        )
        bench.run_feed(feeds[0], bare_first=True)
        client.flushdb()
        meter = CpuMeter({}, {"redis": redis_pid(redis_url), "feed server": server_pid})
        return run_rounds(bench, feeds[1:], args.rounds, meter, started)


def _snapshot(meter: CpuMeter) -> dict[str, float]:
    try:
        return meter.snapshot()
    except ImportError:  # psutil is a dev dependency: without it, only this process's own figures
        return {}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def run_rounds(bench: Bench, feeds: list[Feed], rounds: int, meter: CpuMeter, started: float) -> int:
    size = -(-len(feeds) // rounds)
    runs: list[FeedRun] = []
    per_round: dict[str, list[float]] = {phase: [] for phase in PHASES}
    problems: list[str] = []
    others = _snapshot(meter)
    for number in range(rounds):
        chunk = feeds[number * size : (number + 1) * size]
        if not chunk:
            break
        round_runs = [bench.run_feed(feed, bare_first=i % 2 == 0) for i, feed in enumerate(chunk)]
        # Checked before the next round, and the database emptied: the triggers of 500 feeds would hold
        # ~100 MB for no purpose (Redis' cost per call does not depend on how much it holds).
        triggers = triggers_by_calendar(bench.client)
        for run in round_runs:
            problems += check_feed(bench.client, run, triggers)
        bench.client.flushdb()
        runs += round_runs
        for phase in PHASES:
            cpu = sum(run.cpu(phase) for run in round_runs)
            base = sum(run.bare for run in round_runs)
            per_round[phase].append(cpu / base)
        bare_ms = statistics.median(run.bare for run in round_runs)
        print(
            f"round {number + 1}  {len(chunk)} feeds  bare parse {_ms(bare_ms)}  "
            + "  ".join(f"{phase} {per_round[phase][-1]:.3f}" for phase in PHASES)
        )
    after = _snapshot(meter)
    others_used = {name: after[name] - others[name] for name in after}
    report(runs, per_round, others_used)
    return check(bench, runs, problems, time.monotonic() - started)


def report(runs: list[FeedRun], per_round: dict[str, list[float]], others: dict[str, float]) -> None:
    print()
    occurrences = statistics.median(len(run.polls["new"].readings[0].occurrences) for run in runs)
    triggers = statistics.median(len(run.polls["new"].scheduled) for run in runs)
    print(
        f"per feed (median of {len(runs)}): {occurrences:g} occurrences in the window, "
        f"{triggers:g} triggers scheduled by the first poll"
    )
    print(f"  {'bare parse + expansion':<26} {_ms(statistics.median(run.bare for run in runs))}")
    for phase in PHASES:
        cpu = statistics.median(run.polls[phase].cpu for run in runs)
        ratio = statistics.median(run.cpu(phase) / run.bare for run in runs)
        print(f"  poll: {phase:<20} {_ms(cpu)}   {ratio:.3f} of its bare parse")
    if others:
        polls = len(runs) * len(PHASES)
        print(
            "  other processes, per poll (all four kinds together; tick-sampled): "
            + ", ".join(f"{name} {used / polls * 1e3:.2f} ms" for name, used in others.items())
        )
    print()
    for phase in PHASES:
        aim = CHANGED_AIM if phase in CHANGED else UNCHANGED_AIM
        rounds = per_round[phase]
        headline = statistics.median(rounds)
        cpu = sum(run.cpu(phase) for run in runs)
        base = sum(run.bare for run in runs)
        label = f"{'changed' if phase in CHANGED else 'unchanged'} feed ({phase.removeprefix('unchanged ')})"
        print(
            f"{label + ' / bare parse':<44} {headline:.3f}  (median of rounds "
            f"{', '.join(f'{r:.3f}' for r in rounds)}; pooled {cpu / base:.3f})  "
            f"aim {aim:g} or less: {'met' if headline <= aim else 'NOT met'}"
        )


def check(bench: Bench, runs: list[FeedRun], problems: list[str], seconds: float) -> int:
    """Every changed poll parsed once and scheduled every trigger its reading called for, every unchanged one
    parsed nothing, and the server saw the answers each kind of poll should get."""
    answers = bench.http.get(f"{bench.base_url}/stats").json()
    feeds = len(runs) + 1  # the warm-up feed too
    wanted = {"etag 200": 2 * feeds, "etag 304": feeds, "plain 200": feeds}
    if answers != wanted:
        problems.append(f"the feed server answered {answers}, expected {wanted}")
    parses = sum(len(poll.readings) for run in runs for poll in run.polls.values())
    scheduled = sum(len(run.polls[phase].scheduled) for run in runs for phase in CHANGED)
    print(
        f"check  {len(runs)} feeds: {parses} parses for {2 * len(runs)} changed polls and none for "
        f"{2 * len(runs)} unchanged; {scheduled} triggers scheduled and stored as the readings call for; "
        f"server answers {dict(sorted(answers.items()))}; {seconds:.0f} s"
    )
    for problem in problems[:20]:
        print(f"PROBLEM {problem}")
    if len(problems) > 20:
        print(f"PROBLEM ... and {len(problems) - 20} more")
    return 1 if problems else 0


def _cli(argv: list[str]) -> Any:
    if argv[:1] == ["_serve"]:
        return serve_main(Path(argv[1]))
    return run_main(main, argv)


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
