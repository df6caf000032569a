"""The dashboard's pages: events and each event's story, identities, dead letters (with retry), deliveries,
calendars, the system (queues, workers), and the rule tester. Every page reads Redis and the rule file; none talks
to Toggl, so looking costs no quota."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from togglbridge.api.access import Session
from togglbridge.api.ui.identities import identity_cards
from togglbridge.api.ui.rendering import page_session, render, signed_in_session
from togglbridge.api.ui.rule_file import RuleFileReader
from togglbridge.api.ui.story import story
from togglbridge.api.ui.tester import tester_result
from togglbridge.queues import QUEUE_TOGGL, TASK_DRAIN
from togglbridge.settings import Settings
from togglbridge.sources import REGISTRY, SOURCES
from togglbridge.status import collect_status
from togglbridge.store import deliveries, keys, text
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.journal import OUTCOMES, Journal, JournalFilter, with_iso_times

router = APIRouter()

EVENTS_PER_PAGE = 50
DELIVERIES_SHOWN = 200
TOGGL_WEB = "https://track.toggl.com/timer"

Signed = Annotated[Session, Depends(page_session)]
Changing = Annotated[Session, Depends(signed_in_session)]


def _redis(request: Request) -> redis.Redis:
    client: redis.Redis = request.app.state.sync_redis
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _rule_file(request: Request) -> RuleFileReader:
    reader: RuleFileReader = request.app.state.rule_file
    return reader


def _toggl_link(request: Request) -> tuple[str, str]:
    """Where an entry can be seen, and what that place is: Toggl's timer page (Toggl has no page per entry), or
    the simulator's state while it stands in for Toggl."""
    settings = _settings(request)
    if settings.toggl_mode == "simulator":
        found = _redis(request).get(keys.SIMULATOR_URL)
        simulator = text(found) if found else settings.simulator_url
        if simulator:
            return f"{simulator}/_sim/state", "the simulator's state"
    return TOGGL_WEB, "Toggl"


@router.get("/ui")
def home(_session: Signed) -> Response:
    return RedirectResponse("/ui/events", status_code=303)


@router.get("/ui/events")
def events_page(
    request: Request,
    session: Signed,
    identity: str = "",
    source: str = "",
    kind: str = "",
    outcome: str = "",
    cursor: str = "",
) -> Response:
    problem = None
    if outcome and outcome not in OUTCOMES:
        problem, outcome = f"unknown outcome {outcome!r}: showing every outcome", ""
    where = JournalFilter(
        outcome=outcome or None, identity=identity or None, source=source or None, kind=kind or None
    )
    settings = _settings(request)
    journal = Journal(_redis(request), cap=settings.journal_max_events)
    events, next_cursor = journal.query(where, limit=EVENTS_PER_PAGE, cursor=cursor or None)
    filters = {"identity": identity, "source": source, "kind": kind, "outcome": outcome}
    choices = {
        "identity": _rule_file(request).identity_names(),
        "source": sorted(SOURCES),
        "kind": sorted(REGISTRY.known_kinds),
        "outcome": list(OUTCOMES),
    }
    return render(
        request,
        "events.html",
        {
            "events": events,
            "filters": filters,
            "filtered": any(filters.values()),
            "choices": choices,
            "next_cursor": next_cursor,
            "cursor": cursor,
            "problem": problem,
            "any_event": bool(events) or bool(_redis(request).exists(keys.JOURNAL_INDEX)),
        },
        session=session,
    )


@router.get("/ui/events/{event_id:path}")
def event_page(request: Request, session: Signed, event_id: str) -> Response:
    journal = Journal(_redis(request), cap=_settings(request).journal_max_events)
    summary = journal.summary(event_id)
    if summary is None:
        return render(request, "missing.html", {"event_id": event_id}, status_code=404, session=session)
    told = story(with_iso_times(journal.event(event_id)))
    link, link_name = _toggl_link(request)
    return render(
        request,
        "event.html",
        {"summary": summary, "story": told, "toggl_link": link, "toggl_name": link_name},
        session=session,
    )


@router.get("/ui/identities")
def identities_page(request: Request, session: Signed) -> Response:
    reader = _rule_file(request)
    config, problem = reader.read()
    status = collect_status(_redis(request))
    cards = identity_cards(_redis(request), config, status, now=time.time())
    return render(
        request, "identities.html", {"cards": cards, "problem": problem, "path": reader.path}, session=session
    )


@router.get("/ui/dead-letters")
def dead_letters_page(request: Request, session: Signed, retried: int | None = None) -> Response:
    letters = DeadLetters(_redis(request)).all()
    for letter in letters:
        letter["at_iso"] = datetime.fromtimestamp(float(letter.get("at") or 0), UTC).isoformat()
    return render(request, "dead_letters.html", {"letters": letters, "retried": retried}, session=session)


@router.post("/ui/dead-letters/retry")
def retry_dead_letters(request: Request, _session: Changing, key: Annotated[str, Form()] = "") -> Response:
    """Put one dead letter (``key``) or all of them back in their identities' outboxes, and wake a worker for each
    identity. The letter leaves the list in the transaction that queues its action again: never lost between."""
    letters = DeadLetters(_redis(request))
    if key:
        identity = letters.retry_one(key)
        identities = [identity] if identity is not None else []
        count = 1 if identity is not None else 0
    else:
        count = letters.count()
        identities = letters.retry()
    for identity in identities:
        request.app.state.celery_app.send_task(TASK_DRAIN, args=[identity], queue=QUEUE_TOGGL)
    return RedirectResponse(f"/ui/dead-letters?retried={count}", status_code=303)


@router.get("/ui/deliveries")
async def deliveries_page(request: Request, session: Signed, status: str = "", source: str = "") -> Response:
    problem = None
    try:
        deliveries.parse_status_filter(status)
    except ValueError as exc:
        problem, status = str(exc), ""
    await request.app.state.deliveries.flush()  # what this process answered is in the list
    kept = await request.app.state.redis.lrange(deliveries.DELIVERIES_KEY, 0, -1)
    shown = deliveries.matching(kept, limit=DELIVERIES_SHOWN, status=status or None, source=source or None)
    return render(
        request,
        "deliveries.html",
        {
            "deliveries": shown,
            "filters": {"status": status, "source": source},
            "sources": sorted(SOURCES),
            "problem": problem,
        },
        session=session,
    )


@router.get("/ui/calendars")
def calendars_page(request: Request, session: Signed) -> Response:
    config, problem = _rule_file(request).read()
    health = collect_status(_redis(request))["calendars"]
    calendars: list[dict[str, Any]] = [
        {
            "name": c.name,
            "identity": c.identity,
            "kind": "CalDAV" if c.caldav_url_env else "ICS",
            "variable": c.address_env,
            "poll_every": c.poll_every,
            "health": health.get(c.name),
        }
        for c in (config.calendars if config else [])
    ]
    named = {c["name"] for c in calendars}
    calendars += [
        {"name": name, "identity": None, "kind": None, "variable": None, "poll_every": None, "health": seen}
        for name, seen in health.items()
        if name not in named
    ]
    return render(request, "calendars.html", {"calendars": calendars, "problem": problem}, session=session)


@router.get("/ui/system")
def system_page(request: Request, session: Signed) -> Response:
    status = collect_status(_redis(request), workers=request.app.state.recent_ping())
    return render(request, "system.html", {"status": status, "now": time.time()}, session=session)


@router.get("/ui/tester")
def tester_page(request: Request, session: Signed) -> Response:
    return render(
        request, "tester.html", {"form": {}, "result": None, "sources": sorted(SOURCES)}, session=session
    )


@router.post("/ui/tester")
def run_tester(
    request: Request,
    session: Changing,
    body: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    headers: Annotated[str, Form()] = "",
) -> Response:
    """Explain a pasted event, or a raw delivery of a source, against the rule file as it is now on disk: nothing
    is queued or sent to Toggl (a POST only because the body can be large)."""
    config, problem = _rule_file(request).read()
    result = tester_result(body, source, headers, config, problem)
    form = {"body": body, "source": source, "headers": headers}
    return render(
        request,
        "tester.html",
        {"form": form, "result": result, "sources": sorted(SOURCES)},
        status_code=200 if result.ok else 400,
        session=session,
    )
