"""The hooks are served as plain ASGI ahead of FastAPI (``Receiver.__call__``): which requests take that path, that
the documented FastAPI route answers exactly as it does, and that a failure inside is a plain 500 that is logged
and recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
import redis.asyncio
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.test_receiver import PING, PUSH, github_headers, make_client
from togglbridge.api import hooks
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.store import deliveries
from togglbridge.store.deliveries import DeliveryRecorder
from togglbridge.store.enqueue import EventQueue
from workers.app import app as celery_app


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as test_client:
        yield test_client


def scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": []}


@pytest.mark.parametrize(
    ("method", "path", "root_path", "source"),
    [
        ("POST", "/hooks/github", "", "github"),
        ("POST", "/hooks/no-such-source", "", "no-such-source"),
        ("POST", "/prefix/hooks/github", "/prefix", "github"),
        ("GET", "/hooks/github", "", None),  # FastAPI answers 405
        ("POST", "/hooks/", "", None),
        ("POST", "/hooks/github/extra", "", None),
        ("POST", "/hooksgithub", "", None),
        ("POST", "/api/journal", "", None),
    ],
)
def test_only_a_post_to_one_hook_takes_the_plain_path(
    method: str, path: str, root_path: str, source: str | None
) -> None:
    assert hooks.hook_source(scope(method, path, root_path)) == source


def test_other_requests_still_go_through_fastapi(client: TestClient) -> None:
    assert client.get("/hooks/github").status_code == 405
    assert client.post("/hooks/github/extra", content=b"{}").status_code == 404
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (PUSH, github_headers(PUSH, delivery="route-1"), 202),
        (PING, github_headers(PING, delivery="route-2", event="ping"), 200),
        (
            PUSH,
            {**github_headers(PUSH, delivery="route-3"), "X-Hub-Signature-256": "sha256=" + "0" * 64},
            401,
        ),
        (b"{", github_headers(b"{", delivery="route-4"), 400),
        (PUSH, {**github_headers(PUSH, delivery="route-5"), "Content-Type": "text/plain"}, 415),
    ],
)
def test_the_documented_route_answers_as_the_plain_path_does(
    client: TestClient, redis_client: redis.Redis, body: bytes, headers: dict[str, str], status: int
) -> None:
    plain = client.post("/hooks/github", content=body, headers=headers)
    redis_client.delete(*redis_client.keys("togglbridge:seen:*") or ["-"])  # so the route's is no duplicate
    via_route = _call_route(client, body, headers)
    assert plain.status_code == via_route.status_code == status
    assert plain.headers["content-type"] == via_route.headers["content-type"] == "application/json"
    assert plain.json() == via_route.json()


def _call_route(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    """One request through the documented route, in a plain FastAPI app (no plain path) holding the receiver's
    settings and secrets, and Redis clients of its own (a client belongs to the event loop that made it)."""
    receiver: Any = client.app

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = receiver.state.settings
        app.state.secrets = receiver.state.secrets
        app.state.redis = redis.asyncio.Redis.from_url(receiver.state.settings.redis_url)
        app.state.event_queue = EventQueue(
            app.state.redis, celery_app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=1000
        )
        app.state.deliveries = DeliveryRecorder(app.state.redis)
        yield
        await app.state.deliveries.flush()
        await app.state.redis.aclose()

    plain_fastapi = FastAPI(lifespan=lifespan)
    plain_fastapi.include_router(hooks.router)
    with TestClient(plain_fastapi) as direct:
        return direct.post("/hooks/github", content=body, headers=headers)


def test_a_failure_inside_is_a_plain_500_logged_and_recorded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("a bug, not the sender's fault")

    monkeypatch.setattr(hooks, "_keep_reply_channel", broken)
    response = client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH, delivery="boom"))
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "the github hook failed" in caplog.text
    records = client.get("/api/deliveries").json()["deliveries"]
    assert records[0]["status"] == 500 and records[0]["reason"] == "internal error"
    assert deliveries.DELIVERIES_KEY  # the log the record went to


def test_a_chunked_body_is_read_whole_and_capped(redis_url: str) -> None:
    with make_client(redis_url, max_body_bytes=len(PUSH) - 1) as capped:
        chunks = iter([PUSH[:100], PUSH[100:]])
        response = capped.post(
            "/hooks/github", content=chunks, headers=github_headers(PUSH, delivery="chunked")
        )
        assert response.status_code == 413
    with make_client(redis_url) as whole:
        chunks = iter([PUSH[:100], PUSH[100:]])
        response = whole.post(
            "/hooks/github", content=chunks, headers=github_headers(PUSH, delivery="chunked")
        )
        assert response.status_code == 202
