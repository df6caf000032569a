"""The GitHub source: every fixture against its golden events, signatures, and what the goldens cannot show
(errors, ids across deliveries, the clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sources import harness
from togglbridge.events import Event
from togglbridge.sources import PayloadError, SignatureError
from togglbridge.sources.github import SOURCE

SENDER = harness.SENDERS["github"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PUSH = harness.FIXTURES / "github" / "push__main.json"


def headers(
    event: str, body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
) -> dict[str, str]:
    return SENDER.signed_headers(event, body, delivery)


@harness.each_fixture("github")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("github") == []


@harness.each_fixture("github")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


# -- signatures --------------------------------------------------------------------------------------------------


def test_githubs_published_test_vector_verifies() -> None:
    body = b"Hello, World!"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    SOURCE.verify({"X-Hub-Signature-256": signature}, body, SECRET, NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "does not match"),
        ("garbage", "does not match"),
    ],
)
def test_a_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    request_headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, b"Hello, World!", SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = PUSH.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers("push", body), body + b" ", SECRET, NOW)


# -- what the goldens cannot show -----------------------------------------------------------------------------


def test_the_same_commit_has_the_same_event_id_in_any_push() -> None:
    body = PUSH.read_bytes()
    once = SOURCE.parse(headers("push", body, "delivery-1"), body)
    again = SOURCE.parse(headers("push", body, "delivery-2"), body)
    assert [e.id for e in once[1:]] == [e.id for e in again[1:]]
    assert once[0].id != again[0].id  # the push itself is the delivery


def test_events_other_than_push_give_no_events() -> None:
    assert SOURCE.parse(headers("issues", b"{}"), b"{}") == []


def test_a_deleted_tag_without_pushed_at_takes_the_time_it_was_received() -> None:
    (push,) = harness.receive(harness.FIXTURES / "github" / "push__tag_deleted_without_pushed_at.json")
    assert push.occurred_at == harness.RECEIVED_AT


def test_without_a_receipt_time_the_parser_reads_the_clock() -> None:
    body = (harness.FIXTURES / "github" / "push__tag_deleted_without_pushed_at.json").read_bytes()
    before = datetime.now(UTC)
    (push,) = SOURCE.parse(headers("push", body), body)
    assert before <= push.occurred_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"ref": "refs/heads/main"}', "missing field 'repository'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"ref": "refs/heads/x", "repository": {"full_name": "a/b"}, "head_commit": 5}', "head_commit"),
    ],
)
def test_a_malformed_push_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers("push", body), body)


def test_a_missing_event_header_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="X-GitHub-Event"):
        SOURCE.parse({}, b"{}")


def test_delivery_id_is_read_case_insensitively() -> None:
    assert SOURCE.delivery_id({"x-github-delivery": "abc"}) == "abc"
