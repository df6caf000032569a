"""Chat follow-ups: what became of a command reaches the chat it came from, as a short text, once; the address
is forgotten afterwards. The executor against the simulator over real HTTP, the follow-ups to a real recording
server, a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.test_executor import T0, action, enqueue
from togglbridge.config import parse_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.executor import Executor
from togglbridge.follow_ups import follow_up
from togglbridge.serving import serve_in_thread
from togglbridge.sources.base import ReplyChannel
from togglbridge.store import replies
from togglbridge.store.journal import Journal, record
from togglbridge.store.ledger import Ledger

pytestmark = pytest.mark.integration


class Recorder:
    """A chat platform's side: what the bridge posted, and where."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def record(self, request: Request) -> JSONResponse:
        self.calls.append((request.method, request.url.path, await request.json()))
        return JSONResponse({"ok": True})


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    made = Recorder()
    app = Starlette(routes=[Route("/{path:path}", made.record, methods=["POST", "PATCH"])])
    with serve_in_thread(app, name="chat") as url:
        yield made, url


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


def planned(client: redis.Redis, identity: str, *actions: Any) -> None:
    """Queue actions as the plan stage does, with the journal's planned record the story starts from."""
    enqueue(client, *actions)
    journal = Journal(client, cap=1000)
    for event_id in dict.fromkeys(a.event_id for a in actions):
        mine = [{"key": a.key, "type": a.type, "rule": a.rule} for a in actions if a.event_id == event_id]
        journal.append(
            event_id, record("planned", identity=identity, rules=[], actions=mine, errors=[], note=None)
        )


def keep(client: redis.Redis, event_id: str, channel: ReplyChannel) -> None:
    async def put() -> None:
        import redis.asyncio

        async_client = redis.asyncio.Redis(
            connection_pool=redis.asyncio.ConnectionPool.from_url(_url(client))
        )
        await replies.keep(async_client, [event_id], channel)
        await async_client.aclose()

    asyncio.run(put())


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def tell(client: redis.Redis, event_id: str, *, discord: str = "http://unused") -> bool:
    with httpx.Client() as http:
        return follow_up(
            client,
            Journal(client, cap=1000),
            event_id,
            http=http,
            visibility="ephemeral",
            discord_api_url=discord,
        )


def test_a_start_then_a_stop_are_told_where_they_were_typed(
    executor: Executor, redis_client: redis.Redis, identity: str, recorder: tuple[Recorder, str]
) -> None:
    chat, url = recorder
    keep(redis_client, "chat:1", ReplyChannel("slack", url=f"{url}/slack/response/1"))
    start = action(
        "start", identity, "chat:1", T0, description="Write report", project="Acme", tags=["writing"],
        follow_up=True,
    )  # fmt: skip
    planned(redis_client, identity, start)
    report = executor.drain(identity)
    assert report.follow_ups == ["chat:1"]
    assert tell(redis_client, "chat:1")
    assert chat.calls == [
        ("POST", "/slack/response/1",
         {"response_type": "ephemeral", "text": "Started “Write report” @Acme #writing.", "replace_original": False}),
    ]  # fmt: skip
    assert not tell(redis_client, "chat:1")  # told once: the address is gone
    assert redis_client.get("togglbridge:reply:chat:1") is None

    keep(redis_client, "chat:2", ReplyChannel("mattermost", url=f"{url}/mattermost/2"))
    stop = action("stop", identity, "chat:2", T0 + timedelta(minutes=65), follow_up=True)
    planned(redis_client, identity, stop)
    assert executor.drain(identity).follow_ups == ["chat:2"]
    done = Ledger(redis_client).done(
        stop.key
    )  # the stop's outcome says what it stopped: the story reads it there
    assert done is not None and done["entry"]["description"] == "Write report"
    assert tell(redis_client, "chat:2")
    assert chat.calls[-1] == (
        "POST", "/mattermost/2", {"response_type": "ephemeral", "text": "Stopped “Write report” #writing after 1h 05m."}
    )  # fmt: skip


def test_a_status_report_and_discords_webhook(
    executor: Executor, redis_client: redis.Redis, identity: str, recorder: tuple[Recorder, str]
) -> None:
    chat, url = recorder
    enqueue(redis_client, action("start", identity, "chat:a", T0, description="Deep work"))
    executor.drain(identity)
    keep(redis_client, "chat:b", ReplyChannel("discord", token="tok-en", application_id="42"))
    status = action(
        "report",
        identity,
        "chat:b",
        T0 + timedelta(minutes=5),
        report="status",
        since=T0 - timedelta(hours=9),
        follow_up=True,
    )
    planned(redis_client, identity, status)
    executor.drain(identity)
    assert tell(redis_client, "chat:b", discord=f"{url}/api/v10")
    ((method, path, body),) = chat.calls
    assert (method, path) == ("PATCH", "/api/v10/webhooks/42/tok-en/messages/@original")
    assert body["content"].startswith("Running: “Deep work” for ") and "Today: " in body["content"]


def test_a_stranger_is_told_how_to_be_added_and_toggl_sees_nothing(
    redis_client: redis.Redis, recorder: tuple[Recorder, str]
) -> None:
    chat, url = recorder
    config = parse_config("identities:\n  alice: {slack: [U1]}\n  bob: {slack: [U2]}\nrules: []\n")
    event = Event(
        id="slack:cmd:1", source="slack", kind="chat.command", occurred_at=T0, actor="U999",
        data={"verb": "start", "description": "x", "tags": [], "text": "start x"},
    )  # fmt: skip
    journal = Journal(redis_client, cap=1000)
    from togglbridge.store.enqueue import EventQueue
    from workers.app import app

    EventQueue(redis_client, app, task="t", queue="q", journal_cap=100).accept_sync("slack", "d1", [event])
    keep(redis_client, event.id, ReplyChannel("slack", url=f"{url}/r"))
    answered: list[str] = []
    assert dispatch(redis_client, journal, config, [event], answered=answered) == set()
    assert answered == [event.id]
    assert tell(redis_client, event.id)
    text = chat.calls[0][2]["text"]
    assert "I don't know you yet" in text and "`slack: [U999]`" in text


def test_a_wait_for_the_quota_is_told_and_the_story_goes_on(
    executor: Executor, redis_client: redis.Redis, identity: str, sim: Any, recorder: tuple[Recorder, str]
) -> None:
    chat, url = recorder
    sim.knobs.quota_per_hour = 0  # every request now answers 402: the hour's quota is spent
    keep(redis_client, "chat:q", ReplyChannel("slack", url=f"{url}/q"))
    planned(
        redis_client, identity, action("start", identity, "chat:q", T0, description="Plan", follow_up=True)
    )
    report = executor.drain(identity)
    assert report.status == "parked" and report.follow_ups == ["chat:q"]
    assert tell(redis_client, "chat:q")
    assert chat.calls[-1][2]["text"].startswith("Toggl's hourly quota is spent: this waits ")
    assert redis_client.get("togglbridge:reply:chat:q") is not None  # the story goes on: the address stays


def test_a_refusal_is_told_with_toggls_message(
    executor: Executor, redis_client: redis.Redis, identity: str, recorder: tuple[Recorder, str]
) -> None:
    chat, url = recorder
    keep(redis_client, "chat:r", ReplyChannel("slack", url=f"{url}/r"))
    refused = action(
        "log", identity, "chat:r", T0, description="x", duration_seconds=60, project=10**12, follow_up=True
    )
    planned(redis_client, identity, refused)
    assert executor.drain(identity).dead == 1
    assert tell(redis_client, "chat:r")
    text = chat.calls[-1][2]["text"]
    assert text.startswith("Toggl refused it: ") and text.endswith("Nothing was changed.")
