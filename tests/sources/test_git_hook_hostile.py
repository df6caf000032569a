"""Hostile input to the git hook's source, through the receiver: a validly signed delivery of any shape is answered
with a documented status and never a 5xx; a 202 carries one well-formed git.commit event per commit listed, which
a worker plans without raising; a refusal says why and queues nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import given

from tests.hostile_support import assert_documented, check_dispatch, post, queued_events, signed
from tests.sources.harness import FIXTURES, fuzz, nested, odd_edits
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event

pytestmark = pytest.mark.integration

DELIVERY: dict[str, Any] = json.loads(
    (FIXTURES / "git" / "commits__spooled_merge_and_detached.json").read_text()
)


def check_answer(
    response: Any, payload: Any, client: redis.Redis, queued_before: int, config: Config
) -> None:
    assert_documented(response, {200, 202, 400})
    queued = queued_events(client)
    if response.status_code != 202:
        assert len(queued) == queued_before, "a refused delivery queued events"
        return
    events = [Event.model_validate(e) for e in queued[queued_before:]]
    assert all(e.kind == "git.commit" and e.source == "git" for e in events)
    assert [e.data["sha"] for e in events] == [c["sha"] for c in payload["commits"]]
    check_dispatch(client, config, events)


def test_a_signed_delivery_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_edits(DELIVERY))
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, "/hooks/git", body, signed("git", body))
        check_answer(response, payload, redis_client, before, example_config)

    check()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(json.dumps(DELIVERY).encode(), 202, id="the fixture"),
        pytest.param(b"{not json", 400, id="not json"),
        pytest.param(b"[]", 400, id="a list"),
        pytest.param(nested(100_000), 400, id="nested"),
        pytest.param(json.dumps({"commits": [None, 1, "x"]}).encode(), 400, id="junk commits"),
        pytest.param(
            json.dumps({"commits": [DELIVERY["commits"][0] | {"message": "x" * 100_000}]}).encode(),
            202,
            id="huge message",
        ),
        pytest.param(
            json.dumps(
                {"commits": [DELIVERY["commits"][0] | {"committed_at": "9999-12-31T23:59:59-01:00"}]}
            ).encode(),
            400,
            id="after 9999 in UTC",
        ),
    ],
)
def test_a_signed_delivery_with_a_known_odd_shape(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config, body: bytes, status: int
) -> None:
    response = post(receiver, "/hooks/git", body, signed("git", body))
    assert response.status_code == status, response.text[:300]
    if status == 202:
        check_answer(response, json.loads(body), redis_client, 0, example_config)
    else:
        assert_documented(response, {status})
        assert untouched(redis_client)


def test_a_wrong_signature_is_a_401_with_nothing_queued(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    body = json.dumps(DELIVERY).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-togglbridge-signature", b"sha256=" + b"0" * 64),
        (b"x-togglbridge-signature-extra", b"\xe9"),
    ]
    response = post(receiver, "/hooks/git", body, headers)
    assert response.status_code == 401
    assert untouched(redis_client)
