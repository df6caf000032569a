"""The receiver's answers for good and bad input, against a real Redis: bad input changes nothing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from tests.access_support import DASHBOARD_TOKEN, OPERATOR_HEADERS
from togglbridge.api.factory import build_receiver
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.settings import Settings
from togglbridge.sources import generic
from togglbridge.sources.github_payloads import delivery_headers
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys, text
from workers.app import app, configure

GITHUB_SECRET = "receiver-test-secret"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"receiver-generic-secret-0123456").decode()
PUSH = (Path(__file__).parent / "fixtures" / "github" / "push__main.json").read_bytes()
PING = (Path(__file__).parent / "fixtures" / "github" / "ping__default.json").read_bytes()


def make_client(redis_url: str, secrets: SourceSecrets | None = None, **settings: object) -> TestClient:
    """The receiver with both sources enabled (or the ``secrets`` given)."""
    given = secrets if secrets is not None else SourceSecrets.of(github=GITHUB_SECRET, generic=WEBHOOK_SECRET)
    built = Settings(_env_file=None, redis_url=redis_url, **({"dashboard_token": DASHBOARD_TOKEN} | settings))  # type: ignore[arg-type]
    return TestClient(build_receiver(built, redis_url, given), headers=OPERATOR_HEADERS)


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as test_client:
        yield test_client


def github_headers(body: bytes, delivery: str = "d-1", event: str = "push") -> dict[str, str]:
    return delivery_headers(body, GITHUB_SECRET, event=event, delivery=delivery)


def untouched(redis_client: redis.Redis) -> bool:
    """Nothing queued, journalled or marked as seen: only the deliveries log and its counts, which record every
    request."""
    return {text(k) for k in redis_client.keys("*")} <= {keys.DELIVERIES, keys.metric("deliveries")}


def queued(redis_client: redis.Redis) -> list[dict[str, Any]]:
    """The events in the Celery messages waiting on the ingest queue."""
    events = []
    for raw in redis_client.lrange(QUEUE_INGEST, 0, -1):
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        events.extend(body[0][0])
    return events


def test_a_signed_push_is_accepted_and_queued(client: TestClient, redis_client: redis.Redis) -> None:
    response = client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    events = queued(redis_client)
    assert [e["kind"] for e in events] == ["git.push", "git.commit", "git.commit"]
    assert redis_client.llen(keys.JOURNAL_INDEX) == 3


def test_a_redelivery_answers_200_and_enqueues_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    assert client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH)).status_code == 202
    again = client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert redis_client.llen(QUEUE_INGEST) == 1


def test_a_ping_is_answered_without_events(client: TestClient, redis_client: redis.Redis) -> None:
    response = client.post("/hooks/github", content=PING, headers=github_headers(PING, event="ping"))
    assert response.status_code == 200 and response.json()["status"] == "no events"
    assert redis_client.llen(QUEUE_INGEST) == 0


@pytest.mark.parametrize(
    ("headers_change", "body", "status", "says"),
    [
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, PUSH, 401, "does not match"),
        ({"X-Hub-Signature-256": ""}, PUSH, 401, "missing X-Hub-Signature-256"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, PUSH, 415, "application/json"),
        ({}, b"{not json", 400, "not valid JSON"),
        ({}, b'{"ref": "refs/heads/main"}', 400, "missing field 'repository'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient,
    redis_client: redis.Redis,
    headers_change: dict[str, str],
    body: bytes,
    status: int,
    says: str,
) -> None:
    headers = github_headers(body) | headers_change
    response = client.post("/hooks/github", content=body, headers=headers)
    assert response.status_code == status
    assert says in response.json()["error"]
    assert GITHUB_SECRET not in response.text
    assert untouched(redis_client)


def test_a_refused_delivery_can_be_sent_again_once_fixed(
    client: TestClient, redis_client: redis.Redis
) -> None:
    bad = github_headers(PUSH) | {"X-Hub-Signature-256": "sha256=" + "1" * 64}
    assert client.post("/hooks/github", content=PUSH, headers=bad).status_code == 401
    assert client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH)).status_code == 202


def test_an_oversized_body_is_413(redis_url: str, redis_client: redis.Redis) -> None:
    with make_client(redis_url, max_body_bytes=1000) as small:
        response = small.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
        assert response.status_code == 413 and "TOGGLBRIDGE_MAX_BODY_BYTES" in response.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming too
            yield PUSH[:800]
            yield PUSH[800:]

        streamed = small.post("/hooks/github", content=chunks(), headers=github_headers(PUSH))
        assert streamed.status_code == 413
    assert untouched(redis_client)


def test_an_unknown_source_is_404_naming_the_known_ones(client: TestClient) -> None:
    response = client.post("/hooks/jira", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 404 and "github" in response.json()["error"]


def test_a_source_without_its_secret_is_404_naming_the_variable(redis_url: str) -> None:
    with make_client(redis_url, SourceSecrets.of(generic=WEBHOOK_SECRET)) as disabled:
        response = disabled.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
    assert response.status_code == 404
    assert "TOGGLBRIDGE_GITHUB_SECRET" in response.json()["error"]


def signed_generic(body: bytes, msg_id: str = "msg_1", at: float | None = None) -> dict[str, str]:
    stamp = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    return {"Content-Type": "application/json", **generic.SIGNATURE.sign(body, WEBHOOK_SECRET, msg_id, stamp)}


def test_a_generic_event_is_accepted(client: TestClient, redis_client: redis.Redis) -> None:
    body = b'{"kind": "build.finished", "actor": "alice@acme.io", "occurred_at": "2026-11-02T10:00:00Z"}'
    response = client.post("/hooks/generic", content=body, headers=signed_generic(body))
    assert response.status_code == 202
    assert queued(redis_client)[0]["id"] == "generic:msg_1"


def test_a_stale_generic_timestamp_is_401(client: TestClient, redis_client: redis.Redis) -> None:
    body = b'{"kind": "build.finished", "actor": "a", "occurred_at": "2026-11-02T10:00:00Z"}'
    response = client.post("/hooks/generic", content=body, headers=signed_generic(body, at=time.time() - 600))
    assert response.status_code == 401 and "too old" in response.json()["error"]
    assert untouched(redis_client)


def test_a_generic_event_missing_a_field_is_400_saying_which(client: TestClient) -> None:
    body = b'{"kind": "build.finished", "actor": "a"}'
    response = client.post("/hooks/generic", content=body, headers=signed_generic(body))
    assert response.status_code == 400 and response.json()["error"] == "missing field: occurred_at"


def test_health_readiness_journal_status_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
    journal = client.get("/api/journal", params={"limit": 2}).json()["events"]
    assert len(journal) == 2 and journal[0]["outcome"] == "queued"
    assert client.get("/api/status").json()["queues"][QUEUE_INGEST] == 1
    assert "/hooks/{source}" in client.get("/openapi.json").json()["paths"]


def test_readiness_fails_when_redis_does_not_answer() -> None:
    from togglbridge.store.redis_server import free_port

    with make_client(f"redis://127.0.0.1:{free_port()}/0") as orphan:
        assert orphan.get("/readyz").status_code == 503
        assert orphan.get("/healthz").status_code == 200
        response = orphan.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
        assert response.status_code == 503  # the sender retries; nothing was lost


def test_an_accepted_message_lost_before_planning_is_queued_again(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """kombu takes a message off the queue before recording it as taken: a worker killed in between would lose
    it. The accept script keeps a copy until planning is done; the beat's tick puts stale copies back."""
    from togglbridge.config import parse_config
    from togglbridge.dispatch import dispatch
    from togglbridge.events import Event
    from togglbridge.store.enqueue import EventQueue, requeue_unplanned
    from togglbridge.store.journal import Journal

    configure(app, redis_url)
    queue = EventQueue(redis_client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=100)
    body = b'{"kind": "a.b", "actor": "x", "occurred_at": "2026-11-02T10:00:00Z"}'
    event = Event.model_validate({"id": "generic:1", "source": "generic", **json.loads(body)})
    queue.accept_sync("generic", "1", [event])
    redis_client.lpush(QUEUE_INGEST, "another message, still waiting")
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=0) == 0  # the queue is not empty
    taken = redis_client.rpop(QUEUE_INGEST)  # a worker took ours (queued first) ... and died
    redis_client.rpop(QUEUE_INGEST)  # another worker took the other one and planned it
    assert taken is not None and taken != b"another message, still waiting"
    assert redis_client.llen(QUEUE_INGEST) == 0
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=60) == 0  # not stale yet
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=0) == 1
    assert redis_client.lindex(QUEUE_INGEST, 0) == taken
    message_id = json.loads(taken)["headers"]["id"]
    config = parse_config("identities:\n  x:\n    emails: [x]\n", "t.yaml")
    dispatch(redis_client, Journal(redis_client, cap=100), config, [event], message_id=message_id)
    assert requeue_unplanned(redis_client, QUEUE_INGEST, older_than=0) == 0  # planned: the copy is gone
