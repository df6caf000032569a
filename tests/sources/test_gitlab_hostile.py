"""Hostile input to the GitLab source, through the receiver: a push with the right token, of any shape, is answered
with a documented status and never a 5xx; a 202 carries well-formed events that match the payload and that a
worker plans without raising; a wrong token, or none, is a 401 that queues nothing."""

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
from tests.sources.harness import DELETE, FIXTURES, edited, fuzz, nested, odd_edits
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event

pytestmark = pytest.mark.integration

PUSH: dict[str, Any] = json.loads((FIXTURES / "gitlab" / "push__committer_without_username.json").read_text())
ENDPOINT = "/hooks/gitlab"


def gitlab_headers(token: bytes | None, event: bytes = b"Push Hook") -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json"), (b"x-gitlab-event", event)]
    return headers + ([(b"x-gitlab-token", token)] if token is not None else [])


@pytest.mark.parametrize(
    "token",
    [None, b"", b"guess", b"gitlab-test-token ", b"gitlab-test-tok\xe9n", b"\xff" * 64, b"GITLAB-TEST-TOKEN"],
)
def test_a_wrong_or_missing_token_is_a_401_that_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis, token: bytes | None
) -> None:
    body = json.dumps(PUSH).encode()
    response = post(receiver, ENDPOINT, body, gitlab_headers(token))
    assert_documented(response, {401})
    assert b"gitlab-test-token" not in response.content
    assert untouched(redis_client)


def test_a_hook_other_than_a_push_is_answered_with_no_events(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    body = json.dumps(PUSH | {"object_kind": "merge_request"}).encode()
    response = post(receiver, ENDPOINT, body, gitlab_headers(b"gitlab-test-token", b"Merge Request Hook"))
    assert response.status_code == 200 and response.json()["status"] == "no events"
    assert queued_events(redis_client) == []


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
    assert push.data["repo"]["full_name"] == payload["project"]["path_with_namespace"]
    listed = (
        []
        if push.data["deleted"]
        else list(dict.fromkeys(str(c["id"]) for c in payload.get("commits") or []))
    )
    assert [c.data["sha"] for c in commits] == listed
    assert "[REDACTED]" not in {push.actor, *(c.actor for c in commits)}
    check_dispatch(client, config, events)


def _commits(count: int, total: int) -> dict[str, Any]:
    commits = [{"id": f"{i:040x}", "timestamp": "2026-11-02T09:00:00Z", "message": "m"} for i in range(count)]
    return PUSH | {"commits": commits, "total_commits_count": total}


def test_a_push_with_the_token_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_edits(PUSH))
    @example(payload=PUSH | {"user_email": "[REDACTED]", "user_username": ["alice"]})
    @example(payload=edited(PUSH, ("commits", 0, "author", "email"), "[REDACTED]"))
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, ENDPOINT, body, signed("gitlab", body))
        check_push_answer(response, payload, redis_client, before, example_config)

    check()


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        pytest.param(edited(PUSH, ("project",), DELETE), 400, "missing field 'project'", id="no project"),
        pytest.param(edited(PUSH, ("project",), None), 400, "project must be an object", id="project null"),
        pytest.param(
            edited(PUSH, ("project", "path_with_namespace"), DELETE),
            400,
            "'path_with_namespace'",
            id="no path",
        ),
        pytest.param(
            edited(PUSH, ("project", "path_with_namespace"), ""), 400, "path_with_namespace", id="empty path"
        ),
        pytest.param(edited(PUSH, ("ref",), DELETE), 400, "missing field 'ref'", id="no ref"),
        pytest.param(edited(PUSH, ("commits",), 5), 400, "commits must be a list", id="commits a number"),
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
            edited(PUSH, ("commits", 1, "timestamp"), "9999-12-31T23:59:59-01:00"),
            400,
            "out of range",
            id="after 9999",
        ),
        pytest.param(
            edited(PUSH, ("commits", 1, "added"), 7), 400, "added must be a list", id="added a number"
        ),
        pytest.param(
            edited(PUSH, ("total_commits_count",), 2.5), 400, "total_commits_count", id="total a float"
        ),
        pytest.param(
            edited(PUSH, ("project", "path_with_namespace"), "acme/🙂/\u202e"), 202, "", id="unicode path"
        ),
        pytest.param(edited(PUSH, ("commits", 1, "message"), "x" * 100_000), 202, "", id="huge message"),
        pytest.param(
            edited(PUSH, ("user_email",), "[REDACTED]") | {"user_username": None}, 202, "", id="nobody known"
        ),
        pytest.param(_commits(20, 2**40), 202, "", id="20 of 2**40 commits"),
        pytest.param(_commits(2048, -5), 202, "", id="2048 commits, negative total"),
        pytest.param(PUSH | {"commits": []}, 202, "", id="no commits"),
    ],
)
def test_a_push_with_a_known_odd_shape(
    receiver: TestClient,
    redis_client: redis.Redis,
    example_config: Config,
    payload: dict[str, Any],
    status: int,
    says: str,
) -> None:
    body = json.dumps(payload).encode()
    response = post(receiver, ENDPOINT, body, signed("gitlab", body))
    check_push_answer(response, payload, redis_client, 0, example_config)
    assert response.status_code == status, response.text[:300]
    if says:
        assert says in response.json()["error"]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(PUSH | {"before": json.loads(nested(300))}, id="before"),
        pytest.param(PUSH | {"user_name": json.loads(nested(300)), "user_username": None}, id="user name"),
    ],
)
def test_a_push_with_a_field_nested_300_levels_is_a_400_or_ignored(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    response = post(receiver, ENDPOINT, body, signed("gitlab", body))
    check_push_answer(response, payload, redis_client, 0, example_config)


def test_hostile_bodies_with_the_token_are_refused(receiver: TestClient, redis_client: redis.Redis) -> None:
    valid = json.dumps(PUSH | {"user_name": "Zoë Café"}, ensure_ascii=False).encode()

    @fuzz(100)
    @given(body=hostile_bodies(valid))
    def check(body: bytes) -> None:
        response = post(receiver, ENDPOINT, body, signed("gitlab", body))
        assert_documented(response, {400, 413})
        assert queued_events(redis_client) == []

    check()
