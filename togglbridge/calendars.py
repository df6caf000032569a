"""Polling the rule file's calendars: fetch a feed, read its occurrences, compare them with what the last poll
saw, and hand the results to the same paths as everything else (events through the accept script, start and end
times as scheduled triggers that the beat's tick fires).

One poll per feed per interval, however many beats and workers run: the tick claims due feeds from
``polling.POLLS`` with a lease and a worker polls each. What a feed remembers between polls (its validators, the
occurrences it knows, its health) is one Redis hash per feed, written last, so a poll that dies half-way is simply
done again: every event and trigger id is stable, so nothing is applied twice.

Feeds are ICS addresses (``url_env``) or CalDAV calendars (``caldav_url_env``, read with sync tokens). A feed that fails keeps its known occurrences and is polled again after a
backoff (sooner when the server said when); its health shows in ``togglbridge status``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis

from togglbridge.config import Calendar, Config
from togglbridge.feeds.caldav_feed import CalDAVAccount
from togglbridge.feeds.caldav_feed import poll as caldav_poll
from togglbridge.feeds.errors import FeedError
from togglbridge.feeds.ics_http import Changed, Validators, fetch
from togglbridge.polling import Trigger, cancel_triggers, schedule_triggers
from togglbridge.sources.base import PayloadError
from togglbridge.sources.calendar import RETENTION, SOURCE, Occurrence, compare
from togglbridge.sources.ics import read_feed
from togglbridge.store import keys
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.feed_state import feed_fields

log = logging.getLogger(__name__)

AHEAD = timedelta(
    days=14
)  # how far ahead a feed is expanded: an endless series costs the same as a short one
BEHIND = RETENTION + timedelta(days=1)  # how far back: a late cancellation of a past meeting is still seen
MAX_BACKOFF = timedelta(hours=6)  # a feed that keeps failing (a server down for long) is still looked at
BROKEN_FEED_WAIT = timedelta(hours=1)  # a 404 or "not a calendar" waits for someone to fix the feed


def poll_calendar(
    client: redis.Redis,
    queue: EventQueue,
    config: Config,
    calendar: Calendar,
    *,
    http: httpx.Client,
    now: datetime,
    environ: Mapping[str, str] = os.environ,
) -> datetime:
    """Poll one calendar; returns when it is next due."""
    stored = feed_fields(client, calendar.name)
    every = timedelta(seconds=calendar.poll_every)
    missing = unset_variables(calendar, environ)
    if missing:  # costs nothing to look again: the variables may be set when the workers restart
        _failed(
            client,
            calendar,
            stored,
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
            retryable=False,
            now=now,
        )
        return now + every
    # A new mode means other triggers: read the feed afresh, forget the old mode's triggers, and start over.
    mode_changed = stored.get("mode", calendar.mode) != calendar.mode
    # What the calendar includes changed: read the feed afresh (an unchanged feed would not be), keeping what it
    # knows, so newly included meetings are scheduled and newly left out ones cancelled.
    include = ",".join(sorted(calendar.include))
    reread = mode_changed or stored.get("include", "") != include
    try:
        fetched = _fetch(calendar, {} if reread else stored, http=http, environ=environ)
    except FeedError as error:
        return _failed(client, calendar, stored, error.reason, retryable=error.retryable, now=now,
                       retry_after=error.retry_after)  # fmt: skip
    if fetched.body is None:
        client.hset(keys.feed(calendar.name), mapping={**_healthy(now), **fetched.memory})
        return now + every
    start, end = now - BEHIND, now + AHEAD
    identity = config.identities.get(calendar.identity)
    try:
        reading = read_feed(
            fetched.body or _EMPTY_CALENDAR,
            start=start,
            end=end,
            default_timezone=config.defaults.timezone,
            my_emails=identity.emails if identity else (),
            include={"cancelled", "declined", *calendar.include},  # cancellations are seen, then dropped
        )
    except PayloadError as error:
        return _failed(client, calendar, stored, str(error), retryable=False, now=now)
    for skipped in reading.skipped:
        log.warning("calendar %r: skipped %s: %s", calendar.name, skipped.uid or "the feed", skipped.reason)
    known = {} if mode_changed else _known(stored)
    if reread and not mode_changed:
        # What the new include leaves out was not cancelled: forget it quietly (its triggers go, its entries stay).
        declined_counts = "declined" in calendar.include
        still = {
            o.key for o in reading.occurrences if o.active or (declined_counts and o.status != "cancelled")
        }
        left_out = [o for key, o in known.items() if key not in still]
        cancel_triggers(client, [t for o in left_out for t in _all_trigger_ids(calendar, o)])
        known = {key: o for key, o in known.items() if key in still}
    changes = compare(
        known,
        reading.occurrences,
        calendar=calendar.name,
        mode=calendar.mode,
        now=now,
        window=(start, end),
        # On a feed's first poll, what already ended is history, not meetings missed while the bridge was down.
        missed_after=now if mode_changed or "last_success" not in stored else _time(stored["last_success"]),
        declined_counts="declined" in calendar.include,
    )
    if mode_changed:
        cancel_triggers(client, [t for o in _known(stored).values() for t in _all_trigger_ids(calendar, o)])
    for event in changes.events:
        queue.accept_sync(SOURCE, event.id, [event])
    schedule_triggers(client, [Trigger(s.id, s.due, s.event) for s in changes.schedule])
    cancel_triggers(client, changes.cancel)
    client.hset(
        keys.feed(calendar.name),
        mapping={
            **_healthy(now),
            **fetched.memory,
            "known": json.dumps({key: o.to_json() for key, o in changes.known.items()}),
            "mode": calendar.mode,
            "include": include,
        },
    )
    if changes.events or changes.schedule or changes.cancel:
        log.info(
            "calendar %r: %d event(s) now, %d trigger(s) scheduled, %d cancelled",
            calendar.name, len(changes.events), len(changes.schedule), len(changes.cancel),
        )  # fmt: skip
    return now + every


def unset_variables(calendar: Calendar, environ: Mapping[str, str]) -> list[str]:
    """The calendar's variables (address, CalDAV account) that are unset or empty."""
    return [variable for variable in calendar.variables if not environ.get(variable, "").strip()]


def read_calendar_text(
    calendar: Calendar, *, http: httpx.Client, environ: Mapping[str, str] = os.environ
) -> str:
    """The calendar's whole feed, read afresh and touching nothing the poller keeps (its validators, sync token,
    known occurrences): for a preview or a backfill. Raises ``FeedError``, or ``KeyError`` naming an unset
    variable."""
    missing = unset_variables(calendar, environ)
    if missing:
        raise KeyError(missing[0])
    fetched = _fetch(calendar, {}, http=http, environ=environ)
    return fetched.body or _EMPTY_CALENDAR


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _all_trigger_ids(calendar: Calendar, occurrence: Occurrence) -> list[str]:
    return [occurrence.event_id(calendar.name, phase) for phase in ("started", "ended")]


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A feed's iCalendar text (None: unchanged since the last poll) and what to remember for the next poll."""

    body: str | None
    memory: dict[Any, Any]  # redis-py's mapping type is invariant in its keys


_EMPTY_CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//togglbridge//empty//EN\r\nEND:VCALENDAR\r\n"


def _fetch(
    calendar: Calendar, stored: Mapping[str, str], *, http: httpx.Client, environ: Mapping[str, str]
) -> _Fetched:
    """Fetch the feed: an ICS address with its validators, or a CalDAV calendar with its sync token (the
    objects it listed so far kept in the feed's memory, since a token's answer holds only what changed)."""
    if calendar.url_env is not None:
        validators = Validators(
            etag=stored.get("etag") or None,
            last_modified=stored.get("last_modified") or None,
            body_hash=stored.get("body_hash") or None,
        )
        result = fetch(http, environ[calendar.url_env].strip(), validators, label=calendar.name)
        fresh = result.validators
        memory = {
            "etag": fresh.etag or "",
            "last_modified": fresh.last_modified or "",
            "body_hash": fresh.body_hash or "",
        }
        return _Fetched(
            result.body.decode("utf-8", "replace") if isinstance(result, Changed) else None, memory
        )
    account = CalDAVAccount(
        environ[calendar.caldav_url_env or ""].strip(),
        environ[calendar.username_env].strip() if calendar.username_env else None,
        environ[calendar.password_env] if calendar.password_env else None,
    )
    synced = caldav_poll(account, stored.get("sync_token") or None, label=calendar.name)
    objects: dict[str, str] = {} if synced.full else json.loads(stored.get("objects", "{}"))
    if not synced.full and not synced.changed and not synced.deleted and "objects" in stored:
        return _Fetched(None, {"sync_token": synced.token})
    for href in synced.deleted:
        objects.pop(href, None)
    objects.update({item.href: item.ical for item in synced.changed})
    memory = {"sync_token": synced.token, "objects": json.dumps(objects)}
    return _Fetched("".join(objects[href] for href in sorted(objects)), memory)


def _known(stored: Mapping[str, str]) -> dict[str, Occurrence]:
    raw: dict[str, Any] = json.loads(stored.get("known", "{}"))
    return {key: Occurrence.from_json(value) for key, value in raw.items()}


def _healthy(now: datetime) -> dict[Any, Any]:  # redis-py's mapping type is invariant in its keys
    return {"last_success": now.astimezone(UTC).isoformat(), "last_error": "", "failures": 0}


def _failed(
    client: redis.Redis,
    calendar: Calendar,
    stored: Mapping[str, str],
    reason: str,
    *,
    retryable: bool,
    now: datetime,
    retry_after: float | None = None,
) -> datetime:
    """Record the failure (the known occurrences stay) and say when to try again: backoff, longer when retrying
    cannot help until someone fixes the feed or the rule file."""
    failures = int(stored.get("failures", 0)) + 1
    client.hset(keys.feed(calendar.name), mapping={"last_error": reason, "failures": failures})
    log.warning("calendar %r: %s", calendar.name, reason)
    every = timedelta(seconds=calendar.poll_every)
    backoff = (
        min(every * 2 ** min(failures - 1, 10), MAX_BACKOFF) if retryable else max(every, BROKEN_FEED_WAIT)
    )
    if retry_after is not None:
        backoff = max(backoff, timedelta(seconds=retry_after))
    return now + backoff
