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

Written against caldav 1.6 (``caldav>=1.6,<2``: later releases bring urllib3-future, which replaces urllib3 under
requests). Its exceptions carry no status of their own and a 403 arrives without its body, so the answers are
watched as they come (a requests response hook on the client's session) for their status, ``Retry-After`` and
whether they name DAV:valid-sync-token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from caldav.calendarobjectresource import CalendarObjectResource
from caldav.collection import Calendar, SynchronizableCalendarObjectCollection
from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error
from caldav.lib.url import URL

from togglbridge.feeds.errors import FeedError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
MULTIGET_BATCH = 100  # hrefs per calendar-multiget REPORT: bounds one answer's size on a large first poll
# What a server answers a token it no longer knows: the RFC's precondition (with a 403, Radicale and most, or a
# 409), or a bare 412 Precondition Failed (Xandikos).
_INVALID_TOKEN = b"valid-sync-token"
_TOKEN_REFUSALS = (403, 409, 412)
# caldav 1.6 puts "STATUS REASON\n\nBODY" (or "HTTP/1.1 STATUS REASON" for a status inside a multistatus) where
# its exceptions keep a URL.
_STATUS_IN_MESSAGE = re.compile(r"(?:HTTP/[\d.]+\s+)?([1-5]\d\d)\b")


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
    answers = _Answers()
    with _feed_errors(label, answers), answers.watching(calendar):
        full = token is None
        try:
            report = _sync_report(calendar, token, label)
        except error.DAVError as exc:
            if token is None or not _token_refused(exc, answers):
                raise
            log.info("calendar %r: the server no longer knows the sync token; listing every event", label)
            full = True
            report = _sync_report(calendar, None, label)
        new_token = report.sync_token
        if not new_token:
            raise FeedError(label, "the server gave no sync token (RFC 6578)", retryable=False)
        # A member removed since the token comes back with a 404 status and no properties; one added or changed
        # with the ETag asked for.
        listed = {href(obj.url): obj for obj in report}
        deleted = {key for key, obj in listed.items() if not _etag(obj)}
        wanted = {key: obj for key, obj in listed.items() if key not in deleted}
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


def _sync_report(calendar: Calendar, token: str | None, label: str) -> SynchronizableCalendarObjectCollection:
    """The sync-collection REPORT, hrefs and ETags only. caldav 1.6 has no fallback of its own: an expired token
    is handled by ``sync``."""
    try:
        return calendar.objects_by_sync_token(token, load_objects=False)
    except (IndexError, AttributeError):
        # caldav 1.6 looks the token up in the answer's XML and fails so when there is none (or no XML at all)
        raise FeedError(label, "the server gave no sync token (RFC 6578)", retryable=False) from None


def _etag(obj: Any) -> str | None:
    value = obj.props.get(dav.GetEtag.tag)
    return str(value) if value else None


def _load(calendar: Calendar, wanted: Mapping[str, Any]) -> dict[str, CalendarObject]:
    """The iCalendar data of the ``wanted`` objects (href -> object listed by the sync report), a batch at a time."""
    hrefs = sorted(wanted)
    loaded: dict[str, CalendarObject] = {}
    for start in range(0, len(hrefs), MULTIGET_BATCH):
        batch = [URL.objectify(wanted[h].url) for h in hrefs[start : start + MULTIGET_BATCH]]
        objects: Iterable[CalendarObjectResource] = calendar.multiget(batch)
        for obj in objects:
            key = href(obj.url) if obj.url is not None else None
            if key is None or key not in wanted or not obj.data:
                continue  # an href the server no longer has: its 404 comes without data
            # calendar-multiget asks for the data only: the ETag is the one the sync report listed
            loaded[key] = CalendarObject(href=key, etag=_etag(wanted[key]), ical=str(obj.data))
    return loaded


class _Response(Protocol):
    """What is read of a requests ``Response`` (requests ships no type hints)."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass
class _Answers:
    """The last error answer of the server, as it came: caldav 1.6 raises a 401 or 403 as an
    ``AuthorizationError`` that keeps only the reason phrase (and the URL), and none of its errors has a status
    or ``Retry-After`` of its own."""

    status: int | None = None  # of the last answer, when it was an error
    retry_after: float | None = None
    names_invalid_token: bool = False

    def see(self, response: _Response, *args: object, **kwargs: object) -> None:
        status = response.status_code
        self.status = status if status >= 400 else None
        self.retry_after = _seconds(response.headers.get("Retry-After")) if status in (429, 503) else None
        self.names_invalid_token = status in _TOKEN_REFUSALS and _INVALID_TOKEN in response.content

    @contextmanager
    def watching(self, calendar: Calendar) -> Iterator[None]:
        """``see`` every answer to ``calendar``'s client in the block (a requests response hook)."""
        session = getattr(calendar.client, "session", None)
        if session is None:  # not a requests-based client: errors are read from their messages alone
            yield
            return
        hooks: list[Any] = session.hooks.setdefault("response", [])
        hooks.append(self.see)
        try:
            yield
        finally:
            hooks.remove(self.see)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the poller's own backoff will do


def _status(exc: error.DAVError, answers: _Answers | None) -> int | None:
    """The HTTP status behind one of caldav 1.6's errors: from its message when it has one there, else the last
    error answer seen."""
    found = _STATUS_IN_MESSAGE.match(str(exc.url or ""))
    if found:
        return int(found.group(1))
    return answers.status if answers else None


def _token_refused(exc: error.DAVError, answers: _Answers) -> bool:
    return (
        answers.names_invalid_token
        or _INVALID_TOKEN.decode() in str(exc.url or "")
        or _status(exc, answers) == 412
    )


@contextmanager
def _client(account: CalDAVAccount, timeout: int) -> Iterator[DAVClient]:
    # caldav 1.6 does no RFC 6764 discovery and no sleeping on a 429: the address is the collection's, and a 429
    # is the poller's to back off from.
    client = DAVClient(
        url=account.url,
        username=account.username,
        password=account.password,
        timeout=timeout,
    )
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _feed_errors(label: str, answers: _Answers | None = None) -> Iterator[None]:
    """caldav's and the HTTP library's exceptions as ``FeedError``; none of their text, which quotes URLs."""
    try:
        yield
    except FeedError:
        raise
    except error.DAVError as exc:
        raise _feed_error(label, exc, answers) from None
    except OSError as exc:  # requests' connection errors and timeouts are OSErrors
        raise FeedError(label, f"could not be reached ({type(exc).__name__})", retryable=True) from None
    except ValueError:
        raise FeedError(label, "its address is not a valid URL", retryable=False) from None


def _feed_error(label: str, exc: error.DAVError, answers: _Answers | None) -> FeedError:
    status = _status(exc, answers)
    if status == 429:
        retry_after = answers.retry_after if answers else None
        reason = "the server asks to slow down (HTTP 429)"
        return FeedError(label, reason, retryable=True, status=status, retry_after=retry_after)
    if isinstance(exc, error.AuthorizationError) or status in (401, 403):
        reason = f"access refused (HTTP {status or 401}): check its username and password"
        return FeedError(label, reason, retryable=False, status=status or 401)
    if isinstance(exc, error.NotFoundError) or status == 404:
        return FeedError(label, "not found (HTTP 404): check its address", retryable=False, status=404)
    if isinstance(exc, error.ResponseError) and status == 507:
        # RFC 6578 truncation: caldav 1.6 refuses the whole answer, so the changes cannot be taken in parts.
        reason = "the server sent only part of the changes (HTTP 507), which this client cannot resume"
        return FeedError(label, reason, retryable=False, status=status)
    retryable = status is None or status >= 500 or status in (408, 429)
    shown = f"HTTP {status}" if status else type(exc).__name__
    return FeedError(label, f"the server failed a request ({shown})", retryable=retryable, status=status)
