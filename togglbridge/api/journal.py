"""``GET /api/journal`` (events in brief, filtered, paged) and ``GET /api/journal/{event_id}`` (one in full).

A filter the bridge does not know, or a value it cannot use, is a 400 that says what it accepts: a typo must
never quietly return everything.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from togglbridge.settings import Settings
from togglbridge.store.journal import OUTCOMES, Journal, JournalFilter, parse_time, with_iso_times

router = APIRouter(tags=["journal"])

QUERY_PARAMETERS = ("limit", "cursor", "outcome", "identity", "source", "kind", "since", "records")


def _journal(request: Request) -> Journal:
    settings: Settings = request.app.state.settings
    return Journal(request.app.state.sync_redis, cap=settings.journal_max_events)


def _bad_request(message: str, **details: Any) -> JSONResponse:
    return JSONResponse({"error": message, **details}, status_code=400)


@router.get(
    "/api/journal", responses={400: {"description": "An unknown parameter, or a value it cannot use"}}
)
def list_events(
    request: Request,
    limit: int = Query(50, ge=1, le=1000, description="Events per page."),
    cursor: str | None = Query(None, description="The previous page's next_cursor."),
    outcome: str | None = Query(None, description=f"One of: {', '.join(OUTCOMES)}."),
    identity: str | None = Query(None, description="Only this identity's events."),
    source: str | None = Query(None, description="Only events from this source (github, generic, ...)."),
    kind: str | None = Query(None, description="Only events of this kind (git.commit, ...)."),
    since: str | None = Query(
        None, description="Only events received at or after this time (ISO 8601 or unix)."
    ),
    records: bool = Query(False, description="Also every record of each event (large)."),
) -> JSONResponse:
    """Events newest first, each in brief: id, kind, source, identity, outcome, times, number of actions, and one
    line saying what became of it. ``next_cursor`` is set when more events match."""
    unknown = sorted(set(request.query_params) - set(QUERY_PARAMETERS))
    if unknown:
        return _bad_request(
            f"unknown parameter(s): {', '.join(unknown)}", allowed_parameters=list(QUERY_PARAMETERS)
        )
    if outcome is not None and outcome not in OUTCOMES:
        return _bad_request(
            f"unknown outcome {outcome!r}; expected one of: {', '.join(OUTCOMES)}",
            allowed_values=list(OUTCOMES),
        )
    try:
        since_time = parse_time(since) if since is not None else None
    except ValueError:
        return _bad_request(f"since must be an ISO 8601 time or unix seconds, not {since!r}")
    where = JournalFilter(outcome=outcome, identity=identity, source=source, kind=kind, since=since_time)
    journal = _journal(request)
    events, next_cursor = journal.query(where, limit=limit, cursor=cursor)
    if records:
        events = [{**e, "records": with_iso_times(journal.event(e["event_id"]))} for e in events]
    return JSONResponse({"events": events, "next_cursor": next_cursor})


@router.get("/api/journal/{event_id:path}", responses={404: {"description": "The journal does not hold it"}})
def one_event(request: Request, event_id: str) -> JSONResponse:
    """One event in full: its summary and every record (each rule's verdict, each Toggl request)."""
    journal = _journal(request)
    summary = journal.summary(event_id)
    if summary is None:
        return JSONResponse(
            {
                "error": f"the journal holds no event {event_id!r}: it never arrived, or it was trimmed "
                "(the journal keeps the newest TOGGLBRIDGE_JOURNAL_MAX_EVENTS events)"
            },
            status_code=404,
        )
    return JSONResponse({**summary, "records": with_iso_times(journal.event(event_id))})
