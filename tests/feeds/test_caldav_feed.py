"""Polling CalDAV calendars through sync tokens, against a real Radicale (tests/feeds/radicale_server.py): the
first poll lists everything, later ones only what changed, a forgotten token falls back to a full listing, and
errors say which calendar failed without its address or password."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.lib import error

from tests.feeds.radicale_server import Radicale, free_port, run_radicale
from togglbridge.feeds import caldav_feed
from togglbridge.feeds.caldav_feed import CalDAVAccount, SyncResult, poll
from togglbridge.feeds.errors import FeedError

pytestmark = pytest.mark.integration

LABEL = "team"
SECRET_PATH = "cal-4b7f0c"  # in every calendar's address: the address must never show
FORGOTTEN_TOKEN = "http://radicale.org/ns/sync/" + "0" * 64  # well formed, never issued


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with run_radicale(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture(scope="module")
def owner(radicale: Radicale) -> Iterator[DAVClient]:
    """The calendar owner's own client, which makes calendars and events (the bridge only reads)."""
    with DAVClient(url=radicale.home, username=radicale.username, password=radicale.password) as client:
        yield client


@dataclass
class CalendarUnderTest:
    calendar: Calendar  # for writing, as the owner's calendar app would
    account: CalDAVAccount  # for polling, as the bridge would

    def put(self, uid: str, summary: str) -> None:
        self.calendar.save_event(ical(uid, summary))

    def delete(self, uid: str) -> None:
        self.calendar.event_by_uid(uid).delete()


@pytest.fixture
def calendar(radicale: Radicale, owner: DAVClient) -> CalendarUnderTest:
    """A new, empty calendar collection (MKCALENDAR) for each test."""
    made = owner.principal().make_calendar(name="Team", cal_id=f"{SECRET_PATH}-{uuid.uuid4().hex[:8]}")
    return CalendarUnderTest(made, CalDAVAccount(str(made.url), radicale.username, radicale.password))


def ical(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//togglbridge tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261130T090000Z\r\nDTSTART:20261130T093000Z\r\nDTEND:20261130T094500Z\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def summaries(result: SyncResult) -> list[str]:
    return sorted(line for o in result.changed for line in o.ical.splitlines() if line.startswith("SUMMARY:"))


def hrefs_by_uid(result: SyncResult) -> dict[str, str]:
    return {
        line.removeprefix("UID:").strip(): o.href
        for o in result.changed
        for line in o.ical.splitlines()
        if line.startswith("UID:")
    }


# Sync tokens: what saves transfer


def test_the_first_poll_lists_every_event_and_gives_a_token(calendar) -> None:
    calendar.put("standup@example.com", "Standup")
    calendar.put("retro@example.com", "Retro")

    result = poll(calendar.account, None, label=LABEL)

    assert result.full
    assert summaries(result) == ["SUMMARY:Retro", "SUMMARY:Standup"]
    assert result.deleted == ()
    assert result.token.startswith("http://radicale.org/ns/sync/")
    assert all(o.etag and o.href.startswith("/alice/") for o in result.changed)


def test_an_empty_calendar_gives_a_token_and_nothing_else(calendar) -> None:
    result = poll(calendar.account, None, label=LABEL)

    assert (result.full, result.changed, result.deleted) == (True, (), ())
    assert result.token


def test_a_poll_with_nothing_changed_transfers_nothing(calendar) -> None:
    calendar.put("standup@example.com", "Standup")
    first = poll(calendar.account, None, label=LABEL)

    again = poll(calendar.account, first.token, label=LABEL)

    assert again == SyncResult(token=first.token, full=False, changed=(), deleted=())


def test_a_later_poll_returns_only_the_added_modified_and_deleted(calendar) -> None:
    for uid, summary in [("a@example.com", "A"), ("b@example.com", "B"), ("c@example.com", "C")]:
        calendar.put(uid, summary)
    first = poll(calendar.account, None, label=LABEL)
    known = hrefs_by_uid(first)

    calendar.put("b@example.com", "B moved")  # the same UID: modified
    calendar.put("d@example.com", "D")
    calendar.delete("c@example.com")
    later = poll(calendar.account, first.token, label=LABEL)

    assert not later.full
    assert summaries(later) == ["SUMMARY:B moved", "SUMMARY:D"]
    assert hrefs_by_uid(later)["b@example.com"] == known["b@example.com"]  # the same href across polls
    assert later.deleted == (known["c@example.com"],)
    assert later.token != first.token
    assert poll(calendar.account, later.token, label=LABEL).changed == ()


def test_each_token_gives_the_changes_since_itself(calendar) -> None:
    calendar.put("a@example.com", "A")
    first = poll(calendar.account, None, label=LABEL)
    calendar.put("b@example.com", "B")
    second = poll(calendar.account, first.token, label=LABEL)
    calendar.put("c@example.com", "C")

    assert summaries(poll(calendar.account, second.token, label=LABEL)) == ["SUMMARY:C"]
    assert summaries(poll(calendar.account, first.token, label=LABEL)) == ["SUMMARY:B", "SUMMARY:C"]


def test_an_event_added_and_deleted_between_polls_is_at_most_a_deletion(calendar) -> None:
    first = poll(calendar.account, None, label=LABEL)
    calendar.put("brief@example.com", "Brief")
    calendar.delete("brief@example.com")

    later = poll(calendar.account, first.token, label=LABEL)

    assert later.changed == ()
    assert all("brief" in href for href in later.deleted)


def test_many_changes_are_fetched_in_batches(calendar, monkeypatch) -> None:
    monkeypatch.setattr(caldav_feed, "MULTIGET_BATCH", 2)
    for n in range(5):
        calendar.put(f"e{n}@example.com", f"E{n}")

    result = poll(calendar.account, None, label=LABEL)

    assert summaries(result) == [f"SUMMARY:E{n}" for n in range(5)]


# A token the server no longer knows


@pytest.mark.parametrize("token", [FORGOTTEN_TOKEN, "not-a-radicale-token"])
def test_a_token_the_server_refuses_falls_back_to_a_full_listing(calendar, token, caplog) -> None:
    calendar.put("a@example.com", "A")
    calendar.put("b@example.com", "B")
    caplog.set_level(logging.INFO, logger="togglbridge")

    result = poll(calendar.account, token, label=LABEL)

    assert result.full
    assert summaries(result) == ["SUMMARY:A", "SUMMARY:B"]
    assert result.deleted == ()
    assert "calendar 'team': the server no longer knows the sync token" in caplog.text
    # the token of the full listing works for the next poll
    calendar.put("c@example.com", "C")
    assert summaries(poll(calendar.account, result.token, label=LABEL)) == ["SUMMARY:C"]


def test_after_a_full_listing_what_is_not_listed_is_gone(calendar) -> None:
    """Deletions made while the token was lost are not reported one by one: the full listing shows them."""
    calendar.put("a@example.com", "A")
    calendar.put("b@example.com", "B")
    known = hrefs_by_uid(poll(calendar.account, None, label=LABEL))
    calendar.delete("a@example.com")

    result = poll(calendar.account, FORGOTTEN_TOKEN, label=LABEL)

    assert result.full
    assert set(known.values()) - {o.href for o in result.changed} == {known["a@example.com"]}


# Errors


def test_wrong_credentials_are_not_retryable(radicale, calendar) -> None:
    account = CalDAVAccount(calendar.account.url, radicale.username, "wrong-password")

    with pytest.raises(FeedError) as caught:
        poll(account, None, label=LABEL)

    assert (caught.value.retryable, caught.value.status) == (False, 401)
    assert str(caught.value) == "calendar 'team': access refused (HTTP 401): check its username and password"


def test_a_missing_calendar_is_not_retryable(radicale) -> None:
    account = CalDAVAccount(f"{radicale.home}{SECRET_PATH}-missing/", radicale.username, radicale.password)

    with pytest.raises(FeedError) as caught:
        poll(account, None, label=LABEL)

    assert (caught.value.retryable, caught.value.status) == (False, 404)
    assert str(caught.value) == "calendar 'team': not found (HTTP 404): check its address"


def test_a_refusal_that_does_not_name_the_token_is_not_taken_for_one(radicale, caplog) -> None:
    """caldav 1.6 raises every 403 alike: only the answer's DAV:valid-sync-token makes it a forgotten token."""
    account = CalDAVAccount(f"{radicale.base_url}/bob/{SECRET_PATH}/", radicale.username, radicale.password)
    caplog.set_level(logging.INFO, logger="togglbridge")

    with pytest.raises(FeedError) as caught:
        poll(account, FORGOTTEN_TOKEN, label=LABEL)

    assert (caught.value.retryable, caught.value.status) == (False, 403)
    assert "no longer knows the sync token" not in caplog.text


@dataclass
class Answer:
    """A requests response as ``_Answers`` reads it."""

    status_code: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("exc", "answer"),
    [
        # Xandikos: a bare 412, which caldav 1.6 raises as a ReportError quoting the answer
        (error.ReportError("412 Precondition Failed\n\n"), Answer(412)),
        # a 409 naming the precondition
        (
            error.ReportError("409 Conflict\n\n<D:error><D:valid-sync-token/></D:error>"),
            Answer(409, b"<D:error><D:valid-sync-token/></D:error>"),
        ),
    ],
)
def test_other_ways_of_refusing_a_token_are_recognised(exc, answer) -> None:
    answers = caldav_feed._Answers()
    answers.see(answer)

    assert caldav_feed._token_refused(exc, answers)


def test_an_ordinary_failure_is_not_a_refused_token() -> None:
    answers = caldav_feed._Answers()
    answers.see(Answer(500, b"oops"))

    assert not caldav_feed._token_refused(error.ReportError("500 Internal Server Error\n\noops"), answers)


def test_a_429_is_retryable_after_what_the_server_asks() -> None:
    answers = caldav_feed._Answers()
    answers.see(Answer(429, headers={"Retry-After": "120"}))

    failure = caldav_feed._feed_error(LABEL, error.ReportError("429 Too Many Requests\n\n"), answers)

    assert (failure.retryable, failure.status, failure.retry_after) == (True, 429, 120.0)
    assert str(failure) == "calendar 'team': the server asks to slow down (HTTP 429)"


def test_a_truncated_sync_report_is_not_retryable() -> None:
    """caldav 1.6 refuses a multistatus whose collection answers 507 (RFC 6578 truncation) as a whole."""
    answers = caldav_feed._Answers()
    answers.see(Answer(207))

    failure = caldav_feed._feed_error(
        LABEL, error.ResponseError("HTTP/1.1 507 Insufficient Storage"), answers
    )

    assert (failure.retryable, failure.status) == (False, 507)


def test_a_server_error_is_retryable() -> None:
    answers = caldav_feed._Answers()
    answers.see(Answer(503))

    failure = caldav_feed._feed_error(LABEL, error.PropfindError("503 Service Unavailable\n\n"), answers)

    assert (failure.retryable, failure.status) == (True, 503)
    assert str(failure) == "calendar 'team': the server failed a request (HTTP 503)"


def test_an_unreachable_server_is_retryable(radicale) -> None:
    account = CalDAVAccount(
        f"http://127.0.0.1:{free_port()}/alice/{SECRET_PATH}/", "alice", radicale.password
    )

    with pytest.raises(FeedError) as caught:
        poll(account, None, label=LABEL, timeout=5)

    assert caught.value.retryable
    assert str(caught.value).startswith("calendar 'team': could not be reached (")


# Secrets


def test_the_account_shows_neither_address_nor_password(radicale, calendar) -> None:
    assert SECRET_PATH not in repr(calendar.account)
    assert radicale.password not in repr(calendar.account)


def secrets_shown(error: FeedError, records: list[logging.LogRecord], password: str) -> list[str]:
    """What of the address or password shows in the error or the logs: the password nowhere at any level, the
    address in no error, no log of ours and no library's log at INFO or above (DEBUG is for a developer)."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    texts += [
        r.getMessage() for r in records if r.name.startswith("togglbridge") or r.levelno >= logging.INFO
    ]
    everywhere = [r.getMessage() for r in records]
    return [t for t in texts if SECRET_PATH in t] + [t for t in texts + everywhere if password in t]


@pytest.mark.parametrize("failure", ["password", "missing", "unreachable"])
def test_no_error_or_log_shows_the_address_or_the_password(radicale, calendar, caplog, failure) -> None:
    account = {
        "password": CalDAVAccount(calendar.account.url, radicale.username, f"{radicale.password}-not"),
        "missing": CalDAVAccount(f"{calendar.account.url}gone/", radicale.username, radicale.password),
        "unreachable": CalDAVAccount(
            f"http://127.0.0.1:{free_port()}/alice/{SECRET_PATH}/", "alice", radicale.password
        ),
    }[failure]
    caplog.set_level(logging.DEBUG)

    with pytest.raises(FeedError) as caught:
        poll(account, FORGOTTEN_TOKEN, label=LABEL, timeout=5)

    assert secrets_shown(caught.value, caplog.records, radicale.password) == []
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_successful_poll_logs_no_secret(radicale, calendar, caplog) -> None:
    calendar.put("a@example.com", "A")
    caplog.set_level(logging.DEBUG)

    first = poll(calendar.account, FORGOTTEN_TOKEN, label=LABEL)  # the fallback logs, at INFO
    poll(calendar.account, first.token, label=LABEL)

    assert [r.getMessage() for r in caplog.records if r.name.startswith("togglbridge")]
    shown = [
        r.getMessage()
        for r in caplog.records
        if (r.name.startswith("togglbridge") or r.levelno >= logging.INFO)
        and (SECRET_PATH in r.getMessage() or radicale.password in r.getMessage())
    ]
    assert shown == []
    assert not [r for r in caplog.records if radicale.password in r.getMessage()]
