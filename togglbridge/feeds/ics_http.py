"""Fetching an ICS feed over HTTP(S) or webcal (or a ``file://`` a sync tool keeps on disk), so that an unchanged
feed costs as little as possible.

Calendar servers answer the same feed again and again between changes, and parsing a feed (recurrences and all)
is the expensive part of a poll. So a fetch remembers ``Validators``: the last ``ETag`` and ``Last-Modified``,
sent back as ``If-None-Match`` and ``If-Modified-Since`` so that a server that honours them answers 304 with no
body; and a hash of the last body, because many feeds (generated on each request) send neither validator or
change their ETag every time. Either way the result is ``Unchanged`` and the caller skips parsing.

The body is streamed under a size limit and an overall deadline: a runaway feed is an error, not a blown-up
worker, and a server trickling bytes cannot hold a poller longer than ``timeout``.

A feed's address is a secret (it usually carries a private token): it appears in no message and no log line
here, which name the calendar by the caller's ``label`` instead.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx

from togglbridge.feeds.errors import FeedError

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
CALENDAR_CONTENT_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
CALENDAR_START = b"BEGIN:VCALENDAR"
# Enough of a body to look past a byte-order mark and blank lines before deciding it is not a calendar.
SNIFF_BYTES = 1024
SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last fetch of a feed saw; all None for a feed never fetched."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 of the body, hex

    @property
    def conditional(self) -> bool:
        """Whether a fetch with these can be answered 304."""
        return self.etag is not None or self.last_modified is not None


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The feed is as last fetched (a 304, or the same body again): nothing to parse. Keep ``validators``, which
    may carry a fresh ETag or date."""

    validators: Validators


@dataclass(frozen=True, slots=True)
class Changed:
    """The feed's new body, to parse, and the validators to keep for the next fetch."""

    body: bytes
    validators: Validators


FetchResult: TypeAlias = Unchanged | Changed


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def http_address(url: str, label: str) -> str:
    """The address to request: ``webcal://`` and ``webcals://`` are HTTPS (the scheme only tells a desktop that
    the link is a calendar subscription)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise FeedError(label, "its address is not a valid URL", retryable=False) from None
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise FeedError(
            label, "its address should start with https://, http://, webcal:// or file://", retryable=False
        )
    return urlunsplit(parts._replace(scheme=scheme))


def fetch(
    client: httpx.Client,
    url: str,
    validators: Validators,
    *,
    label: str,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT_SECONDS,
) -> FetchResult:
    """Fetch the feed at ``url`` unless it is unchanged since ``validators``; raise ``FeedError`` naming ``label``.

    ``timeout`` bounds each wait for the server, and the body must be complete within ``timeout`` of the start:
    a server trickling bytes cannot hold the poller much longer.
    """
    if url.strip().lower().startswith("file:"):
        return _read_file(url, validators, label=label, max_bytes=max_bytes)
    address = http_address(url, label)
    deadline = time.monotonic() + timeout
    try:
        with client.stream(
            "GET",
            address,
            headers=_conditional_headers(validators),
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
        ) as response:
            if response.status_code == 304:
                return _not_modified(response, validators, label)
            _check_status(response, label)
            body = _read_calendar(response, label, max_bytes, deadline)
            fresh = _validators_of(response, body)
    except httpx.TimeoutException:
        raise FeedError(label, f"no complete answer within {timeout:g} s", retryable=True) from None
    except httpx.TooManyRedirects:
        raise FeedError(label, "its address redirects too many times", retryable=False) from None
    except httpx.TransportError as exc:  # refused, reset, DNS, a broken HTTP answer: the network's business
        raise FeedError(label, f"could not be reached ({type(exc).__name__})", retryable=True) from None
    except httpx.InvalidURL:
        raise FeedError(label, "its address is not a valid URL", retryable=False) from None
    if fresh.body_hash == validators.body_hash:
        log.debug("calendar %r: same body again", label)
        return Unchanged(fresh)
    log.debug("calendar %r: changed (%d bytes)", label, len(body))
    return Changed(body, fresh)


def _conditional_headers(validators: Validators) -> dict[str, str]:
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if validators.etag is not None:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified is not None:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _not_modified(response: httpx.Response, validators: Validators, label: str) -> Unchanged:
    if not validators.conditional:
        # A 304 to a plain GET leaves nothing to compare with: a broken server or cache, which may recover.
        raise FeedError(
            label, "answered 304 Not Modified to an unconditional request", retryable=True, status=304
        )
    log.debug("calendar %r: not modified", label)
    # A 304 may carry a new ETag or date for the same content (RFC 9110 section 15.4.5).
    return Unchanged(
        replace(
            validators,
            etag=response.headers.get("ETag", validators.etag),
            last_modified=response.headers.get("Last-Modified", validators.last_modified),
        )
    )


def _check_status(response: httpx.Response, label: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (401, 403):
        reason = f"access refused (HTTP {status}): its address may have been revoked or changed"
        raise FeedError(label, reason, retryable=False, status=status)
    if status in (404, 410):
        raise FeedError(label, f"not found (HTTP {status})", retryable=False, status=status)
    if status in (408, 429) or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        reason = f"the server is unavailable for now (HTTP {status})"
        raise FeedError(label, reason, retryable=True, status=status, retry_after=retry_after)
    raise FeedError(label, f"unexpected answer (HTTP {status})", retryable=False, status=status)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from ``now``; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _read_calendar(response: httpx.Response, label: str, max_bytes: int, deadline: float) -> bytes:
    """The body, refused as soon as it is too large, too slow, or plainly not a calendar."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FeedError(label, _too_large(max_bytes), retryable=False, status=response.status_code)
    calendar_type = _media_type(response) in CALENDAR_CONTENT_TYPES
    chunks: list[bytes] = []
    size = 0
    sniffed = calendar_type
    for chunk in response.iter_bytes():  # decoded: the limit holds for a compressed body too
        size += len(chunk)
        if size > max_bytes:
            raise FeedError(label, _too_large(max_bytes), retryable=False, status=response.status_code)
        chunks.append(chunk)
        if not sniffed and size >= SNIFF_BYTES:
            _check_calendar(b"".join(chunks), response, label)
            sniffed = True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the body took too long")
    body = b"".join(chunks)
    if not sniffed:
        _check_calendar(body, response, label)
    return body


def _check_calendar(start: bytes, response: httpx.Response, label: str) -> None:
    """A feed served with a calendar content type is taken as one; otherwise its body must look like one (many
    servers send ICS as text/plain or application/octet-stream, and a login page as text/html)."""
    if start.removeprefix(b"\xef\xbb\xbf").lstrip().upper().startswith(CALENDAR_START):
        return
    shown = _media_type(response) or "no content type"
    reason = f"the answer is not a calendar ({shown}, and the body does not start with BEGIN:VCALENDAR)"
    raise FeedError(label, reason, retryable=False, status=response.status_code)


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower()


def _too_large(max_bytes: int) -> str:
    return f"the feed is larger than {max_bytes / (1024 * 1024):g} MiB"


def _validators_of(response: httpx.Response, body: bytes) -> Validators:
    # A validator the server no longer sends is dropped: sending a stale one back could pin an old 304.
    return Validators(
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        body_hash=body_hash(body),
    )


def _read_file(url: str, validators: Validators, *, label: str, max_bytes: int) -> FetchResult:
    """A calendar file on this machine (an export, or what a sync tool keeps current): its modification time and
    size stand for an ETag, so an untouched file is not even read."""
    try:
        path = Path(url2pathname(urlsplit(url.strip()).path))
        stat = path.stat()
        if not path.is_file():  # a FIFO or a device would hang or never end
            raise FeedError(label, "is not a regular file", retryable=False)
        stamp = f"file:{stat.st_mtime_ns}:{stat.st_size}"
        if stamp == validators.etag:
            return Unchanged(validators)
        with path.open("rb") as file:
            body = file.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FeedError(label, _too_large(max_bytes), retryable=False)
    except FileNotFoundError:
        raise FeedError(label, "not found (no such file)", retryable=False) from None
    except (OSError, ValueError) as exc:  # a directory, no permission, a loop of links, a NUL in the address
        raise FeedError(label, f"cannot be read ({type(exc).__name__})", retryable=False) from None
    if not body.removeprefix(b"\xef\xbb\xbf").lstrip().upper().startswith(CALENDAR_START):
        raise FeedError(
            label, "the file is not a calendar (it does not start with BEGIN:VCALENDAR)", retryable=False
        )
    fresh = Validators(etag=stamp, body_hash=body_hash(body))
    if fresh.body_hash == validators.body_hash:
        return Unchanged(fresh)
    return Changed(body, fresh)
