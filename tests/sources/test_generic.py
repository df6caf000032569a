"""The generic source (Standard Webhooks): every fixture against its golden events, signatures, and the body's
rules."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sources import harness
from togglbridge.sources import PayloadError, SignatureError
from togglbridge.sources.generic import SOURCE

SENDER = harness.SENDERS["generic"]
SECRET = SENDER.secret
NOW = datetime.now(UTC)  # unused by the check, which reads its own clock
BUILD = (harness.FIXTURES / "generic" / "build_finished__default.json").read_bytes()


def signed_headers(body: bytes, at: float | None = None) -> dict[str, str]:
    signed_at = datetime.fromtimestamp(at, UTC) if at is not None else None
    return SENDER.signed_headers("build_finished", body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", signed_at)


@harness.each_fixture("generic")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("generic") == []


def test_the_event_id_is_the_webhook_id() -> None:
    (event,) = SOURCE.parse(signed_headers(BUILD), BUILD)
    assert event.id == "generic:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


# -- signatures --------------------------------------------------------------------------------------------------


def test_a_signature_among_several_verifies() -> None:
    request_headers = signed_headers(BUILD)
    request_headers["webhook-signature"] = "v1,Zm9v " + request_headers["webhook-signature"]
    SOURCE.verify(request_headers, BUILD, SECRET, NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}, "No matching signature"),
        ({"webhook-signature": "nonsense"}, "malformed"),
        ({"webhook-signature": "v1,@@@"}, "webhook signature"),
        ({"webhook-timestamp": "yesterday"}, "webhook signature"),
        ({"webhook-id": "another-id"}, "No matching signature"),
    ],
)
def test_a_bad_signature_is_refused(change: dict[str, str], reason: str) -> None:
    request_headers = signed_headers(BUILD) | change
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, BUILD, SECRET, NOW)


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_five_minutes_is_refused(offset: int) -> None:
    body = b'{"kind": "a.b", "actor": "x", "occurred_at": "2026-11-02T10:00:00Z"}'
    request_headers = signed_headers(body, at=time.time() + offset)
    with pytest.raises(SignatureError, match="too"):
        SOURCE.verify(request_headers, body, SECRET, NOW)


def test_missing_headers_are_named() -> None:
    with pytest.raises(SignatureError, match="missing webhook-timestamp, webhook-signature headers"):
        SOURCE.verify({"webhook-id": "1"}, b"{}", SECRET, NOW)


def test_a_body_that_is_not_utf8_is_refused_not_crashed() -> None:
    body = b"\xff\xfe\x00"
    request_headers = {
        "webhook-id": "1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AA==",
    }
    with pytest.raises(SignatureError):
        SOURCE.verify(request_headers, body, SECRET, NOW)


# -- the body -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"actor": "a", "occurred_at": "2026-11-02T10:00:00Z"}', "missing field: kind"),
        (b'{"kind": "a.b"}', "missing fields: actor, occurred_at"),
        (b'{"kind": "Bad Kind", "actor": "a", "occurred_at": "2026-11-02T10:00:00Z"}', "dotted"),
        (b'{"kind": "a.b", "actor": "a", "occurred_at": "2026-11-02T10:00:00Z", "data": [1]}', "JSON object"),
        (b'{"kind": "a.b", "actor": "a", "occurred_at": "not a time"}', "occurred_at"),
        (
            b'{"kind": "a.b", "actor": "a", "occurred_at": "2026-11-02T10:00:00Z", "extra": 1}',
            "unknown field: extra",
        ),
        (b"nope", "not valid JSON"),
    ],
)
def test_a_malformed_body_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse({"webhook-id": "1"}, body)
