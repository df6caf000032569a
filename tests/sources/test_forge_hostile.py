"""Hostile input to the Gitea (and Forgejo) and Bitbucket sources, through the receiver: a validly signed push of
any shape is answered with a documented status and never a 5xx; a 202 carries well-formed events that match the
payload and that a worker plans without raising; a refusal says why and queues nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given

from tests.hostile_support import assert_documented, check_dispatch, post, queued_events, signed
from tests.sources.harness import DELETE, FIXTURES, edited, fuzz, nested, odd_edits
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event

pytestmark = pytest.mark.integration

GITEA_PUSH: dict[str, Any] = json.loads((FIXTURES / "gitea" / "push__merge_commit.json").read_text())
BITBUCKET_PUSH: dict[str, Any] = json.loads((FIXTURES / "bitbucket" / "push__two_branches.json").read_text())
PUSHES = {"gitea": GITEA_PUSH, "bitbucket": BITBUCKET_PUSH}


def _shas(source: str, payload: Any) -> list[str]:
    """The commits the payload lists that must become commit events, in the order they must come."""
    if source == "gitea":
        listed = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
        if len(listed) > 1 and listed[0].get("id") == payload.get("after") != listed[-1].get("id"):
            listed = listed[::-1]
        if payload.get("after") == "0" * 40:
            return []
        return [str(c["id"]) for c in listed if c.get("distinct") is not False]
    shas: list[str] = []
    for change in payload["push"]["changes"]:
        if change.get("closed") or not change.get("new"):
            continue
        for commit in reversed([c for c in change.get("commits") or [] if isinstance(c, dict)]):
            if str(commit["hash"]) not in shas:
                shas.append(str(commit["hash"]))
    return shas


def check_push_answer(
    source: str, response: Response, payload: Any, client: redis.Redis, before: int, config: Config
) -> None:
    assert_documented(response, {200, 202, 400})
    queued = queued_events(client)
    if response.status_code != 202:
        assert len(queued) == before, "a refused or empty delivery queued events"
        return
    events = [Event.model_validate(e) for e in queued[before:]]
    assert response.json()["accepted"] == len(events) >= 1
    assert events[0].kind == "git.push"
    assert all(e.data["repo"]["full_name"] == str(payload["repository"]["full_name"]) for e in events)
    assert [e.data["sha"] for e in events if e.kind == "git.commit"] == _shas(source, payload)
    check_dispatch(client, config, events)


@pytest.mark.parametrize("source", ["gitea", "bitbucket"])
def test_a_signed_push_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config, source: str
) -> None:
    @fuzz(150)
    @given(payload=odd_edits(PUSHES[source]))
    @example(payload=PUSHES[source] | {"repository": PUSHES[source]["repository"] | {"full_name": 5}})
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, f"/hooks/{source}", body, signed(source, body))
        check_push_answer(source, response, payload, redis_client, before, example_config)

    check()


def _status(receiver: TestClient, source: str, payload: dict[str, Any]) -> Response:
    body = json.dumps(payload).encode()
    return post(receiver, f"/hooks/{source}", body, signed(source, body))


@pytest.mark.parametrize(
    ("source", "payload", "status", "says"),
    [
        ("gitea", edited(GITEA_PUSH, ("repository",), DELETE), 400, "missing field 'repository'"),
        ("gitea", edited(GITEA_PUSH, ("repository",), "acme/webapp"), 400, "not a Gitea push payload"),
        ("gitea", edited(GITEA_PUSH, ("commits", 0, "timestamp"), "soon"), 400, "soon"),
        (
            "gitea",
            edited(GITEA_PUSH, ("commits", 0, "timestamp"), "9999-12-31T23:59:59-01:00"),
            400,
            "out of range",
        ),
        ("gitea", edited(GITEA_PUSH, ("pusher",), "bob"), 400, "must be an object"),
        ("gitea", edited(GITEA_PUSH, ("commits",), [None, 1, "x"]) | {"head_commit": None}, 202, ""),
        ("gitea", edited(GITEA_PUSH, ("commits", 0, "message"), "x" * 100_000), 202, ""),
        ("gitea", GITEA_PUSH | {"compare_url": json.loads(nested(300))}, 400, "data"),
        ("bitbucket", edited(BITBUCKET_PUSH, ("push",), DELETE), 400, "missing field 'push'"),
        ("bitbucket", edited(BITBUCKET_PUSH, ("push", "changes"), {}), 400, "must be a list"),
        (
            "bitbucket",
            edited(BITBUCKET_PUSH, ("push", "changes", 0, "new"), "main"),
            400,
            "must be an object",
        ),
        (
            "bitbucket",
            edited(BITBUCKET_PUSH, ("push", "changes", 1, "commits", 0, "date"), "0001-01-01T00:00:00+01:00"),
            400,
            "out of range",
        ),
        (
            "bitbucket",
            edited(BITBUCKET_PUSH, ("push", "changes", 0, "commits", 0, "author"), "Ravi"),
            400,
            "not one",
        ),
        ("bitbucket", edited(BITBUCKET_PUSH, ("push", "changes"), []), 200, ""),
        ("bitbucket", edited(BITBUCKET_PUSH, ("push", "changes", 0, "commits"), [None, 1, "x"]), 202, ""),
        ("bitbucket", edited(BITBUCKET_PUSH, ("actor", "nickname"), "r" * 5_000), 202, ""),
        ("bitbucket", BITBUCKET_PUSH | {"actor": {"nickname": json.loads(nested(300))}}, 202, ""),
    ],
)
def test_a_signed_push_with_a_known_odd_shape(
    receiver: TestClient,
    redis_client: redis.Redis,
    example_config: Config,
    source: str,
    payload: dict[str, Any],
    status: int,
    says: str,
) -> None:
    response = _status(receiver, source, payload)
    check_push_answer(source, response, payload, redis_client, 0, example_config)
    assert response.status_code == status, response.text[:300]
    if says:
        assert says in response.json()["error"]


@pytest.mark.parametrize(
    ("source", "headers"),
    [
        ("gitea", [(b"x-gitea-event", b"push"), (b"x-gitea-signature", b"\xe9" * 64)]),
        ("gitea", [(b"x-forgejo-event", b"push"), (b"x-forgejo-signature", b"abc\xa0")]),
        ("gitea", [(b"x-gitea-event", b"push"), (b"x-hub-signature-256", b"sha256=" + b"0" * 64)]),
        ("bitbucket", [(b"x-event-key", b"repo:push"), (b"x-hub-signature", b"sha256=\xe9")]),
        ("bitbucket", [(b"x-event-key", b"repo:push")]),
    ],
)
def test_an_unsigned_or_badly_signed_push_is_a_401_that_touches_nothing(
    receiver: TestClient, redis_client: redis.Redis, source: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(PUSHES[source]).encode()
    response = post(receiver, f"/hooks/{source}", body, [(b"content-type", b"application/json"), *headers])
    assert response.status_code == 401
    assert untouched(redis_client)


@pytest.mark.parametrize("source", ["gitea", "bitbucket"])
def test_a_signed_body_that_is_not_a_json_object_is_a_400(receiver: TestClient, source: str) -> None:
    for body in (b"[1, 2]", b"\xff\xfe", nested(100_000), b'{"ref": '):
        response = post(receiver, f"/hooks/{source}", body, signed(source, body))
        assert_documented(response, {400, 413})
