"""The whole pipeline for real: signed HTTP deliveries -> receiver -> Redis -> Celery worker processes -> the
simulator over HTTP, with a beat process ticking. Nothing is mocked."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.access_support import OPERATOR_HEADERS
from tests.pipeline_support import (
    Pipeline,
    entries_of,
    push_body,
    running_pipeline,
    send_push,
    wait_for,
)
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.sources import SOURCES
from togglbridge.status import collect_status
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.redis_server import RedisServer
from workers.app import app as celery_app

pytestmark = pytest.mark.integration

RULES = """
rules:
  - name: broken repo
    on: git.commit
    if: {repo.full_name: acme/broken}
    stop: true
    do:
      - log: {description: "{{ message | first_line }}", duration: 10m, project: 999999}
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m, tags: [code]}
"""


def rule_file(identities: list[str]) -> str:
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    return "defaults:\n  created_with: togglbridge-tests\nidentities:\n" + listed + RULES


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    identities = [f"user{i}-{uuid.uuid4().hex[:6]}" for i in range(8)]
    workdir = tmp_path_factory.mktemp("pipeline")
    # The limiter is off here so that the simulator's 429s are met and retried; test_limits_pipeline has it on.
    with running_pipeline(
        redis_server.url,
        rule_file(identities),
        workdir,
        identities,
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"},
    ) as running:
        yield running


def test_a_signed_push_becomes_entries_with_its_fate_in_the_journal(pipeline: Pipeline) -> None:
    identity = pipeline.identities[0]
    response = send_push(pipeline, push_body(identity, 2))
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3  # the push and its two commits
    entries = wait_for(lambda: len(entries_of(pipeline, identity)) == 2 and entries_of(pipeline, identity))
    assert sorted(e["description"] for e in entries) == ["webapp: Commit 0", "webapp: Commit 1"]
    assert {e["duration"] for e in entries} == {600}

    journal = httpx.get(f"{pipeline.url}/api/journal", headers=OPERATOR_HEADERS, params={"limit": 10}).json()[
        "events"
    ]
    commits = [e for e in journal if e["event_id"].startswith("git:acme/webapp:")]
    assert commits and all(e["outcome"] == "applied" for e in commits[:2])
    assert commits[0]["identity"] == identity and commits[0]["kind"] == "git.commit"
    assert "entry" in commits[0]["summary"]
    applied_only = httpx.get(
        f"{pipeline.url}/api/journal",
        params={"outcome": "applied", "identity": identity},
        headers=OPERATOR_HEADERS,
    )
    assert {e["event_id"] for e in applied_only.json()["events"]} == {e["event_id"] for e in commits}
    full = httpx.get(f"{pipeline.url}/api/journal/{commits[0]['event_id']}", headers=OPERATOR_HEADERS).json()
    stages = [r["stage"] for r in full["records"]]
    assert stages[:2] == ["received", "planned"] and "applied" in stages
    applied = next(r for r in full["records"] if r["stage"] == "applied")
    assert applied["requests"][-1]["method"] == "POST" and applied["requests"][-1]["status"] == 200


def test_the_same_delivery_twice_gives_one_set_of_entries(pipeline: Pipeline) -> None:
    identity = pipeline.identities[1]
    body = push_body(identity, 2)
    first = send_push(pipeline, body, delivery="delivery-twice")
    again = send_push(pipeline, body, delivery="delivery-twice")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    other_delivery_same_commits = send_push(pipeline, body)
    assert other_delivery_same_commits.status_code == 202
    wait_for(lambda: len(entries_of(pipeline, identity)) >= 2)
    time.sleep(2)  # give a duplicate every chance to appear
    assert len(entries_of(pipeline, identity)) == 2


def test_a_worker_process_killed_mid_task_is_replaced_without_a_duplicate(pipeline: Pipeline) -> None:
    identity = pipeline.identities[2]
    pipeline.sim.knobs.latency_ms = 1500
    try:
        assert send_push(pipeline, push_body(identity, 3)).status_code == 202
        wait_for(
            lambda: pipeline.sim.stats.total > 0 and _busy_children(pipeline),
            timeout=30,
            what="a busy worker",
        )
        time.sleep(0.5)  # the drain is now inside a Toggl call
        killed = _busy_children(pipeline)
        for child in killed:
            child.send_signal(signal.SIGKILL)
        assert killed
    finally:
        pipeline.sim.knobs.latency_ms = 0
    wait_for(lambda: len(entries_of(pipeline, identity)) >= 3, timeout=90, what="recovery after SIGKILL")
    time.sleep(2)
    assert len(entries_of(pipeline, identity)) == 3
    assert pipeline.worker.poll() is None  # the worker itself lives on, with new processes


def test_a_burst_queued_at_once_is_planned_in_batches_and_each_commit_applied_once(
    pipeline: Pipeline,
) -> None:
    """Deliveries that wait behind each other are taken by the planning tasks already running, several at a
    time (``store.waiting_plans``): every commit still becomes exactly one entry, and no safety copy is left."""
    burst, pushes = pipeline.identities[6:8], 40
    github = SOURCES["github"]
    pipe = pipeline.redis.pipeline(transaction=True)  # all queued at once: they wait behind each other
    queue = EventQueue(pipe, celery_app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=10_000)
    for n in range(pushes):
        body = push_body(burst[n % 2], 1, start_minute=8 * (n // 2))
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": f"burst-{n}",
            "Content-Type": "application/json",
        }
        queue.accept_sync("github", f"burst-{n}", github.parse(headers, body))
    pipe.execute()

    wait_for(lambda: all(len(entries_of(pipeline, name)) >= pushes // 2 for name in burst), what="the burst")
    time.sleep(2)  # give a duplicate every chance to appear
    for identity in burst:
        assert len(entries_of(pipeline, identity)) == pushes // 2
    assert pipeline.redis.hlen(keys.UNPLANNED_MESSAGES) == 0


def _busy_children(pipeline: Pipeline) -> list[psutil.Process]:
    children: list[psutil.Process] = psutil.Process(pipeline.worker.pid).children(recursive=True)
    return children


def test_injected_server_errors_and_rate_limits_still_complete(pipeline: Pipeline) -> None:
    identity = pipeline.identities[3]
    pipeline.sim.knobs.error_rate = 0.3
    pipeline.sim.knobs.rate_limit = 20.0
    pipeline.sim.knobs.bucket_capacity = 2
    try:
        assert send_push(pipeline, push_body(identity, 5)).status_code == 202
        wait_for(lambda: len(entries_of(pipeline, identity)) >= 5, timeout=120, what="work under faults")
    finally:
        pipeline.sim.knobs.error_rate = 0.0
        pipeline.sim.knobs.rate_limit = None
    assert len(entries_of(pipeline, identity)) == 5


def test_an_exhausted_quota_parks_the_work_then_completes_after_the_reset(pipeline: Pipeline) -> None:
    identity = pipeline.identities[4]
    pipeline.sim.knobs.quota_per_hour = 3
    try:
        assert send_push(pipeline, push_body(identity, 1)).status_code == 202  # /me and one create: 2 of 3
        wait_for(lambda: len(entries_of(pipeline, identity)) == 1)
        pipeline.sim.clock.advance(3600 - 4)  # those two leave the hour's window in 4 s
        assert send_push(pipeline, push_body(identity, 3, start_minute=30)).status_code == 202
        wait_for(lambda: collect_status(pipeline.redis)["parked"], timeout=30, what="parking")
        parked = collect_status(pipeline.redis)["parked"]
        assert any(p["identity"] == identity and p["resumes_in_seconds"] <= 5 for p in parked)
        try:
            wait_for(
                lambda: len(entries_of(pipeline, identity)) >= 4, timeout=90, what="work after the reset"
            )
        except AssertionError:
            print(json.dumps(collect_status(pipeline.redis), indent=1))
            journal = httpx.get(
                f"{pipeline.url}/api/journal",
                headers=OPERATOR_HEADERS,
                params={"limit": 8, "records": "true"},
            )
            for event in journal.json()["events"]:
                for r in event["records"]:
                    print(
                        event["event_id"][-8:],
                        r["stage"],
                        r.get("at"),
                        r.get("requests"),
                        r.get("resume_in"),
                        r.get("retry_in"),
                    )
            raise
    finally:
        pipeline.sim.knobs.quota_per_hour = None
    assert len(entries_of(pipeline, identity)) == 4


def test_a_toggl_400_lands_in_the_dead_letters_with_its_message(pipeline: Pipeline) -> None:
    identity = pipeline.identities[5]
    assert send_push(pipeline, push_body(identity, 1, repo="acme/broken")).status_code == 202
    letters = wait_for(
        lambda: [d for d in DeadLetters(pipeline.redis).all() if d["identity"] == identity],
        what="a dead letter",
    )
    assert letters[0]["status"] == 400
    assert "999999" in letters[0]["message"]
    journal = httpx.get(f"{pipeline.url}/api/journal", headers=OPERATOR_HEADERS, params={"limit": 50}).json()[
        "events"
    ]
    failed = [e for e in journal if e["event_id"] == letters[0]["event_id"]]
    assert failed and failed[0]["outcome"] == "failed"
    assert "999999" in failed[0]["summary"]  # Toggl's message, in the event's one line
    assert collect_status(pipeline.redis)["dead_letters"]["count"] >= 1
