"""Every request to a source endpoint leaves a record in the deliveries log, whatever we answered, and the log
never holds a body, a signature or a secret."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import redis.asyncio
from fastapi.testclient import TestClient

from tests.test_receiver import GITHUB_SECRET, PING, PUSH, WEBHOOK_SECRET, github_headers, make_client
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.status import collect_status
from togglbridge.store import keys, text
from togglbridge.store.deliveries import DeliveryRecorder, counts_since, delivery_record


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as test_client:
        yield test_client


def deliveries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/deliveries", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["deliveries"])


def test_a_delivery_with_a_wrong_signature_is_in_the_log(client: TestClient) -> None:
    forged = github_headers(PUSH, delivery="forged-1") | {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert client.post("/hooks/github", content=PUSH, headers=forged).status_code == 401
    (record,) = deliveries(client)
    assert record["source"] == "github" and record["delivery_id"] == "forged-1"
    assert record["status"] == 401 and "does not match" in record["reason"]
    assert record["events"] == []
    assert datetime.fromisoformat(record["at"]).tzinfo is not None


def test_every_answer_is_recorded_newest_first(redis_url: str, client: TestClient) -> None:
    client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH, delivery="a"))  # 202
    client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH, delivery="a"))  # 200 duplicate
    client.post("/hooks/github", content=PING, headers=github_headers(PING, delivery="p", event="ping"))
    client.post("/hooks/github", content=PING, headers=github_headers(PING, delivery="i", event="issues"))
    client.post("/hooks/github", content=b"{not json", headers=github_headers(b"{not json", delivery="b"))
    form = github_headers(PUSH, delivery="f") | {"Content-Type": "application/x-www-form-urlencoded"}
    client.post("/hooks/github", content=PUSH, headers=form)
    client.post("/hooks/jira", content=b"{}", headers={"Content-Type": "application/json"})
    with make_client(redis_url, SourceSecrets.of(generic=WEBHOOK_SECRET)) as disabled:
        disabled.post("/hooks/github", content=PUSH, headers=github_headers(PUSH, delivery="off"))
    with make_client(redis_url, max_body_bytes=100) as small:
        small.post("/hooks/github", content=PUSH, headers=github_headers(PUSH, delivery="big"))

    found = [(d["delivery_id"], d["status"], d["reason"]) for d in deliveries(client)]
    assert [(i, s) for i, s, _ in found] == [
        ("big", 413), ("off", 404), (None, 404), ("f", 415), ("b", 400), ("i", 200), ("p", 200), ("a", 200),
        ("a", 202),
    ]  # fmt: skip
    reasons = {s_id: reason for s_id, _, reason in found}
    assert reasons["a"] == "accepted 3 events"  # the first, oldest "a"
    assert [r for i, _, r in found if i == "a"] == ["duplicate", "accepted 3 events"]
    assert reasons["p"] == "no events" and reasons["i"] == "no events"
    assert "TOGGLBRIDGE_GITHUB_SECRET" in reasons["off"] and "known sources" in found[2][2]
    accepted = deliveries(client, status=202)
    assert len(accepted) == 1 and len(accepted[0]["events"]) == 3
    assert {d["status"] for d in deliveries(client, status="4xx")} == {400, 404, 413, 415}
    assert [d["source"] for d in deliveries(client, source="jira")] == ["jira"]
    assert len(deliveries(client, limit=2)) == 2

    counts = collect_status(redis.Redis.from_url(redis_url))["deliveries"]
    assert counts["by_status"] == {"200": 3, "202": 1, "400": 1, "404": 2, "413": 1, "415": 1}
    assert "last hour" in counts["window"]


def test_a_bad_status_filter_is_a_400(client: TestClient) -> None:
    response = client.get("/api/deliveries", params={"status": "bogus"})
    assert response.status_code == 400 and "4xx" in response.json()["error"]


def test_no_body_signature_or_secret_in_the_log(client: TestClient, redis_client: redis.Redis) -> None:
    headers = github_headers(PUSH, delivery="x" * 5000)
    client.post("/hooks/github", content=PUSH, headers=headers)
    client.post(
        "/hooks/github", content=PUSH, headers=headers | {"X-Hub-Signature-256": "sha256=" + "1" * 64}
    )
    client.get("/api/deliveries")
    stored = " ".join(text(r) for r in redis_client.lrange(keys.DELIVERIES, 0, -1))
    signature = headers["X-Hub-Signature-256"]
    for secret in (GITHUB_SECRET, signature, "1" * 64, "refs/heads/main", "pusher"):
        assert secret not in stored
    assert all(len(json.loads(r)["delivery_id"]) <= 200 for r in redis_client.lrange(keys.DELIVERIES, 0, -1))


def test_the_log_is_capped(redis_client: redis.Redis, redis_url: str) -> None:
    async def write() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        recorder = DeliveryRecorder(client, kept=5)
        for i in range(12):
            recorder.add(delivery_record("github", f"d-{i}", 202, "accepted 1 event", ["e"]))
            if i % 4 == 0:
                await asyncio.sleep(0)
        await recorder.flush()
        await client.aclose()

    asyncio.run(write())
    kept = [json.loads(r)["delivery_id"] for r in redis_client.lrange(keys.DELIVERIES, 0, -1)]
    assert kept == ["d-11", "d-10", "d-9", "d-8", "d-7"]


def test_counts_cover_the_last_hour_only() -> None:
    now = datetime.now(UTC)
    records = [
        json.dumps({"at": (now - timedelta(minutes=minutes)).isoformat(), "status": status})
        for minutes, status in [(1, 202), (5, 401), (30, 202), (61, 500), (90, 202)]
    ]
    assert counts_since(records, now - timedelta(hours=1)) == {"202": 2, "401": 1}


def stored_now(redis_client: redis.Redis) -> list[dict[str, Any]]:
    """The log as Redis holds it, without asking the receiver to flush first."""
    return [json.loads(r) for r in redis_client.lrange(keys.DELIVERIES, 0, -1)]


def test_the_accept_script_records_what_reaches_it_in_its_own_round_trip(
    client: TestClient, redis_client: redis.Redis
) -> None:
    headers = github_headers(PUSH, delivery="scripted-1")
    assert client.post("/hooks/github", content=PUSH, headers=headers).status_code == 202
    (accepted,) = stored_now(redis_client)  # already there: no background write to wait for
    assert accepted["status"] == 202 and accepted["delivery_id"] == "scripted-1"
    assert accepted["reason"] == "accepted 3 events" and len(accepted["events"]) == 3
    assert client.post("/hooks/github", content=PUSH, headers=headers).status_code == 200
    ping = github_headers(PING, delivery="scripted-2", event="ping")
    assert client.post("/hooks/github", content=PING, headers=ping).status_code == 200
    newest = stored_now(redis_client)
    assert [(r["status"], r["reason"], r["events"]) for r in newest[:2]] == [
        (200, "no events", []),
        (200, "duplicate", []),
    ]
    counts = {text(k): float(v) for k, v in redis_client.hgetall(keys.metric("deliveries")).items()}
    assert counts == {'["github","202"]': 1.0, '["github","200"]': 2.0}


def test_a_refused_delivery_is_recorded_in_the_background(
    client: TestClient, redis_client: redis.Redis
) -> None:
    headers = github_headers(PUSH, delivery="refused-1") | {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert client.post("/hooks/github", content=PUSH, headers=headers).status_code == 401
    assert [r["status"] for r in deliveries(client)] == [401]  # the reader flushes the background batch first
    assert [r["status"] for r in stored_now(redis_client)] == [401]
