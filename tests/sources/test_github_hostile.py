"""Hostile input to the GitHub source, through the receiver: a validly signed push of any shape is answered with
a documented status and never a 5xx; a 202 carries well-formed events that match the payload and that a worker
plans without raising; a refusal says why and queues nothing. (Every bug this found is fixed; each test that found
one stays.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given

from tests.hostile_support import PUSH, assert_documented, check_dispatch, post, queued_events, signed
from tests.sources.harness import DELETE, edited, fuzz, nested, odd_edits
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event

pytestmark = pytest.mark.integration


# Regression (found by the fuzzing): compare_digest on str raised TypeError for a header byte over 0x7f, so an
# unsigned request got a 500.
@pytest.mark.parametrize("value", [b"sha256=\xe9", b"sha256=" + b"\xff" * 64, b"sha256=abc\xa0"])
def test_a_non_ascii_github_signature_is_a_401_not_a_crash(
    receiver: TestClient, redis_client: redis.Redis, value: bytes
) -> None:
    body = json.dumps(PUSH).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-github-event", b"push"),
        (b"x-hub-signature-256", value),
    ]
    response = post(receiver, "/hooks/github", body, headers)
    assert response.status_code == 401
    assert untouched(redis_client)


def check_push_answer(
    response: Response, payload: Any, client: redis.Redis, queued_before: int, config: Config
) -> None:
    """202 only with well-formed events that match the payload, which a worker then plans without raising; a
    refusal says why and queues nothing."""
    assert_documented(response, {200, 202, 400})
    queued = queued_events(client)
    if response.status_code != 202:
        assert len(queued) == queued_before, "a refused or empty delivery queued events"
        return
    events = [Event.model_validate(e) for e in queued[queued_before:]]
    assert response.json()["accepted"] == len(events) >= 1
    push, commits = events[0], events[1:]
    assert push.kind == "git.push" and all(c.kind == "git.commit" for c in commits)
    assert push.data["repo"]["full_name"] == str(payload["repository"]["full_name"])
    listed = [
        c for c in payload.get("commits") or [] if isinstance(c, dict) and c.get("distinct") is not False
    ]
    assert [c.data["sha"] for c in commits] == [str(c["id"]) for c in listed]
    check_dispatch(client, config, events)


def _timed_by_pushed_at(value: Any) -> dict[str, Any]:
    """A push without commits, so its time is ``repository.pushed_at``."""
    return edited(PUSH, ("head_commit",), None) | {
        "commits": [],
        "repository": PUSH["repository"] | {"pushed_at": value},
    }


def status_of(receiver: TestClient, payload: dict[str, Any]) -> int:
    """The receiver's answer to ``payload`` signed as GitHub signs it."""
    body = json.dumps(payload).encode()
    return post(receiver, "/hooks/github", body, signed("github", body)).status_code


def _commits(count: int) -> dict[str, Any]:
    """A push listing ``count`` small commits (GitHub's documented maximum is 2048)."""
    commits = [{"id": f"{i:040x}", "timestamp": "2026-11-02T09:00:00Z", "message": "m"} for i in range(count)]
    return PUSH | {"commits": commits, "head_commit": None}


def test_a_signed_push_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_edits(PUSH))
    @example(payload=PUSH | {"pusher": "alice-gh"})  # (a 500 once: .get() on a str)
    @example(payload=edited(PUSH, ("head_commit", "timestamp"), 10**17))
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, "/hooks/github", body, signed("github", body))
        check_push_answer(response, payload, redis_client, before, example_config)

    check()


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        pytest.param(
            edited(PUSH, ("repository",), DELETE), 400, "missing field 'repository'", id="no repository"
        ),
        pytest.param(
            edited(PUSH, ("repository",), None), 400, "not a GitHub push payload", id="repository null"
        ),
        pytest.param(
            edited(PUSH, ("repository",), "acme/webapp"),
            400,
            "not a GitHub push payload",
            id="repository str",
        ),
        pytest.param(
            edited(PUSH, ("repository", "full_name"), DELETE), 400, "'full_name'", id="no full_name"
        ),
        pytest.param(edited(PUSH, ("ref",), DELETE), 400, "missing field 'ref'", id="no ref"),
        pytest.param(edited(PUSH, ("commits",), 5), 400, "not a GitHub push payload", id="commits a number"),
        pytest.param(
            edited(PUSH, ("commits", 1, "id"), DELETE), 400, "missing field 'id'", id="commit without id"
        ),
        pytest.param(
            edited(PUSH, ("commits", 1, "timestamp"), "yesterday"), 400, "yesterday", id="timestamp garbage"
        ),
        pytest.param(
            edited(PUSH, ("commits", 1, "timestamp"), None), 400, "not a timestamp", id="timestamp null"
        ),
        pytest.param(
            edited(PUSH, ("commits", 1, "added"), 7), 400, "not a GitHub push payload", id="added a number"
        ),
        pytest.param(
            edited(PUSH, ("head_commit",), None) | {"commits": []}, 202, "", id="no commits, pushed_at"
        ),
        pytest.param(
            edited(PUSH, ("commits",), [None, 1, "x", []]) | {"head_commit": None}, 202, "", id="junk commits"
        ),
        pytest.param(edited(PUSH, ("ref",), "réf/🙂/\u202e"), 202, "", id="unicode ref"),
        pytest.param(edited(PUSH, ("commits", 1, "message"), "x" * 100_000), 202, "", id="huge message"),
        pytest.param(_commits(2048), 202, "", id="2048 commits"),
    ],
)
def test_a_signed_push_with_a_known_odd_shape(
    receiver: TestClient,
    redis_client: redis.Redis,
    example_config: Config,
    payload: dict[str, Any],
    status: int,
    says: str,
) -> None:
    body = json.dumps(payload).encode()
    response = post(receiver, "/hooks/github", body, signed("github", body))
    check_push_answer(response, payload, redis_client, 0, example_config)
    assert response.status_code == status, response.text[:300]
    if says:
        assert says in response.json()["error"]


# Regression (found by the fuzzing): .get() on a non-object pusher, sender or author was a 500.
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(PUSH | {"pusher": "alice-gh"}, id="pusher str"),
        pytest.param(PUSH | {"sender": ["alice-gh"]}, id="sender list"),
        pytest.param(edited(PUSH, ("commits", 1, "author"), "Alice <alice@acme.io>"), id="author str"),
    ],
)
def test_a_signed_push_with_a_non_object_person_is_a_400(
    receiver: TestClient, payload: dict[str, Any]
) -> None:
    assert status_of(receiver, payload) == 400


# Regression (found by the fuzzing): OverflowError from the timestamp arithmetic was a 500.
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(edited(PUSH, ("head_commit", "timestamp"), 1e300), id="unix 1e300"),
        pytest.param(
            edited(PUSH, ("head_commit", "timestamp"), "0001-01-01T00:00:00+01:00"), id="before year 1 in UTC"
        ),
        pytest.param(
            edited(PUSH, ("commits", 1, "timestamp"), "9999-12-31T23:59:59-01:00"), id="after 9999 in UTC"
        ),
        pytest.param(
            _timed_by_pushed_at(-1e300),
            id="pushed_at",
        ),
    ],
)
def test_a_signed_push_with_an_out_of_range_timestamp_is_a_400(
    receiver: TestClient, payload: dict[str, Any]
) -> None:
    assert status_of(receiver, payload) == 400


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(edited(PUSH, ("head_commit", "timestamp"), 10**17), id="unix 1e17"),
        pytest.param(edited(PUSH, ("commits", 1, "timestamp"), -(2**63)), id="unix -2**63"),
        pytest.param(
            _timed_by_pushed_at(10**18),
            id="pushed_at 1e18",
        ),
    ],
)
def test_a_signed_push_with_a_unix_time_the_platform_cannot_hold_is_a_400(
    receiver: TestClient, payload: dict[str, Any]
) -> None:
    assert status_of(receiver, payload) == 400


# Regression (found by the fuzzing, fixed in events.py:_require_json): json.loads reads up to ~980 levels,
# pydantic serializes ~255, so data nested in between used to pass parsing and crash the enqueue with a 500.
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(PUSH | {"compare": json.loads(nested(300))}, id="compare"),
        pytest.param(PUSH | {"pusher": {"name": json.loads(nested(300))}}, id="pusher name"),
    ],
)
def test_a_signed_push_with_a_field_nested_300_levels_is_a_400(
    receiver: TestClient, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    response = post(receiver, "/hooks/github", body, signed("github", body))
    assert_documented(response, {400})
    assert "data" in response.json()["error"]
