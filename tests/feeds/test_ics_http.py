"""Fetching ICS feeds over real HTTP (tests/feeds/ics_server.py on 127.0.0.1): validators and 304s, the body
hash, the size limit, the deadline, errors (retryable or not) and the address kept out of every message."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.feeds.ics_server import CALENDAR, LAST_MODIFIED, Feed, build_app
from togglbridge.feeds.errors import FeedError
from togglbridge.feeds.ics_http import (
    Changed,
    Unchanged,
    Validators,
    body_hash,
    fetch,
    http_address,
    retry_after_seconds,
)
from togglbridge.serving import serve_in_thread

pytestmark = pytest.mark.integration

SECRET = "private-token-4f1c9e"  # in every address: it must never show
LABEL = "work"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Feed, str]]:
    """One server per module (starting and stopping one per test costs more than the tests)."""
    feed = Feed()
    with serve_in_thread(build_app(feed), name="ics server") as url:
        yield feed, url


@pytest.fixture
def feed(served: tuple[Feed, str]) -> Feed:
    """The server's feed, as new for each test."""
    feed, _ = served
    fresh = Feed()
    feed.body, feed.etag, feed.requests, feed.streamed_bytes = fresh.body, fresh.etag, [], 0
    return feed


@pytest.fixture
def base_url(served: tuple[Feed, str], feed: Feed) -> str:
    return served[1]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def address(base_url: str, path: str) -> str:
    return f"{base_url}{path}?token={SECRET}"


def refused(client: httpx.Client, url: str, **options: float) -> FeedError:
    with pytest.raises(FeedError) as caught:
        fetch(client, url, Validators(), label=LABEL, **options)  # type: ignore[arg-type]
    return caught.value


# Validators: what saves parsing


def test_a_first_fetch_returns_the_body_and_the_validators_to_keep(client, base_url, feed) -> None:
    result = fetch(client, address(base_url, "/cal"), Validators(), label=LABEL)

    assert result == Changed(CALENDAR, Validators('"v1"', LAST_MODIFIED, body_hash(CALENDAR)))
    assert "if-none-match" not in feed.requests[0]
    assert "if-modified-since" not in feed.requests[0]


def test_the_validators_are_sent_back_and_a_304_is_unchanged(client, base_url, feed) -> None:
    first = fetch(client, address(base_url, "/cal"), Validators(), label=LABEL)

    again = fetch(client, address(base_url, "/cal"), first.validators, label=LABEL)

    assert again == Unchanged(first.validators)
    assert feed.requests[1]["if-none-match"] == '"v1"'
    assert feed.requests[1]["if-modified-since"] == LAST_MODIFIED


def test_if_modified_since_alone_gets_a_304(client, base_url) -> None:
    dated = Validators(last_modified=LAST_MODIFIED, body_hash=body_hash(CALENDAR))

    result = fetch(client, address(base_url, "/cal"), dated, label=LABEL)

    assert result == Unchanged(
        Validators('"v1"', LAST_MODIFIED, body_hash(CALENDAR))
    )  # and the 304's ETag kept


def test_a_changed_feed_is_fetched_with_its_new_validators(client, base_url, feed) -> None:
    first = fetch(client, address(base_url, "/cal"), Validators(), label=LABEL)
    feed.body, feed.etag = CALENDAR.replace(b"Standup", b"Retro"), '"v2"'

    result = fetch(client, address(base_url, "/cal"), first.validators, label=LABEL)

    assert isinstance(result, Changed)
    assert b"Retro" in result.body
    assert result.validators == Validators('"v2"', LAST_MODIFIED, body_hash(feed.body))


def test_without_validators_the_same_body_is_unchanged_by_its_hash(client, base_url, feed) -> None:
    first = fetch(client, address(base_url, "/plain"), Validators(), label=LABEL)
    assert first == Changed(CALENDAR, Validators(body_hash=body_hash(CALENDAR)))

    assert fetch(client, address(base_url, "/plain"), first.validators, label=LABEL) == Unchanged(
        first.validators
    )
    feed.body = CALENDAR.replace(b"Standup", b"Retro")
    assert isinstance(fetch(client, address(base_url, "/plain"), first.validators, label=LABEL), Changed)


def test_a_new_etag_on_the_same_body_is_unchanged_and_the_new_etag_kept(client, base_url) -> None:
    first = fetch(client, address(base_url, "/new-etag"), Validators(), label=LABEL)

    again = fetch(client, address(base_url, "/new-etag"), first.validators, label=LABEL)

    assert again == Unchanged(Validators('"2"', None, body_hash(CALENDAR)))


def test_a_calendar_served_as_text_plain_is_accepted(client, base_url) -> None:
    result = fetch(client, address(base_url, "/ics-as-text"), Validators(), label=LABEL)

    assert isinstance(result, Changed)
    assert result.body.endswith(CALENDAR)


def test_redirects_are_followed(client, base_url) -> None:
    result = fetch(client, address(base_url, "/moved"), Validators(), label=LABEL)

    assert isinstance(result, Changed)
    assert result.validators.etag == '"v1"'


def test_a_304_to_an_unconditional_request_is_a_retryable_error(client, base_url) -> None:
    error = refused(client, address(base_url, "/always-304"))

    assert error.retryable
    assert error.status == 304


# Size and time limits


def test_an_endless_body_is_refused_at_the_limit_without_reading_on(client, base_url, feed) -> None:
    error = refused(client, address(base_url, "/endless"), max_bytes=1024 * 1024, timeout=30)

    assert not error.retryable
    assert "larger than 1 MiB" in str(error)
    # the server got to send about the limit (plus what sat in buffers), not the 30 s of streaming it offered
    assert feed.streamed_bytes < 16 * 1024 * 1024


def test_a_declared_length_over_the_limit_is_refused_before_reading(client, base_url) -> None:
    error = refused(client, address(base_url, "/declared-too-large"), max_bytes=1024 * 1024)

    assert not error.retryable
    assert "larger than 1 MiB" in str(error)


def test_the_default_limit_is_ten_mebibytes(client, base_url) -> None:
    assert "larger than 10 MiB" in str(refused(client, address(base_url, "/endless")))


def test_a_trickling_body_times_out_as_a_whole(client, base_url) -> None:
    started = time.monotonic()

    error = refused(client, address(base_url, "/trickle"), timeout=1.0)

    assert error.retryable
    assert "within 1 s" in str(error)
    assert time.monotonic() - started < 3  # each read is quick; the deadline covers the whole body


def test_a_stalled_body_times_out(client, base_url) -> None:
    error = refused(client, address(base_url, "/stall"), timeout=0.5)

    assert error.retryable
    assert "within 0.5 s" in str(error)


# Errors: retryable or not


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [("/status/500", 500, None), ("/status/503", 503, 30.0), ("/status/429", 429, 120.0)],
)
def test_server_trouble_and_rate_limits_are_retryable(client, base_url, path, status, retry_after) -> None:
    error = refused(client, address(base_url, path))

    assert (error.retryable, error.status, error.retry_after) == (True, status, retry_after)


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/status/404", 404, "not found (HTTP 404)"),
        ("/status/410", 410, "not found (HTTP 410)"),
        ("/status/401", 401, "access refused (HTTP 401)"),
        ("/status/403", 403, "access refused (HTTP 403)"),
        ("/status/400", 400, "unexpected answer (HTTP 400)"),
    ],
)
def test_a_missing_or_refused_feed_is_not_retryable(client, base_url, path, status, reason) -> None:
    error = refused(client, address(base_url, path))

    assert (error.retryable, error.status) == (False, status)
    assert str(error).startswith(f"calendar 'work': {reason}")


@pytest.mark.parametrize("path", ["/login", "/short-html"])
def test_a_page_that_is_not_a_calendar_is_not_retryable(client, base_url, path) -> None:
    error = refused(client, address(base_url, path))

    assert not error.retryable
    assert "not a calendar (text/html, and the body does not start with BEGIN:VCALENDAR)" in str(error)


def test_an_unreachable_server_is_retryable(client) -> None:
    error = refused(client, f"http://127.0.0.1:9/cal?token={SECRET}")  # discard port: nothing listens

    assert error.retryable
    assert "could not be reached (ConnectError)" in str(error)


# Addresses


@pytest.mark.parametrize(
    ("given", "requested"),
    [
        ("webcal://calendar.example.com/feed.ics", "https://calendar.example.com/feed.ics"),
        ("WEBCAL://calendar.example.com/feed.ics?k=1", "https://calendar.example.com/feed.ics?k=1"),
        ("webcals://calendar.example.com/feed.ics", "https://calendar.example.com/feed.ics"),
        ("https://calendar.example.com/feed.ics", "https://calendar.example.com/feed.ics"),
        (" http://127.0.0.1:8080/feed.ics ", "http://127.0.0.1:8080/feed.ics"),
    ],
)
def test_webcal_is_https(given, requested) -> None:
    assert http_address(given, LABEL) == requested


def test_a_webcal_address_is_requested_over_https(client) -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, content=CALENDAR, headers={"Content-Type": "text/calendar"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as offline:
        fetch(offline, "webcal://calendar.example.com/feed.ics", Validators(), label=LABEL)

    assert [str(url) for url in seen] == ["https://calendar.example.com/feed.ics"]


@pytest.mark.parametrize(
    "url", [f"ftp://example.com/{SECRET}.ics", f"/{SECRET}.ics", f"{SECRET}", f"http://[{SECRET}/x"]
)
def test_an_address_that_is_not_http_is_refused_without_showing_it(client, url) -> None:
    error = refused(client, url)

    assert not error.retryable
    assert SECRET not in str(error)


def test_retry_after_as_a_date() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    assert retry_after_seconds("Mon, 30 Nov 2026 09:01:30 GMT", now) == 90.0
    assert retry_after_seconds("Mon, 30 Nov 2026 08:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


# The address is a secret


@pytest.mark.parametrize(
    ("path", "options"),
    [
        ("/status/404", {}),
        ("/status/401", {}),
        ("/status/500", {}),
        ("/status/429", {}),
        ("/login", {}),
        ("/endless", {"max_bytes": 64 * 1024}),
        ("/declared-too-large", {"max_bytes": 64 * 1024}),
        ("/trickle", {"timeout": 0.5}),
        ("/stall", {"timeout": 0.3}),
        ("/always-304", {}),
    ],
)
def test_no_error_shows_the_address(client, base_url, caplog, path, options) -> None:
    url = address(base_url, path)
    caplog.set_level(logging.DEBUG, logger="togglbridge")

    error = refused(client, url, **options)

    shown = [str(error), repr(error), error.reason, "".join(traceback.format_exception(error))]
    shown += [record.getMessage() for record in caplog.records]
    for text in shown:
        assert SECRET not in text
        assert base_url not in text
    # a library's exception, whose message may quote the address, is not chained
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_success_logs_name_the_calendar_not_the_address(client, base_url, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="togglbridge")

    first = fetch(client, address(base_url, "/cal"), Validators(), label=LABEL)
    fetch(client, address(base_url, "/cal"), first.validators, label=LABEL)
    fetch(client, address(base_url, "/plain"), Validators(body_hash=body_hash(CALENDAR)), label=LABEL)

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("togglbridge")]
    assert messages, "a fetch says what it found"
    assert all("'work'" in m and SECRET not in m and base_url not in m for m in messages)


def test_a_calendar_file_is_read_and_an_untouched_one_is_not(tmp_path) -> None:
    path = tmp_path / "calendar.ics"
    path.write_bytes(CALENDAR)
    url = path.as_uri()
    with httpx.Client() as unused:
        first = fetch(unused, url, Validators(), label=LABEL)
        assert isinstance(first, Changed) and first.body == CALENDAR
        again = fetch(unused, url, first.validators, label=LABEL)
        assert isinstance(again, Unchanged)
        path.write_bytes(CALENDAR.replace(b"END:VCALENDAR", b"X-NOTE:touched\r\nEND:VCALENDAR"))
        assert isinstance(fetch(unused, url, first.validators, label=LABEL), Changed)

        for body, reason in ((b"<html>login</html>", "not a calendar"), (None, "no such file")):
            if body is None:
                path.unlink()
            else:
                path.write_bytes(body)
            with pytest.raises(FeedError) as raised:
                fetch(unused, url, Validators(), label=LABEL)
            assert reason in raised.value.reason and not raised.value.retryable


def test_a_calendar_address_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path) -> None:
    import os

    fifo = tmp_path / "feed.ics"
    os.mkfifo(fifo)  # reading it would wait forever for a writer
    with httpx.Client() as unused:
        for url in (fifo.as_uri(), tmp_path.as_uri(), "file:///tmp/a%00b.ics"):
            with pytest.raises(FeedError) as raised:
                fetch(unused, url, Validators(), label=LABEL)
            assert not raised.value.retryable
