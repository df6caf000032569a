"""The journal's API: events in brief, filtered and paged from their summaries; one event in full; ISO times;
a filter it does not know is a 400, never ignored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from tests.test_receiver import make_client
from togglbridge.events import Event
from togglbridge.queues import TASK_PLAN
from togglbridge.store import keys
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.journal import OUTCOMES, Journal, JournalFilter, outcome, record
from workers.app import QUEUE_INGEST, app


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as test_client:
        yield test_client


def receive(client: redis.Redis, event_id: str, *, source: str = "github", kind: str = "git.commit") -> None:
    event = Event(
        id=event_id,
        source=source,
        kind=kind,
        actor="alice@acme.io",
        occurred_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
    )
    queue = EventQueue(client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=10_000)
    queue.accept_sync(source, f"delivery-{event_id}", [event])


def plan(journal: Journal, event_id: str, identity: str | None, actions: int) -> None:
    listed = [{"key": f"{event_id}/a{i}", "type": "log", "rule": "commits"} for i in range(actions)]
    rules = [{"rule": "commits", "matched": True, "compared": {"repo": "acme/webapp"}}]
    journal.append(
        event_id, record("planned", identity=identity, rules=rules, actions=listed, errors=[], note=None)
    )


def apply(journal: Journal, event_id: str, index: int, entry_id: int) -> None:
    journal.append(
        event_id,
        record(
            "applied",
            action=f"{event_id}/a{index}",
            type="log",
            result="created",
            entry_id=entry_id,
            notes=[],
        ),
    )


def die(journal: Journal, event_id: str, index: int, message: str) -> None:
    journal.append(
        event_id, record("dead", action=f"{event_id}/a{index}", status=400, message=message, requests=[])
    )


@pytest.fixture
def journalled(redis_client: redis.Redis) -> Journal:
    """Six events, oldest first: applied, pending, failed, parked, no identity, queued (a generic one)."""
    journal = Journal(redis_client, cap=10_000)
    for name in ("applied", "pending", "failed", "parked", "nobody"):
        receive(redis_client, name)
    receive(redis_client, "queued", source="generic", kind="build.finished")
    plan(journal, "applied", "alice", 2)
    apply(journal, "applied", 0, 123)
    apply(journal, "applied", 1, 124)
    plan(journal, "pending", "bob", 1)
    plan(journal, "failed", "alice", 1)
    die(journal, "failed", 0, "project 999999 does not exist")
    plan(journal, "parked", "bob", 1)
    journal.append("parked", record("parked", action="parked/a0", reason="Toggl's hourly quota is spent"))
    plan(journal, "nobody", None, 0)
    return journal


def listed(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/journal", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def test_outcome_applied_returns_only_applied_events(client: TestClient, journalled: Journal) -> None:
    (applied,) = listed(client, outcome="applied")
    assert applied["event_id"] == "applied" and applied["identity"] == "alice" and applied["actions"] == 2
    assert applied["summary"] == "created entry 123; created entry 124"
    assert "records" not in applied and "rules" not in json.dumps(applied)


def test_every_outcome_and_filter(client: TestClient, journalled: Journal) -> None:
    outcomes = {e["event_id"]: e["outcome"] for e in listed(client)}
    assert outcomes == {
        "queued": "queued", "nobody": "no identity", "parked": "parked", "failed": "failed", "pending": "pending",
        "applied": "applied",
    }  # fmt: skip
    assert [e["event_id"] for e in listed(client)] == [
        "queued",
        "nobody",
        "parked",
        "failed",
        "pending",
        "applied",
    ]
    (failed,) = listed(client, outcome="failed")
    assert failed["summary"] == "failed: 400 project 999999 does not exist"
    assert [e["event_id"] for e in listed(client, identity="bob")] == ["parked", "pending"]
    assert [e["event_id"] for e in listed(client, source="generic")] == ["queued"]
    assert [e["event_id"] for e in listed(client, kind="build.finished")] == ["queued"]
    assert [e["event_id"] for e in listed(client, identity="alice", outcome="failed")] == ["failed"]
    assert listed(client, identity="nobody-at-all") == []


def test_since_takes_iso_or_unix_times(client: TestClient, journalled: Journal) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert len(listed(client, since=hour_ago.isoformat())) == 6
    assert len(listed(client, since=str(hour_ago.timestamp()))) == 6
    assert listed(client, since=str(time.time() + 60)) == []
    response = client.get("/api/journal", params={"since": "yesterday-ish"})
    assert response.status_code == 400 and "ISO 8601" in response.json()["error"]


def test_an_unknown_outcome_or_parameter_is_a_400_naming_what_is_allowed(client: TestClient) -> None:
    response = client.get("/api/journal", params={"outcome": "bogus"})
    assert response.status_code == 400
    assert response.json()["allowed_values"] == list(OUTCOMES)
    assert "applied" in response.json()["error"] and "bogus" in response.json()["error"]
    response = client.get("/api/journal", params={"outcom": "applied"})
    assert response.status_code == 400 and "outcome" in response.json()["allowed_parameters"]


def test_cursor_paging_walks_every_event_once(client: TestClient, journalled: Journal) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/journal", params=params).json()
        seen += [e["event_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["queued", "nobody", "parked", "failed", "pending", "applied"]
    exact = client.get("/api/journal", params={"limit": 6}).json()
    assert exact["next_cursor"] is None  # nothing more: no empty page to fetch
    filtered = client.get("/api/journal", params={"limit": 1, "identity": "bob"}).json()
    assert [e["event_id"] for e in filtered["events"]] == ["parked"] and filtered["next_cursor"] == "parked"
    after = client.get("/api/journal", params={"limit": 1, "identity": "bob", "cursor": "parked"}).json()
    assert [e["event_id"] for e in after["events"]] == ["pending"]
    assert client.get("/api/journal", params={"cursor": "trimmed-long-ago"}).json() == {
        "events": [],
        "next_cursor": None,
    }


def test_one_event_in_full_with_iso_times(client: TestClient, journalled: Journal) -> None:
    response = client.get("/api/journal/applied")
    assert response.status_code == 200
    event = response.json()
    assert event["outcome"] == "applied" and event["summary"] == "created entry 123; created entry 124"
    assert [r["stage"] for r in event["records"]] == ["received", "planned", "applied", "applied"]
    assert event["records"][1]["rules"][0]["compared"] == {"repo": "acme/webapp"}
    for moment in [event["received_at"], event["updated_at"]] + [r["at"] for r in event["records"]]:
        assert moment.endswith("Z") and "." in moment  # ISO 8601 UTC, milliseconds
        assert datetime.fromisoformat(moment).tzinfo is not None
    missing = client.get("/api/journal/no-such-event")
    assert missing.status_code == 404 and "no-such-event" in missing.json()["error"]


def test_event_ids_with_slashes_are_found(client: TestClient, redis_client: redis.Redis) -> None:
    receive(redis_client, "git:acme/webapp:abc")
    assert client.get("/api/journal/git:acme/webapp:abc").json()["outcome"] == "queued"


def test_trimmed_events_take_their_summaries_with_them(redis_client: redis.Redis) -> None:
    journal = Journal(redis_client, cap=2)
    queue = EventQueue(redis_client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=2)
    for name in ("one", "two", "three"):
        event = Event(id=name, source="github", kind="git.commit", actor="a", occurred_at=datetime.now(UTC))
        queue.accept_sync("github", name, [event])
        plan(journal, name, "alice", 1)
    assert not redis_client.exists(keys.journal("one"), keys.journal_summary("one"))
    plan(journal, "one", "alice", 1)  # a late record for a trimmed event does not bring it back
    assert not redis_client.exists(keys.journal("one"), keys.journal_summary("one"))
    assert [e["event_id"] for e in journal.recent(10)] == ["three", "two"]


def test_events_journalled_before_summaries_are_summarized_from_their_records(
    redis_client: redis.Redis,
) -> None:
    """Records written by an older version: ``at`` in unix seconds, and no summary hash."""
    old = [
        {"stage": "received", "at": 1764460800.5, "source": "github", "kind": "git.commit", "actor": "a"},
        {"stage": "planned", "at": 1764460801.0, "identity": "alice", "actions": [{"key": "k"}], "rules": []},
        {"stage": "applied", "at": 1764460802.0, "action": "k", "result": "created", "entry_id": 7},
    ]
    redis_client.lpush(keys.JOURNAL_INDEX, "old")
    redis_client.rpush(keys.journal("old"), *[json.dumps(r) for r in old])
    summary = Journal(redis_client, cap=10).summary("old")
    assert summary is not None
    assert (summary["outcome"], summary["summary"], summary["identity"]) == (
        "applied",
        "created entry 7",
        "alice",
    )
    assert summary["received_at"] == "2025-11-30T00:00:00.500Z"
    assert outcome(old) == "applied"


def test_an_applied_record_with_a_description_shows_it(redis_client: redis.Redis) -> None:
    journal = Journal(redis_client, cap=10)
    receive(redis_client, "e")
    plan(journal, "e", "alice", 1)
    journal.append(
        "e", record("applied", action="e/a0", result="created", entry_id=123, description="Write report")
    )
    summary = journal.summary("e")
    assert summary is not None and summary["summary"] == "created entry 123 'Write report'"


def test_a_filter_rejects_an_unknown_outcome() -> None:
    with pytest.raises(ValueError, match="no action"):
        JournalFilter(outcome="done")


def test_a_dead_action_retried_with_success_is_no_longer_a_failure(journalled: Journal) -> None:
    assert journalled.summary("failed")["outcome"] == "failed"  # type: ignore[index]
    apply(journalled, "failed", 0, 125)  # the dead letter, retried once its cause was fixed
    summary = journalled.summary("failed")
    assert summary is not None and summary["outcome"] == "applied"
    assert summary["summary"] == "created entry 125"
    die(journalled, "failed", 0, "refused again")
    assert journalled.summary("failed")["outcome"] == "failed"  # type: ignore[index]
