"""Mattermost and Discord commands through the whole pipeline: over real HTTP, with the command's token or
Discord's Ed25519 signature, to the receiver, whose immediate answer says what will happen; through a real worker
process to the simulator; and the follow-up, saying what did, to a local server standing in for the chat platform.
A wrong token or signature is a 401 that enqueues nothing; a user no identity lists is told how to be added, and
Toggl sees nothing."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.pipeline_support import Pipeline, entries_of, running_pipeline, wait_for
from togglbridge.serving import serve_in_thread
from togglbridge.sources.mattermost import FORM, form_body
from togglbridge.sources.signing import Ed25519Signature, public_key_hex
from togglbridge.store import keys
from togglbridge.store.journal import Journal
from togglbridge.store.redis_server import RedisServer

pytestmark = pytest.mark.integration

MATTERMOST_TOKEN = "pipeline-mattermost-token"
DISCORD_KEY = Ed25519PrivateKey.generate()
APPLICATION = "1149587351396061244"
GUILD = "290926798626357250"


class ChatPlatform:
    """What the bridge sent the chat platforms: (method, path, JSON body), in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def record(self, request: Request) -> JSONResponse:
        self.calls.append((request.method, request.url.path, await request.json()))
        return JSONResponse({"ok": True})

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for _, called, body in list(self.calls) if called == path]


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ChatPlatform, str]]:
    made = ChatPlatform()
    app = Starlette(routes=[Route("/{path:path}", made.record, methods=["POST", "PATCH"])])
    with serve_in_thread(app, name="chat") as url:
        yield made, url


@pytest.fixture(scope="module")
def people() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return {
        "ada": f"ada-{suffix}",  # on Mattermost
        "bob": f"bob-{suffix}",  # on Discord
        "mattermost_user": f"mm{suffix}qa73bjjjan6mzn11f4ie",
        "discord_user": f"80351110{int(suffix, 16)}",
    }


@pytest.fixture(scope="module")
def pipeline(
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
    chat: tuple[ChatPlatform, str],
    people: dict[str, str],
) -> Iterator[Pipeline]:
    rule_file = f"""
defaults:
  created_with: togglbridge-tests
identities:
  {people["ada"]}:
    mattermost: [{people["mattermost_user"]}]
  {people["bob"]}:
    discord: ["{people["discord_user"]}"]
chat:
  enabled: true
  reply: ephemeral
rules: []
"""
    with running_pipeline(
        redis_server.url,
        rule_file,
        Path(tmp_path_factory.mktemp("chat-pipelines")),
        [people["ada"], people["bob"]],
        extra_env={
            "TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off",
            "TOGGLBRIDGE_DISCORD_API_URL": f"{chat[1]}/discord/api/v10",
        },
        source_secrets={"mattermost": MATTERMOST_TOKEN, "discord": public_key_hex(DISCORD_KEY)},
    ) as running:
        yield running


def occurred_at(pipeline: Pipeline, event_id: str) -> datetime:
    received = next(
        r for r in Journal(pipeline.redis, cap=1000).event(event_id) if r.get("stage") == "received"
    )
    return datetime.fromisoformat(received["occurred_at"])


def journalled(pipeline: Pipeline) -> int:
    return int(pipeline.redis.llen(keys.JOURNAL_INDEX))


def all_entries(pipeline: Pipeline) -> int:
    with pipeline.sim.lock:
        return sum(1 for entry in pipeline.sim.state.entries.values() if not entry.deleted)


# -- Mattermost -----------------------------------------------------------------------------------------------------


def mattermost_command(
    pipeline: Pipeline, chat_url: str, user: str, text: str, *, token: str = MATTERMOST_TOKEN
) -> tuple[httpx.Response, str, str]:
    """Post ``/toggl <text>`` as Mattermost does; the answer, the event id it makes, and its response URL's path."""
    trigger = uuid.uuid4().hex
    path = f"/mattermost/hooks/commands/{trigger[:12]}"
    fields = {
        "channel_id": "cniah6qa73bjjjan6mzn11f4ie",
        "channel_name": "town-square",
        "command": "/toggl",
        "response_url": chat_url + path,
        "team_domain": "acme",
        "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
        "text": text,
        "token": token,
        "trigger_id": trigger,
        "user_id": user,
        "user_name": "ada",
    }
    response = httpx.post(
        f"{pipeline.url}/hooks/mattermost",
        content=form_body(fields),
        headers={"Content-Type": FORM, "Authorization": f"Token {token}"},
        timeout=10,
    )
    return response, f"mattermost:{hashlib.sha256(trigger.encode()).hexdigest()[:32]}", path


def test_a_mattermost_start_then_stop_make_one_entry_and_each_is_followed_up(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str], people: dict[str, str]
) -> None:
    platform, url = chat
    ada, user = people["ada"], people["mattermost_user"]
    response, start_id, start_path = mattermost_command(pipeline, url, user, "start Write report #docs")
    assert response.status_code == 200, response.text
    assert response.json() == {"response_type": "ephemeral", "text": "Starting “Write report” #docs…"}
    told = wait_for(lambda: platform.to(start_path), 60, "the start's follow-up")
    assert told == [{"response_type": "ephemeral", "text": "Started “Write report” #docs."}]

    response, stop_id, stop_path = mattermost_command(pipeline, url, user, "stop")
    assert response.json() == {"response_type": "ephemeral", "text": "Stopping your running entry…"}
    (stopped,) = wait_for(lambda: platform.to(stop_path), 60, "the stop's follow-up")
    assert stopped["text"].startswith("Stopped “Write report” #docs after ")

    (entry,) = entries_of(pipeline, ada)
    assert entry["description"] == "Write report"
    expected = (occurred_at(pipeline, stop_id) - occurred_at(pipeline, start_id)).total_seconds()
    assert abs(entry["duration"] - expected) <= 1  # Toggl keeps whole seconds


def test_a_wrong_mattermost_token_is_a_401_that_enqueues_nothing(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str], people: dict[str, str]
) -> None:
    before = journalled(pipeline)
    response, _, _ = mattermost_command(
        pipeline, chat[1], people["mattermost_user"], "start Sneaky", token="guess"
    )
    assert response.status_code == 401
    assert MATTERMOST_TOKEN not in response.text
    assert journalled(pipeline) == before


def test_a_mattermost_user_nobody_lists_is_told_how_to_be_added_and_toggl_sees_nothing(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str]
) -> None:
    platform, url = chat
    entries = all_entries(pipeline)
    response, _, path = mattermost_command(pipeline, url, "strangerx3p4pfk7kk6ck7b4e6gh", "start Sneaking in")
    assert response.status_code == 200
    (told,) = wait_for(lambda: platform.to(path), 60, "the stranger's follow-up")
    assert told["response_type"] == "ephemeral"
    assert "I don't know you yet" in told["text"]
    assert "`mattermost: [strangerx3p4pfk7kk6ck7b4e6gh]`" in told["text"]
    assert all_entries(pipeline) == entries


def test_a_mattermost_command_that_does_not_parse_gets_its_usage_and_no_event(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str], people: dict[str, str]
) -> None:
    before = journalled(pipeline)
    response, _, _ = mattermost_command(pipeline, chat[1], people["mattermost_user"], "log an hour")
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert "Usage: /toggl log" in response.json()["text"]
    assert journalled(pipeline) == before


# -- Discord ----------------------------------------------------------------------------------------------------------


def discord_interaction(
    pipeline: Pipeline,
    payload: dict[str, Any],
    key: Ed25519PrivateKey = DISCORD_KEY,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **Ed25519Signature().sign(body, key, datetime.now(UTC))}
    return httpx.post(f"{pipeline.url}/hooks/discord", content=body, headers=headers, timeout=10)


def toggl_command(user: str, subcommand: str, text: str | None = None) -> dict[str, Any]:
    """``/toggl <subcommand> [text]`` in a server, as Discord sends it."""
    option: dict[str, Any] = {"type": 1, "name": subcommand}
    if text is not None:
        option["options"] = [{"type": 3, "name": "text", "value": text}]
    return {
        "application_id": APPLICATION,
        "channel_id": "290926798999357250",
        "data": {"id": "1150000000000000000", "name": "toggl", "type": 1, "options": [option]},
        "guild_id": GUILD,
        "id": str(1311234567890000000 + uuid.uuid4().int % 10**12),
        "member": {"user": {"id": user, "username": "bob", "global_name": "Bob"}},
        "token": f"interaction-token-{uuid.uuid4().hex}",
        "type": 2,
        "version": 1,
    }


def original(payload: dict[str, Any]) -> str:
    """Where the worker edits the deferred answer."""
    return f"/discord/api/v10/webhooks/{APPLICATION}/{payload['token']}/messages/@original"


def test_a_discord_ping_is_answered_with_a_pong(pipeline: Pipeline) -> None:
    before = journalled(pipeline)
    ping = {"application_id": APPLICATION, "id": "1311234567890123400", "token": "t", "type": 1, "version": 1}
    response = discord_interaction(pipeline, ping)
    assert (response.status_code, response.json()) == (200, {"type": 1})
    assert journalled(pipeline) == before


def test_a_discord_start_then_stop_make_one_entry_and_each_edits_its_deferred_answer(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str], people: dict[str, str]
) -> None:
    platform, _ = chat
    bob, user = people["bob"], people["discord_user"]
    start = toggl_command(user, "start", "Review @Acme")
    response = discord_interaction(pipeline, start)
    assert (response.status_code, response.json()) == (200, {"type": 5, "data": {"flags": 64}})
    told = wait_for(lambda: platform.to(original(start)), 60, "the start's follow-up")
    assert told == [{"content": "Started “Review” @Acme."}]

    stop = toggl_command(user, "stop")
    response = discord_interaction(pipeline, stop)
    assert response.json() == {"type": 5, "data": {"flags": 64}}
    (stopped,) = wait_for(lambda: platform.to(original(stop)), 60, "the stop's follow-up")
    assert stopped["content"].startswith("Stopped “Review” after ")

    (entry,) = entries_of(pipeline, bob)
    assert entry["description"] == "Review"
    expected = (
        occurred_at(pipeline, f"discord:{stop['id']}") - occurred_at(pipeline, f"discord:{start['id']}")
    ).total_seconds()
    assert abs(entry["duration"] - expected) <= 1  # Toggl keeps whole seconds
    for call in platform.calls:  # the interaction token is only in the address, never in what is said
        assert start["token"] not in json.dumps(call[2])


def test_a_bad_discord_signature_is_a_401_that_enqueues_nothing(
    pipeline: Pipeline, people: dict[str, str]
) -> None:
    before = journalled(pipeline)
    forged = toggl_command(people["discord_user"], "start", "Forged")
    response = discord_interaction(pipeline, forged, Ed25519PrivateKey.generate())
    assert response.status_code == 401
    ping = {"application_id": APPLICATION, "id": "1", "token": "t", "type": 1, "version": 1}
    assert discord_interaction(pipeline, ping, Ed25519PrivateKey.generate()).status_code == 401
    assert journalled(pipeline) == before


def test_a_discord_user_nobody_lists_is_told_how_to_be_added_and_toggl_sees_nothing(
    pipeline: Pipeline, chat: tuple[ChatPlatform, str]
) -> None:
    platform, _ = chat
    entries = all_entries(pipeline)
    command = toggl_command("999000111222333444", "start", "Sneaking in")
    assert discord_interaction(pipeline, command).json()["type"] == 5
    (told,) = wait_for(lambda: platform.to(original(command)), 60, "the stranger's follow-up")
    assert "I don't know you yet" in told["content"]
    assert "`discord: [999000111222333444]`" in told["content"]
    assert all_entries(pipeline) == entries


def test_a_discord_command_that_does_not_parse_is_answered_at_once_with_its_usage(
    pipeline: Pipeline, people: dict[str, str]
) -> None:
    before = journalled(pipeline)
    response = discord_interaction(pipeline, toggl_command(people["discord_user"], "log", "an hour"))
    answer = response.json()
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "Usage: /toggl log" in answer["data"]["content"]
    assert journalled(pipeline) == before
