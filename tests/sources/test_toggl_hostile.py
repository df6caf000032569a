"""Hostile input to the Toggl source, through the receiver: a validly signed delivery of any shape is answered with a
documented status and never a 5xx; a 202 carries one well-formed ``toggl.*`` event that a worker plans without
raising; the validation ping is answered with its code only when signed; a wrong signature, or none, is a 401 that
queues nothing and shows neither the secret nor the code."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given

from tests.hostile_support import (
    assert_documented,
    check_dispatch,
    hostile_bodies,
    post,
    queued_events,
    signed,
)
from tests.sources.harness import FIXTURES, SENDERS, edited, fuzz, odd_edits
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.sources.toggl import KINDS

pytestmark = pytest.mark.integration

ENDPOINT = "/hooks/toggl"
SECRET = SENDERS["toggl"].secret
CREATED: dict[str, Any] = json.loads((FIXTURES / "toggl" / "time_entry_created__running.json").read_text())
PROJECT: dict[str, Any] = json.loads((FIXTURES / "toggl" / "project_created__default.json").read_text())
PING: dict[str, Any] = json.loads((FIXTURES / "toggl" / "ping__validation.json").read_text())
CODE = PING["validation_code"]


def unsigned(signature: bytes | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json")]
    return headers + ([(b"x-webhook-signature-256", signature)] if signature is not None else [])


@pytest.mark.parametrize(
    "signature",
    [
        None,
        b"",
        b"sha256=",
        b"sha256=" + b"0" * 64,
        b"sha256=\xe9",
        b"sha256=" + b"\xff" * 64,
        b"toggl-test-webhook-secret",
        b"sha256=toggl-test-webhook-secret",
    ],
)
@pytest.mark.parametrize("payload", [CREATED, PING], ids=["change", "ping"])
def test_a_wrong_or_missing_signature_is_a_401_that_queues_and_echoes_nothing(
    receiver: TestClient, redis_client: redis.Redis, signature: bytes | None, payload: dict[str, Any]
) -> None:
    response = post(receiver, ENDPOINT, json.dumps(payload).encode(), unsigned(signature))
    assert_documented(response, {401})
    assert SECRET.encode() not in response.content
    assert CODE.encode() not in response.content  # an unsigned ping validates nothing
    assert untouched(redis_client)


def test_a_signed_validation_ping_is_answered_with_its_code_and_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    body = json.dumps(PING).encode()
    response = post(receiver, ENDPOINT, body, signed("toggl", body))
    assert response.status_code == 200
    assert response.json() == {"validation_code": CODE}
    assert queued_events(redis_client) == []


def test_a_signed_ping_of_a_validated_subscription_gets_the_usual_answer(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    payload = {k: v for k, v in PING.items() if k != "validation_code"}
    body = json.dumps(payload).encode()
    response = post(receiver, ENDPOINT, body, signed("toggl", body))
    assert response.status_code == 200 and response.json()["status"] == "no events"
    assert queued_events(redis_client) == []


def test_a_retried_change_plans_to_the_same_event(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    body = json.dumps(CREATED).encode()
    first = post(receiver, ENDPOINT, body, signed("toggl", body))
    again = post(receiver, ENDPOINT, body, signed("toggl", body))
    assert first.status_code == again.status_code == 202
    assert first.json()["events"] == again.json()["events"] == ["toggl:710000001"]
    check_dispatch(
        redis_client, example_config, [Event.model_validate(e) for e in queued_events(redis_client)]
    )


def check_answer(
    response: Response, payload: Any, client: redis.Redis, queued_before: int, config: Config
) -> None:
    """202 only with one well-formed toggl.* event for the change, which a worker then plans without raising; a
    refusal says why and queues nothing."""
    assert_documented(response, {200, 202, 400})
    queued = queued_events(client)
    if response.status_code != 202:
        assert len(queued) == queued_before, "a refused or empty delivery queued events"
        return
    (event,) = [Event.model_validate(e) for e in queued[queued_before:]]
    assert event.kind in KINDS and event.source == "toggl"
    assert event.id == f"toggl:{int(payload['event_id'])}"
    assert set(event.data) == set(KINDS[event.kind].children(""))
    check_dispatch(client, config, [event])


def test_a_signed_delivery_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_edits(CREATED) | odd_edits(PROJECT) | odd_edits(PING))
    @example(payload=edited(CREATED, ("payload", "duration"), 2**63))
    @example(payload=edited(CREATED, ("payload", "start"), "9999-12-31T23:59:59-23:59"))
    @example(payload=edited(CREATED, ("created_at",), "0001-01-01T00:00:00+01:00"))
    @example(payload=edited(CREATED, ("payload", "description"), "\ud800"))
    @example(payload=edited(PING, ("validation_code",), {"nested": [1]}))
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, ENDPOINT, body, signed("toggl", body))
        check_answer(response, payload, redis_client, before, example_config)

    check()


def test_a_signed_body_that_is_not_a_delivery_is_refused(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    # non-ASCII text kept as UTF-8, so that re-encoding it (latin-1, UTF-16...) really changes its bytes
    changed = CREATED | {"payload": CREATED["payload"] | {"description": "Café für Zoë"}}
    valid = json.dumps(changed, ensure_ascii=False).encode()

    @fuzz(100)
    @given(body=hostile_bodies(valid))
    def check(body: bytes) -> None:
        response = post(receiver, ENDPOINT, body, signed("toggl", body))
        assert_documented(response, {400, 413})
        assert queued_events(redis_client) == []

    check()
