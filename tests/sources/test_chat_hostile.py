"""Hostile input to the Mattermost and Discord sources, through the receiver: a request with the right token or
signature, of any shape, is answered with a documented status and never a 5xx; what it queues is at most one
well-formed ``chat.command`` a worker plans without raising, carrying no response URL or interaction token; a
wrong token or signature is a 401 that queues nothing; the answer is always the platform's (never the receiver's
usual 202, which would mean the source's answer hook failed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile_support import (
    assert_documented,
    check_dispatch,
    hostile_bodies,
    post,
    queued_events,
)
from tests.sources.harness import (
    DELETE,
    DISCORD_PRIVATE_KEY,
    FIXTURES,
    SENDERS,
    edited,
    fuzz,
    json_paths,
    odd_edits,
    odd_values,
)
from tests.test_receiver import untouched
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.sources.signing import Ed25519Signature

pytestmark = pytest.mark.integration

Headers = list[tuple[bytes, bytes]]
MATTERMOST_TOKEN = SENDERS["mattermost"].secret
MATTERMOST: dict[str, str] = json.loads((FIXTURES / "mattermost" / "command__start.json").read_text())
DISCORD: dict[str, Any] = json.loads((FIXTURES / "discord" / "interaction__guild_start.json").read_text())
SECRETS_OF_THE_MOMENT = ("mattermost.example.com/hooks", DISCORD["token"], MATTERMOST_TOKEN)


def check_answer(
    response: Response, client: redis.Redis, before: int, config: Config, source: str
) -> list[Event]:
    """A documented status; events only with the platform's 200, one at most, well-formed, planned without
    raising, with none of the request's secrets of the moment."""
    assert_documented(response, {200, 400})
    queued = queued_events(client)
    if response.status_code != 200:
        assert len(queued) == before, "a refused delivery queued events"
        return []
    events = [Event.model_validate(e) for e in queued[before:]]
    assert len(events) <= 1
    for event in events:
        assert (event.source, event.kind) == (source, "chat.command")
        dumped = event.model_dump_json()
        assert not any(secret in dumped for secret in SECRETS_OF_THE_MOMENT)
    if events:
        check_dispatch(client, config, events)
    return events


# -- Mattermost ---------------------------------------------------------------------------------------------------


def mattermost_headers(
    token: bytes | None, content_type: bytes = b"application/x-www-form-urlencoded"
) -> Headers:
    headers = [(b"content-type", content_type)]
    return headers + ([(b"authorization", b"Token " + token)] if token is not None else [])


@pytest.mark.parametrize(
    "token",
    [
        None,
        b"",
        b"guess",
        MATTERMOST_TOKEN.encode() + b" x",
        b"\xe9" * 8,
        b"\xff" * 64,
        MATTERMOST_TOKEN.upper().encode(),
    ],
)
def test_a_wrong_or_missing_mattermost_token_is_a_401_that_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis, token: bytes | None
) -> None:
    body = urlencode(MATTERMOST | {"token": "wrong"}).encode()
    response = post(receiver, "/hooks/mattermost", body, mattermost_headers(token))
    assert_documented(response, {401})
    assert MATTERMOST_TOKEN not in response.text
    assert untouched(redis_client)


form_text = st.text(max_size=40) | st.sampled_from(["", " ", "\x00", "\u202e", "🙂" * 30, "%", "&=", "+"])
command_texts = st.one_of(
    form_text,
    st.lists(
        st.sampled_from(["start", "stop", "log", "help", "1h", "@Acme", "#t", "$", '"q', "at", "14:00", "x"]),
        max_size=6,
    ).map(" ".join),
)


@st.composite
def odd_commands(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The fixture command with fields replaced, removed, repeated or added."""
    fields = dict(MATTERMOST) | {"text": draw(command_texts)}
    for name in draw(st.lists(st.sampled_from(sorted(MATTERMOST)), max_size=4)):
        if name == "token":
            continue  # the token is checked above; here every request carries it in the header as well
        if draw(st.booleans()):
            fields.pop(name, None)
        else:
            fields[name] = draw(form_text)
    pairs = list(fields.items())
    pairs += draw(st.lists(st.tuples(st.sampled_from([*MATTERMOST, "x"]), form_text), max_size=2))
    return pairs


def test_a_mattermost_command_with_the_token_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(pairs=odd_commands())
    @example(pairs=list(MATTERMOST.items()))
    @example(pairs=[(k, v) for k, v in MATTERMOST.items() if k != "user_id"])
    def check(pairs: list[tuple[str, str]]) -> None:
        before = len(queued_events(redis_client))
        body = urlencode(pairs).encode()
        response = post(receiver, "/hooks/mattermost", body, mattermost_headers(MATTERMOST_TOKEN.encode()))
        check_answer(response, redis_client, before, example_config, "mattermost")
        if response.status_code == 200:
            assert response.json()["response_type"] == "ephemeral"
            assert response.json()["text"].strip()

    check()


def test_a_mattermost_json_body_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    paths = json_paths(MATTERMOST)

    @fuzz(100)
    @given(changes=st.lists(st.tuples(st.sampled_from(paths), odd_values), min_size=1, max_size=4))
    def check(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
        payload: dict[str, Any] = dict(MATTERMOST)
        for (name,), value in changes:
            payload[name] = value
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        headers = mattermost_headers(MATTERMOST_TOKEN.encode(), b"application/json")
        response = post(receiver, "/hooks/mattermost", body, headers)
        check_answer(response, redis_client, before, example_config, "mattermost")

    check()


def test_hostile_mattermost_bodies_with_the_token_queue_nothing(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    valid = json.dumps(MATTERMOST | {"user_name": "Zoë"}, ensure_ascii=False).encode()

    @fuzz(100)
    @given(
        body=hostile_bodies(valid),
        content_type=st.sampled_from([b"application/json", b"application/x-www-form-urlencoded"]),
    )
    def check(body: bytes, content_type: bytes) -> None:
        response = post(
            receiver, "/hooks/mattermost", body, mattermost_headers(MATTERMOST_TOKEN.encode(), content_type)
        )
        # a binary "form" is a form of nothing much: help, answered with the usage
        assert_documented(response, {200, 400, 413})
        assert queued_events(redis_client) == []

    check()


# -- Discord --------------------------------------------------------------------------------------------------------


def discord_signed(body: bytes, key: Ed25519PrivateKey | None = None) -> Headers:
    signing = key or Ed25519PrivateKey.from_private_bytes(bytes.fromhex(DISCORD_PRIVATE_KEY))
    headers = {
        "content-type": "application/json",
        **Ed25519Signature().sign(body, signing, datetime.now(UTC)),
    }
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: [(n, v) for n, v in h if n != b"x-signature-ed25519"], id="no signature"),
        pytest.param(lambda h: [(n, v) for n, v in h if n != b"x-signature-timestamp"], id="no timestamp"),
        pytest.param(
            lambda h: [(n, b"0" * 128 if n == b"x-signature-ed25519" else v) for n, v in h], id="zeros"
        ),
        pytest.param(
            lambda h: [(n, b"\xe9" * 8 if n == b"x-signature-ed25519" else v) for n, v in h], id="latin-1"
        ),
        pytest.param(
            lambda h: [(n, b"\xff" if n == b"x-signature-timestamp" else v) for n, v in h], id="timestamp"
        ),
        pytest.param(
            lambda h: [(n, v) for n, v in discord_signed(b"{}", Ed25519PrivateKey.generate())], id="other key"
        ),
    ],
)
def test_a_bad_discord_signature_is_a_401_that_queues_nothing(
    receiver: TestClient, redis_client: redis.Redis, tamper: Any
) -> None:
    body = json.dumps(DISCORD).encode()
    response = post(receiver, "/hooks/discord", body, tamper(discord_signed(body)))
    assert_documented(response, {401})
    assert untouched(redis_client)


def test_a_signed_interaction_of_any_shape_is_answered_without_a_5xx(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(200)
    @given(payload=odd_edits(DISCORD))
    @example(payload=DISCORD)
    @example(payload=edited(DISCORD, ("type",), 1))
    @example(payload=edited(DISCORD, ("member",), DELETE))
    @example(payload=edited(DISCORD, ("data", "options", 0, "options", 0, "value"), "log 99999h"))
    def check(payload: dict[str, Any]) -> None:
        before = len(queued_events(redis_client))
        body = json.dumps(payload).encode()
        response = post(receiver, "/hooks/discord", body, discord_signed(body))
        events = check_answer(response, redis_client, before, example_config, "discord")
        if response.status_code == 200 and payload.get("type") == 2:
            answer = response.json()
            assert answer["type"] in (4, 5) and answer["data"]["flags"] == 64
            assert (answer["type"] == 5) == bool(events)

    check()


def test_hostile_discord_bodies_signed_are_refused(receiver: TestClient, redis_client: redis.Redis) -> None:
    valid = json.dumps(DISCORD | {"locale": "Zoë"}, ensure_ascii=False).encode()

    @fuzz(100)
    @given(body=hostile_bodies(valid))
    def check(body: bytes) -> None:
        response = post(receiver, "/hooks/discord", body, discord_signed(body))
        assert_documented(response, {400, 413})
        assert queued_events(redis_client) == []

    check()
