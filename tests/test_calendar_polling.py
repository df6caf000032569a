"""A calendar feed served over real HTTP, polled by a real beat and worker: a meeting in progress starts its
timer, its end stops it, the feed is fetched once per interval, and an unchanged feed costs no parsing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.pipeline_support import running_pipeline, wait_for
from togglbridge.serving import serve_in_thread
from togglbridge.status import collect_status

pytestmark = pytest.mark.integration

RULES = """
identities:
  ops:
    emails: [ops@acme.io]
calendars:
  - {name: work, identity: ops, url_env: WORK_CALENDAR_FOR_TEST, mode: live, poll_every: 1m}
rules:
  - name: meetings
    on: calendar.started
    do:
      - start: {description: "{{ title }}", tags: [meeting]}
  - name: meeting over
    on: [calendar.ended, calendar.cancelled]
    do:
      - stop: {only: started_by_this_event}
"""


def ics(start: datetime, end: datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:standup@acme.io\r\n"
        f"DTSTAMP:{start.strftime(stamp)}\r\nDTSTART:{start.strftime(stamp)}\r\nDTEND:{end.strftime(stamp)}\r\n"
        "SUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Feed:
    """An ICS address that counts its fetches and answers 304 to a fetch that names its ETag."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.fetches = 0

    async def serve(self, request: Request) -> Response:
        self.fetches += 1
        etag = f'"{abs(hash(self.body))}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(self.body, media_type="text/calendar", headers={"ETag": etag})


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    now = datetime.now(UTC).replace(microsecond=0)
    served = Feed(ics(now - timedelta(minutes=5), now + timedelta(seconds=20)))
    app = Starlette(routes=[Route("/secret-token/work.ics", served.serve)])
    with serve_in_thread(app, name="feed") as url:
        yield served, f"{url}/secret-token/work.ics"


def test_a_meeting_in_progress_starts_its_timer_and_its_end_stops_it(
    redis_url: str, tmp_path: Path, feed: tuple[Feed, str]
) -> None:
    served, address = feed
    env = {"WORK_CALENDAR_FOR_TEST": address, "TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"}
    with running_pipeline(redis_url, RULES, tmp_path, ["ops"], extra_env=env) as pipeline:

        def entry() -> dict[str, object] | None:
            found = [e for e in pipeline.sim.state.entries.values() if e.description == "Standup"]
            return {"stop": found[0].stop} if found else None

        wait_for(entry, timeout=60, what="the meeting's timer")
        wait_for(lambda: (e := entry()) is not None and e["stop"] is not None, timeout=60, what="its end")
        (standup,) = [e for e in pipeline.sim.state.entries.values() if e.description == "Standup"]
        assert standup.stop is not None
        assert served.fetches == 1  # once per interval (1 minute), however often the beat ticks
        calendars = collect_status(pipeline.redis)["calendars"]
        assert calendars["work"]["last_error"] is None and calendars["work"]["known"] == 1
        assert "secret-token" not in str(calendars)


def test_an_unset_address_is_reported_and_looked_at_again_next_interval(redis_client, tmp_path: Path) -> None:
    import httpx

    from togglbridge.calendars import poll_calendar
    from togglbridge.config import parse_config
    from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
    from togglbridge.store import keys
    from togglbridge.store.enqueue import EventQueue
    from togglbridge.store.feed_state import feed_health
    from workers.app import app

    config = parse_config(RULES)
    (calendar,) = config.calendars
    now = datetime.now(UTC)
    queue = EventQueue(redis_client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=100)
    with httpx.Client() as http:
        due = poll_calendar(redis_client, queue, config, calendar, http=http, now=now, environ={})
    assert due == now + timedelta(minutes=1)
    redis_client.zadd(keys.POLLS, {"work": due.timestamp()})
    health = feed_health(redis_client, "work")
    assert health.last_error == "WORK_CALENDAR_FOR_TEST is not set" and health.failures == 1
    assert redis_client.llen(QUEUE_INGEST) == 0


CALDAV_RULES = """
identities:
  ops:
    emails: [ops@acme.io]
calendars:
  - name: team
    identity: ops
    caldav_url_env: TEAM_CALDAV_URL
    username_env: TEAM_CALDAV_USER
    password_env: TEAM_CALDAV_PASSWORD
rules:
  - name: meetings
    on: calendar.started
    do:
      - start: {description: "{{ title }}"}
"""


def vevent(uid: str, title: str, start: datetime, end: datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{start.strftime(stamp)}\r\nDTSTART:{start.strftime(stamp)}\r\n"
        f"DTEND:{end.strftime(stamp)}\r\nSUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_caldav_calendar_is_polled_with_its_sync_token_and_a_deleted_meeting_is_cancelled(
    redis_client, tmp_path: Path
) -> None:
    import httpx
    from caldav import DAVClient

    from tests.feeds.radicale_server import run_radicale
    from togglbridge.calendars import poll_calendar
    from togglbridge.config import parse_config
    from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
    from togglbridge.store.enqueue import EventQueue
    from togglbridge.store.feed_state import feed_fields
    from togglbridge.store.journal import Journal
    from togglbridge.store.schedule import Schedule
    from workers.app import app

    config = parse_config(CALDAV_RULES)
    (calendar,) = config.calendars
    queue = EventQueue(redis_client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=100)
    now = datetime.now(UTC).replace(microsecond=0)
    (tmp_path / "radicale").mkdir()
    with (
        run_radicale(tmp_path / "radicale") as radicale,
        DAVClient(url=radicale.home, username=radicale.username, password=radicale.password) as owner,
    ):
        team = owner.principal().make_calendar(name="Team", cal_id="team-secret-path")
        team.save_event(
            vevent("now@acme.io", "Standup", now - timedelta(minutes=5), now + timedelta(hours=1))
        )
        team.save_event(vevent("later@acme.io", "Review", now + timedelta(hours=3), now + timedelta(hours=4)))
        environ = {
            "TEAM_CALDAV_URL": str(team.url),
            "TEAM_CALDAV_USER": radicale.username,
            "TEAM_CALDAV_PASSWORD": radicale.password,
        }
        with httpx.Client() as http:
            poll_calendar(redis_client, queue, config, calendar, http=http, now=now, environ=environ)
            triggers = Schedule(redis_client, "togglbridge:triggers")
            assert triggers.pending() == 4  # started and ended, for both meetings
            token = feed_fields(redis_client, "team")["sync_token"]

            team.event_by_uid("later@acme.io").delete()
            later = now + timedelta(minutes=1)
            poll_calendar(redis_client, queue, config, calendar, http=http, now=later, environ=environ)
            assert feed_fields(redis_client, "team")["sync_token"] != token
            assert triggers.pending() == 2  # the deleted meeting's start and end will not fire
            cancelled = Journal(redis_client, cap=100).event("ics:team:later@acme.io:cancelled")
            assert cancelled and cancelled[0]["kind"] == "calendar.cancelled"

            queued = redis_client.llen(QUEUE_INGEST)
            poll_calendar(redis_client, queue, config, calendar, http=http, now=later, environ=environ)
            assert redis_client.llen(QUEUE_INGEST) == queued  # nothing changed, nothing new
    assert "team-secret-path" not in str(feed_fields(redis_client, "team").get("last_error"))


def test_leaving_out_more_is_no_cancellation(redis_client, tmp_path: Path) -> None:
    """A calendar that stops including all-day events forgets them quietly: no calendar.cancelled (which would
    delete their entries), and their triggers go."""
    import httpx

    from togglbridge.calendars import poll_calendar
    from togglbridge.config import parse_config
    from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
    from togglbridge.store.enqueue import EventQueue
    from togglbridge.store.schedule import Schedule
    from workers.app import app

    now = datetime.now(UTC).replace(microsecond=0)
    day = now.strftime("%Y%m%d")
    feed = tmp_path / "work.ics"
    feed.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:offsite@acme.io\r\n"
        f"DTSTAMP:{day}T000000Z\r\nDTSTART;VALUE=DATE:{day}\r\nSUMMARY:Offsite\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    environ = {"WORK_CALENDAR_FOR_TEST": feed.as_uri()}
    queue = EventQueue(redis_client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=100)
    triggers = Schedule(redis_client, "togglbridge:triggers")
    for include, expected in (("[all_day]", 2), ("[]", 0)):
        config = parse_config(RULES.replace("poll_every: 1m}", f"poll_every: 1m, include: {include}}}"))
        (calendar,) = config.calendars
        with httpx.Client() as http:
            poll_calendar(redis_client, queue, config, calendar, http=http, now=now, environ=environ)
        assert triggers.pending() == expected
    assert redis_client.llen(QUEUE_INGEST) == 0  # nothing was cancelled
