"""Slack through the whole pipeline: a signed ``/toggl`` over real HTTP to the receiver, which answers at once with
what will happen; a real worker process that starts and stops entries in the simulator and posts what did happen
to the command's ``response_url`` (a recording server here); the Stop button's interaction; a wrong signature or a
stale timestamp refused with nothing queued; a stranger told how to be added, with nothing sent to Toggl."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.pipeline_support import Pipeline, entries_of, running_pipeline, wait_for
from togglbridge.serving import serve_in_thread
from togglbridge.sources.slack import SOURCE
from togglbridge.store import keys

pytestmark = pytest.mark.integration

SECRET = "pipeline-slack-signing-secret-0123"
USERS = {"writer": "UWRITER01", "clicker": "UCLICKER1", "checker": "UCHECKER1"}


class Recorder:
    """Slack's side of ``response_url``: what the bridge posted there, by path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []

    async def record(self, request: Request) -> JSONResponse:
        self.posts.append((request.url.path, await request.json()))
        return JSONResponse({"ok": True})

    def at(self, path: str) -> list[dict[str, Any]]:
        return [body for where, body in list(self.posts) if where == path]


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = Starlette(routes=[Route("/{path:path}", recorder.record, methods=["POST"])])
    with serve_in_thread(app, name="slack") as url:
        yield recorder, url


@pytest.fixture(scope="module")
def pipeline(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    suffix = uuid.uuid4().hex[:6]
    identities = {f"{role}-{suffix}": user for role, user in USERS.items()}
    listed = "".join(f"  {name}:\n    slack: [{user}]\n" for name, user in identities.items())
    rule_file = "defaults:\n  created_with: togglbridge-tests\nidentities:\n" + listed + "rules: []\n"
    with running_pipeline(
        redis_server.url,
        rule_file,
        tmp_path_factory.mktemp("slack"),
        list(identities),
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"},
        source_secrets={"slack": SECRET},
    ) as running:
        yield running


def identity_of(pipeline: Pipeline, role: str) -> str:
    return next(name for name in pipeline.identities if name.startswith(f"{role}-"))


def command_body(user: str, text: str, response_url: str) -> bytes:
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C2147483705",
            "channel_name": "test",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/toggl",
            "text": text,
            "api_app_id": "A123456",
            "response_url": response_url,
            "trigger_id": f"{uuid.uuid4().int % 10**11}.738474920.{uuid.uuid4().hex}",
        }
    ).encode()


def click_body(user: str, action_id: str, response_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "api_app_id": "A123456",
        "container": {"type": "message", "message_ts": "1764496800.000200", "is_ephemeral": True},
        "trigger_id": f"{uuid.uuid4().int % 10**11}.333649436676.{uuid.uuid4().hex}",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": "C2147483705", "name": "test"},
        "response_url": response_url,
        "actions": [
            {"action_id": action_id, "type": "button", "value": "stop", "action_ts": "1764497100.840180"}
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def send(
    pipeline: Pipeline, body: bytes, *, now: datetime | None = None, secret: str = SECRET
) -> httpx.Response:
    headers = SOURCE.sign(
        {"Content-Type": "application/x-www-form-urlencoded"}, body, secret, now or datetime.now(UTC)
    )
    return httpx.post(f"{pipeline.url}/hooks/slack", content=body, headers=headers, timeout=10)


def occurred_at(pipeline: Pipeline, body: bytes) -> datetime:
    """When the receiver took the command, from the event's journal (the id follows from the request)."""
    (event,) = SOURCE.parse({}, body)
    (received,) = [
        json.loads(r) for r in pipeline.redis.lrange(keys.journal(event.id), 0, -1) if b'"received"' in r
    ]
    return datetime.fromisoformat(received["occurred_at"])


def follow_ups(recorder: Recorder, path: str, count: int = 1) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_for(
        lambda: (got := recorder.at(path)) and len(got) >= count and got, 60, f"{count} follow-up(s)"
    )
    return found


def test_start_then_stop_over_http_with_answers_and_follow_ups(
    pipeline: Pipeline, slack: tuple[Recorder, str]
) -> None:
    recorder, url = slack
    user, identity = USERS["writer"], identity_of(pipeline, "writer")
    start = command_body(user, "start Write report @Acme #writing", f"{url}/commands/start")
    answered = send(pipeline, start)
    assert answered.status_code == 200
    reply = answered.json()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "Starting “Write report” @Acme #writing…"
    buttons = [e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["toggl_stop"]

    (started,) = follow_ups(recorder, "/commands/start")
    assert started == {
        "response_type": "ephemeral",
        "text": "Started “Write report” @Acme #writing.",
        "replace_original": False,
    }
    (running,) = wait_for(lambda: entries_of(pipeline, identity), 30, "the running entry")
    assert running["description"] == "Write report" and running["duration"] < 0

    stop = command_body(user, "stop", f"{url}/commands/stop")
    stopped_answer = send(pipeline, stop)
    assert stopped_answer.status_code == 200
    assert stopped_answer.json()["text"] == "Stopping your running entry…"
    (stopped,) = follow_ups(recorder, "/commands/stop")
    assert stopped["text"].startswith("Stopped “Write report” #writing after ")

    (entry,) = wait_for(
        lambda: [e for e in entries_of(pipeline, identity) if e["duration"] >= 0], 30, "the stopped entry"
    )
    expected = (occurred_at(pipeline, stop) - occurred_at(pipeline, start)).total_seconds()
    assert abs(entry["duration"] - expected) <= 1  # Toggl keeps whole seconds
    assert len(entries_of(pipeline, identity)) == 1


def test_the_stop_button_stops_the_running_entry(pipeline: Pipeline, slack: tuple[Recorder, str]) -> None:
    recorder, url = slack
    user, identity = USERS["clicker"], identity_of(pipeline, "clicker")
    assert send(pipeline, command_body(user, "start Review", f"{url}/click/start")).status_code == 200
    follow_ups(recorder, "/click/start")
    wait_for(lambda: entries_of(pipeline, identity), 30, "the running entry")

    clicked = send(pipeline, click_body(user, "toggl_stop", f"{url}/click/stop"))
    assert clicked.status_code == 200
    assert clicked.json() == {"response_type": "ephemeral", "text": "Stopping your running entry…"}
    (told,) = follow_ups(recorder, "/click/stop")
    assert told["text"].startswith("Stopped “Review” after ")
    (entry,) = wait_for(
        lambda: [e for e in entries_of(pipeline, identity) if e["duration"] >= 0], 30, "the stopped entry"
    )
    assert entry["description"] == "Review"


def test_another_apps_button_is_acknowledged_and_does_nothing(
    pipeline: Pipeline, slack: tuple[Recorder, str]
) -> None:
    _, url = slack
    before = pipeline.redis.llen(keys.JOURNAL_INDEX)
    answered = send(pipeline, click_body(USERS["checker"], "approve_request", f"{url}/other"))
    assert (answered.status_code, answered.json()) == (200, {})
    assert pipeline.redis.llen(keys.JOURNAL_INDEX) == before


@pytest.mark.parametrize(
    ("secret", "age"),
    [
        pytest.param("not-the-signing-secret-at-all", timedelta(0), id="wrong signature"),
        pytest.param(SECRET, timedelta(minutes=6), id="stale timestamp"),
    ],
)
def test_a_wrong_signature_or_a_stale_timestamp_is_a_401_and_nothing_is_queued(
    pipeline: Pipeline, slack: tuple[Recorder, str], secret: str, age: timedelta
) -> None:
    recorder, url = slack
    path = f"/refused/{uuid.uuid4().hex}"
    before = pipeline.redis.llen(keys.JOURNAL_INDEX)
    body = command_body(USERS["checker"], "start Sneaky", f"{url}{path}")
    answered = send(pipeline, body, now=datetime.now(UTC) - age, secret=secret)
    assert answered.status_code == 401
    assert "X-Slack" in answered.json()["error"]
    assert pipeline.redis.llen(keys.JOURNAL_INDEX) == before
    (event,) = SOURCE.parse({}, body)
    assert not pipeline.redis.exists(keys.journal(event.id), keys.reply(event.id))
    assert recorder.at(path) == []


def test_help_and_a_typo_are_answered_at_once_and_queue_nothing(
    pipeline: Pipeline, slack: tuple[Recorder, str]
) -> None:
    _, url = slack
    before = pipeline.redis.llen(keys.JOURNAL_INDEX)
    typo = send(pipeline, command_body(USERS["checker"], "log forever", f"{url}/typo"))
    assert typo.status_code == 200
    assert typo.json()["text"].startswith("'forever' is not a duration")
    assert "Usage: /toggl log" in typo.json()["text"]
    helped = send(pipeline, command_body(USERS["checker"], "help", f"{url}/help"))
    assert helped.json()["text"].startswith("/toggl commands:")
    assert pipeline.redis.llen(keys.JOURNAL_INDEX) == before


def test_a_stranger_is_told_how_to_be_added_and_toggl_sees_nothing(
    pipeline: Pipeline, slack: tuple[Recorder, str]
) -> None:
    recorder, url = slack
    answered = send(pipeline, command_body("USTRANGER", "start Secret work", f"{url}/stranger"))
    assert answered.status_code == 200
    (told,) = follow_ups(recorder, "/stranger")
    assert told["response_type"] == "ephemeral"
    assert "I don't know you yet" in told["text"] and "`slack: [USTRANGER]`" in told["text"]
    with pipeline.sim.lock:
        assert not [e for e in pipeline.sim.state.entries.values() if e.description == "Secret work"]
