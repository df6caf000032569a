"""Polling a CalDAV calendar through its sync token (RFC 6578), so that a poll transfers only what changed.

An ICS feed is the whole calendar every time. A CalDAV collection keeps a sync token instead: the first poll lists
every event and gets a token; each later poll sends the last token and gets only the events added or changed
since (their iCalendar data, fetched in a few calendar-multiget REPORTs) and the hrefs of those deleted, with a
new token. An unchanged calendar costs one small REPORT.

A server forgets tokens (Radicale when its cache is cleaned, others after a while): it answers the old token with
DAV:valid-sync-token, and the poll falls back to a full listing. A full listing (``SyncResult.full``) is the whole
calendar, so the caller replaces what it knew with it, which is also how deletions made while the token was lost
are noticed.

The calendar's address, username and password come from the environment variables the rule file names; the
caller passes their values in a ``CalDAVAccount``. None of them appears in a message or a log line here (errors
name the calendar by the caller's ``label``), and the library's exceptions, whose messages quote the address, are
not chained onto ``FeedError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from caldav.collection import Calendar, SynchronizableCalendarObjectCollection
from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error
from caldav.lib.url import URL

from togglbridge.feeds.errors import FeedError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
MULTIGET_BATCH = 100  # hrefs per calendar-multiget REPORT: bounds one answer's size on a large first poll
# What a server answers a token it no longer knows: the RFC's precondition (with a 403, Radicale and most), or a
# bare 412 Precondition Failed (Xandikos).
_INVALID_TOKEN = dav.ValidSyncToken.tag


@dataclass(frozen=True, slots=True)
class CalDAVAccount:
    """Where a calendar collection is and who reads it; ``url`` is the collection's own address
    (``https://host/dav/calendars/alice/work/``). Kept out of ``repr``: they are secrets."""

    url: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CalendarObject:
    """One calendar object resource: usually one event with its recurrences and exceptions."""

    href: str  # its path on the server, unquoted: the same object has the same href in every poll
    etag: str | None
    ical: str  # its iCalendar text, for the parser


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a poll found. ``token``: pass it to the next poll.

    ``full``: ``changed`` is every object in the calendar (a first poll, or the server forgot the token), so
    anything known before and not listed is gone, and ``deleted`` is empty. Otherwise ``changed`` holds the
    objects added or modified since the token and ``deleted`` the hrefs of those removed.
    """

    token: str
    full: bool
    changed: tuple[CalendarObject, ...]
    deleted: tuple[str, ...]


def poll(
    account: CalDAVAccount, token: str | None, *, label: str, timeout: int = TIMEOUT_SECONDS
) -> SyncResult:
    """Poll the calendar of ``account``: everything when ``token`` is None, else what changed since it."""
    with _feed_errors(label), _client(account, timeout) as client:
        return sync(Calendar(client=client, url=account.url), token, label=label)


def sync(calendar: Calendar, token: str | None, *, label: str) -> SyncResult:
    """``poll`` on a calendar already opened (a caller polling several calendars of one account)."""
    with _feed_errors(label):
        full = token is None
        try:
            report = _sync_report(calendar, token)
        except error.DAVError as exc:
            if token is None or not _token_refused(exc):
                raise
            log.info("calendar %r: the server no longer knows the sync token; listing every event", label)
            full = True
            report = _sync_report(calendar, None)
        new_token = report.sync_token
        if not new_token:
            raise FeedError(label, "the server gave no sync token (RFC 6578)", retryable=False)
        if report.truncated:
            # The server stopped before the end: what came is right, the rest comes from the token next time,
            # so this is not the whole calendar and must not be taken for it.
            log.warning("calendar %r: the server sent part of the changes; the rest comes next poll", label)
            full = False
        deleted = {href(url) for url in report.deleted_urls}
        wanted = {href(obj.url): obj for obj in report if href(obj.url) not in deleted}
        loaded = _load(calendar, wanted)
        # An object listed as changed and gone before it could be fetched was deleted meanwhile.
        deleted |= set(wanted) - set(loaded)
        log.debug(
            "calendar %r: %d changed, %d deleted%s",
            label,
            len(loaded),
            len(deleted),
            " (full)" if full else "",
        )
        return SyncResult(
            token=str(new_token),
            full=full,
            changed=tuple(loaded[h] for h in sorted(loaded)),
            deleted=() if full else tuple(sorted(deleted)),
        )


def href(url: URL | str) -> str:
    """An object's path, unquoted: servers and caldav quote the same href differently (``%40`` or ``@``)."""
    return unquote(URL.objectify(url).canonical().path)


def _sync_report(calendar: Calendar, token: str | None) -> SynchronizableCalendarObjectCollection:
    """The sync-collection REPORT, hrefs and ETags only. No fallback: caldav's own would list the calendar on
    any failure (hiding a real error) and make up tokens; an expired token is handled by ``sync``."""
    report = calendar.get_objects_by_sync_token(token, load_objects=False, disable_fallback=True)
    assert isinstance(
        report, SynchronizableCalendarObjectCollection
    )  # a sync client's answer, not a coroutine
    return report


def _token_refused(exc: error.DAVError) -> bool:
    return _INVALID_TOKEN in exc.preconditions or exc.status == 412


def _load(calendar: Calendar, wanted: Mapping[str, Any]) -> dict[str, CalendarObject]:
    """The iCalendar data of the ``wanted`` objects (href -> object listed by the sync report), a batch at a time."""
    hrefs = sorted(wanted)
    loaded: dict[str, CalendarObject] = {}
    for start in range(0, len(hrefs), MULTIGET_BATCH):
        batch = [wanted[h].url for h in hrefs[start : start + MULTIGET_BATCH]]
        objects: Any = calendar.multiget(batch)
        assert isinstance(objects, list)  # a sync client's answer, not a coroutine
        for obj in objects:
            key = href(obj.url)
            if key not in wanted or not obj.data:
                continue
            etag = obj.props.get(dav.GetEtag.tag) or wanted[key].props.get(dav.GetEtag.tag)
            loaded[key] = CalendarObject(href=key, etag=etag, ical=str(obj.data))
    return loaded


@contextmanager
def _client(account: CalDAVAccount, timeout: int) -> Iterator[DAVClient]:
    client = DAVClient(
        url=account.url,
        username=account.username,
        password=account.password,
        timeout=timeout,
        enable_rfc6764=False,  # the address is the collection's: no discovery through DNS
        rate_limit_handle=False,  # a 429 is the poller's to back off from, not a sleep inside a worker
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _feed_errors(label: str) -> Iterator[None]:
    """caldav's and the HTTP library's exceptions as ``FeedError``; none of their text, which quotes URLs."""
    try:
        yield
    except FeedError:
        raise
    except error.RateLimitError as exc:
        reason = f"the server asks to slow down (HTTP {exc.status or 429})"
        raise FeedError(
            label, reason, retryable=True, status=exc.status, retry_after=exc.retry_after_seconds
        ) from None
    except error.AuthorizationError as exc:
        reason = f"access refused (HTTP {exc.status or 401}): check its username and password"
        raise FeedError(label, reason, retryable=False, status=exc.status) from None
    except error.NotFoundError as exc:
        reason = f"not found (HTTP {exc.status or 404}): check its address"
        raise FeedError(label, reason, retryable=False, status=exc.status) from None
    except error.DAVError as exc:
        status = exc.status
        retryable = status is None or status >= 500 or status in (408, 429)
        shown = f"HTTP {status}" if status else type(exc).__name__
        raise FeedError(
            label, f"the server failed a request ({shown})", retryable=retryable, status=status
        ) from None
    except OSError as exc:  # requests' and niquests' connection errors and timeouts are OSErrors
        raise FeedError(label, f"could not be reached ({type(exc).__name__})", retryable=True) from None
    except ValueError:
        raise FeedError(label, "its address is not a valid URL", retryable=False) from None
