"""Hostile input to the Slack source, through the receiver: a validly signed form of any shape (a slash command,
an interaction, or neither) is answered with a documented status and never a 5xx; an accepted one carries
well-formed events that a worker plans without raising; a refusal says why and queues nothing; a bad signature or
a stale timestamp is a 401 that queues nothing; and the response URL is stored nowhere but in its reply key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile_support import (
    Headers,
    assert_documented,
    check_dispatch,
    hostile_bodies,
    post,
    queued_events,
)
from tests.sources.harness import FIXTURES, SENDERS, fuzz, json_values, odd_values
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.store import keys, text

pytestmark = pytest.mark.integration

ENDPOINT = "/hooks/slack"
SENDER = SENDERS["slack"]
COMMAND: dict[str, str] = json.loads(
    (FIXTURES / "slack" / "command__start_with_project_and_tags.json").read_text()
)
CLICK: dict[str, Any] = json.loads((FIXTURES / "slack" / "block_actions__stop_click.json").read_text())[
    "payload"
]
RESPONSE_URL_HOST = "hooks.slack.com"


def encode(fields: dict[str, Any] | list[tuple[str, str]]) -> bytes:
    return urlencode(fields).encode()


def signed(body: bytes, now: datetime | None = None) -> Headers:
    headers = SENDER.signed_headers("", body, "", now or datetime.now(UTC))
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def check_answer(response: Response, client: redis.Redis, queued_before: int, config: Config) -> None:
    """A documented status; events only with a 200 answer, well-formed, planned without raising; the response URL
    kept only under its reply key."""
    assert_documented(response, {200, 400})
    queued = queued_events(client)
    if response.status_code != 200:
        assert len(queued) == queued_before, "a refused delivery queued events"
        return
    assert isinstance(response.json(), dict)
    events = [Event.model_validate(e) for e in queued[queued_before:]]
    assert len(events) <= 1
    for event in events:
        assert (event.source, event.kind) == ("slack", "chat.command")
        assert RESPONSE_URL_HOST not in event.model_dump_json()
    if events:
        check_dispatch(client, config, events)
    assert_the_response_url_is_only_in_reply_keys(client)


def stored_values(client: redis.Redis, key: bytes) -> list[Any]:
    kind = text(client.type(key))
    if kind == "string":
        return [client.get(key)]
    if kind == "list":
        return list(client.lrange(key, 0, -1))
    if kind == "hash":
        return [*client.hkeys(key), *client.hvals(key)]
    if kind == "set":
        return list(client.smembers(key))
    if kind == "zset":
        return list(client.zrange(key, 0, -1))
    return []


def assert_the_response_url_is_only_in_reply_keys(client: redis.Redis) -> None:
    for key in client.scan_iter("*"):
        if text(key).startswith(keys.reply("")):
            continue
        for value in stored_values(client, key):
            raw = value if isinstance(value, bytes) else str(value).encode()
            assert RESPONSE_URL_HOST.encode() not in raw, text(key)


# -- signatures -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [None, b"", b"v0=", b"v0=" + b"0" * 64, b"v0=\xe9", b"\xff" * 67, b"v1=abc", b"sha256=" + b"0" * 64],
)
def test_a_wrong_or_missing_signature_is_a_401_that_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis, signature: bytes | None
) -> None:
    body = encode(COMMAND)
    headers = [(n, v) for n, v in signed(body) if n != b"x-slack-signature"]
    if signature is not None:
        headers.append((b"x-slack-signature", signature))
    response = post(receiver, ENDPOINT, body, headers)
    assert_documented(response, {401})
    assert SENDER.secret.encode() not in response.content
    assert untouched(redis_client)


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-400)])
def test_a_stale_or_future_timestamp_is_a_401_that_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis, offset: timedelta
) -> None:
    body = encode(COMMAND)
    response = post(receiver, ENDPOINT, body, signed(body, datetime.now(UTC) + offset))
    assert_documented(response, {401})
    assert "X-Slack-Request-Timestamp" in response.json()["error"]
    assert untouched(redis_client)


def test_json_is_not_what_slack_posts(receiver: TestClient, redis_client: redis.Redis) -> None:
    body = json.dumps(COMMAND).encode()
    headers = [(n, b"application/json" if n == b"content-type" else v) for n, v in signed(body)]
    assert_documented(post(receiver, ENDPOINT, body, headers), {415})
    assert untouched(redis_client)


# -- signed bodies of any shape ---------------------------------------------------------------------------------


def test_a_signed_body_that_is_not_a_form_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    @fuzz(150)
    @given(body=hostile_bodies(encode(COMMAND)))
    @example(body=b"\xff\xfe")
    @example(body=b"text")
    def check(body: bytes) -> None:
        before = len(queued_events(redis_client))
        response = post(receiver, ENDPOINT, body, signed(body))
        assert_documented(response, {200, 400, 413})
        if response.status_code != 200:
            assert len(queued_events(redis_client)) == before

    check()


form_text = st.text(max_size=40) | st.sampled_from(["", "1", "\u0000", "\u202e", "🙂" * 30, "%ff", "+"])
command_texts = st.one_of(
    form_text,
    st.sampled_from(
        [
            "start",
            "stop",
            "help",
            "help log",
            "log 25h x",
            'start "',
            "start @ #",
            "start x @a @b",
            "tag",
            "week",
        ]
    ),
    st.lists(
        st.sampled_from(["start", "log", "1h", "@Acme", "#t", "$", '"q', "at", "14:00", "x"]), max_size=6
    ).map(" ".join),
)


@st.composite
def odd_commands(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The fixture command with fields replaced, removed, repeated or added, in any order."""
    fields = dict(COMMAND) | {"text": draw(command_texts)}
    for name in draw(st.lists(st.sampled_from(sorted(COMMAND)), max_size=4)):
        if draw(st.booleans()):
            fields.pop(name, None)
        else:
            fields[name] = draw(form_text)
    pairs = list(fields.items())
    pairs += draw(
        st.lists(st.tuples(st.sampled_from([*COMMAND, "payload", "ssl_check", "x"]), form_text), max_size=2)
    )
    return pairs


def test_a_signed_slash_command_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(pairs=odd_commands())
    @example(pairs=list(COMMAND.items()))
    @example(pairs=[*COMMAND.items(), ("ssl_check", "1")])
    def check(pairs: list[tuple[str, str]]) -> None:
        before = len(queued_events(redis_client))
        body = encode(pairs)
        check_answer(post(receiver, ENDPOINT, body, signed(body)), redis_client, before, example_config)

    check()


@st.composite
def odd_clicks(draw: st.DrawFn) -> Any:
    """The fixture click with top-level fields and the action replaced by values of any type, or removed; or
    any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    payload = dict(CLICK)
    for name in draw(st.lists(st.sampled_from(sorted(CLICK)), max_size=4)):
        if draw(st.booleans()):
            payload.pop(name, None)
        else:
            payload[name] = draw(odd_values)
    if draw(st.booleans()):
        action = dict(CLICK["actions"][0]) | {
            "action_id": draw(st.sampled_from(["toggl_stop", "toggl_resume"]) | odd_values)
        }
        payload["actions"] = [action]
    return payload


def test_a_signed_interaction_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_clicks())
    @example(payload=CLICK)
    @example(payload=CLICK | {"user": {"id": ["U1"]}})
    @example(payload=CLICK | {"actions": [{"action_id": ["toggl_stop"]}]})
    def check(payload: Any) -> None:
        before = len(queued_events(redis_client))
        body = encode({"payload": json.dumps(payload)})
        check_answer(post(receiver, ENDPOINT, body, signed(body)), redis_client, before, example_config)

    check()


def test_an_accepted_command_is_answered_at_once_and_its_address_kept_for_minutes(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    body = encode(COMMAND)
    response = post(receiver, ENDPOINT, body, signed(body))
    assert response.status_code == 200
    assert response.json()["text"] == "Starting “Write report” @Acme #writing…"
    (event,) = queued_events(redis_client)
    kept = redis_client.get(keys.reply(event["id"]))
    assert kept is not None and json.loads(kept)["url"] == COMMAND["response_url"]
    assert 0 < redis_client.ttl(keys.reply(event["id"])) <= 15 * 60
    assert_the_response_url_is_only_in_reply_keys(redis_client)
    again = post(
        receiver, ENDPOINT, body, signed(body)
    )  # the same request again: a duplicate, answered alike
    assert again.json() == response.json()
    assert len(queued_events(redis_client)) == 1
