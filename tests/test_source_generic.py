"""The generic source: Standard Webhooks signatures and the event body, every fixture replayed."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from togglbridge.sources import PayloadError, SignatureError
from togglbridge.sources.generic import SOURCE

FIXTURES = Path(__file__).parent / "fixtures" / "generic"
SECRET = "whsec_" + base64.b64encode(b"generic-test-secret-0123456789").decode()
NOW = datetime.now(UTC)


def signed_headers(
    body: bytes, msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", at: float | None = None
) -> dict[str, str]:
    timestamp = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    signature = Webhook(SECRET).sign(msg_id, timestamp, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_fixture_verifies_and_parses(path: Path) -> None:
    body = path.read_bytes()
    request_headers = signed_headers(body)
    SOURCE.verify(request_headers, body, SECRET, NOW)
    (event,) = SOURCE.parse(request_headers, body)
    payload = json.loads(body)
    assert event.id == f"generic:{request_headers['webhook-id']}"
    assert event.kind == payload["kind"] and event.actor == payload["actor"]
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.data == payload.get("data", {})
    assert event.subject == payload.get("subject")


def test_a_signature_among_several_verifies() -> None:
    body = (FIXTURES / "build_finished__default.json").read_bytes()
    request_headers = signed_headers(body)
    request_headers["webhook-signature"] = "v1,Zm9v " + request_headers["webhook-signature"]
    SOURCE.verify(request_headers, body, SECRET, NOW)


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
    body = (FIXTURES / "build_finished__default.json").read_bytes()
    request_headers = signed_headers(body) | change
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, body, SECRET, NOW)


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
