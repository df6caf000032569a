"""The whole pipeline for real: signed HTTP deliveries -> receiver -> Redis -> Celery worker processes -> the
simulator over HTTP, with a beat process ticking. Nothing is mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from togglbridge.api.app import create_app
from togglbridge.serving import serve_in_thread
from togglbridge.settings import Settings
from togglbridge.status import collect_status
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.redis_server import RedisServer
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import QUEUE_INGEST, app, configure

pytestmark = pytest.mark.integration

GITHUB_SECRET = "pipeline-test-secret"
ROOT = Path(__file__).resolve().parent.parent

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


@dataclass
class Pipeline:
    url: str
    sim: Simulator
    sim_url: str
    redis: redis.Redis
    worker: subprocess.Popen[bytes]
    identities: list[str]


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "the pipeline") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not finish within {timeout:g} s")


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    identities = [f"user{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    config_dir = tmp_path_factory.mktemp("pipeline")
    config_file = config_dir / "togglbridge.yaml"
    config_file.write_text(rule_file(identities))
    sim = Simulator()
    with serve_simulator(sim) as sim_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
        env |= {
            "TOGGLBRIDGE_REDIS_URL": redis_server.url,
            "TOGGLBRIDGE_SIMULATOR_URL": sim_url,
            "TOGGLBRIDGE_CONFIG_FILE": str(config_file),
            "TOGGLBRIDGE_LOG_LEVEL": "WARNING",
            "TOGGLBRIDGE_DATA_DIR": str(config_dir / "data"),
            # A killed worker's lock lapses sooner, so the test need not wait a minute for it.
            "TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS": "4",
            "TOGGLBRIDGE_DRAIN_LOCK_SECONDS": "8",
        }
        command = [sys.executable, "-m", "togglbridge.cli"]
        worker = subprocess.Popen([*command, "worker", "--concurrency", "2"], env=env, cwd=ROOT)
        beat = subprocess.Popen([*command, "beat"], env=env, cwd=config_dir)
        time.sleep(1)
        assert worker.poll() is None and beat.poll() is None, "the worker or beat did not start"
        settings = Settings(_env_file=None, github_secret=GITHUB_SECRET, redis_url=redis_server.url)
        configure(app, redis_server.url)
        receiver = create_app(
            settings,
            redis_url=redis_server.url,
            celery_app=app,
            ingest_task="togglbridge.plan_events",
            ingest_queue=QUEUE_INGEST,
        )
        try:
            with serve_in_thread(receiver, lifespan="on", name="receiver") as url:
                yield Pipeline(url, sim, sim_url, client, worker, identities)
        finally:
            for process in (worker, beat):
                process.send_signal(signal.SIGTERM)
            for process in (worker, beat):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            client.close()


def push(identity: str, commits: int, *, repo: str = "acme/webapp", start_minute: int = 0) -> bytes:
    listed = [
        {
            "id": hashlib.sha1(
                f"{identity}{repo}{start_minute}{i}".encode(), usedforsecurity=False
            ).hexdigest(),
            "distinct": True,
            "message": f"Commit {i}\n\nbody",
            "timestamp": f"2026-11-02T{9 + (start_minute + i * 7) // 60:02}:{(start_minute + i * 7) % 60:02}:00Z",
            "author": {"name": identity, "email": f"{identity}@acme.io", "username": identity},
            "added": [],
            "removed": [],
            "modified": ["a.py"],
        }
        for i in range(commits)
    ]
    payload = {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": listed[-1]["id"] if listed else "1" * 40,
        "repository": {
            "full_name": repo,
            "name": repo.split("/")[1],
            "html_url": f"https://github.com/{repo}",
        },
        "pusher": {"name": identity, "email": f"{identity}@acme.io"},
        "commits": listed,
        "head_commit": listed[-1] if listed else None,
    }
    return json.dumps(payload).encode()


def send(pipeline: Pipeline, body: bytes, delivery: str | None = None) -> httpx.Response:
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
    }
    return httpx.post(f"{pipeline.url}/hooks/github", content=body, headers=headers, timeout=10)


def entries_of(pipeline: Pipeline, identity: str) -> list[dict[str, Any]]:
    user = pipeline.sim.user_for(api_key="simulator", connection=identity)
    with pipeline.sim.lock:
        return [
            {
                "description": e.description,
                "duration": e.duration,
                "start": e.start,
                "project_id": e.project_id,
            }
            for e in pipeline.sim.state.entries.values()
            if e.user_id == user.id and not e.deleted
        ]


def test_a_signed_push_becomes_entries_with_its_fate_in_the_journal(pipeline: Pipeline) -> None:
    identity = pipeline.identities[0]
    response = send(pipeline, push(identity, 2))
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3  # the push and its two commits
    entries = wait_for(lambda: len(entries_of(pipeline, identity)) == 2 and entries_of(pipeline, identity))
    assert sorted(e["description"] for e in entries) == ["webapp: Commit 0", "webapp: Commit 1"]
    assert {e["duration"] for e in entries} == {600}

    journal = httpx.get(f"{pipeline.url}/api/journal", params={"limit": 10}).json()["events"]
    commits = [e for e in journal if e["event_id"].startswith("git:acme/webapp:")]
    assert commits and all(e["outcome"] == "applied" for e in commits[:2])
    stages = [r["stage"] for r in commits[0]["records"]]
    assert stages[:2] == ["received", "planned"] and "applied" in stages
    applied = next(r for r in commits[0]["records"] if r["stage"] == "applied")
    assert applied["requests"][-1]["method"] == "POST" and applied["requests"][-1]["status"] == 200


def test_the_same_delivery_twice_gives_one_set_of_entries(pipeline: Pipeline) -> None:
    identity = pipeline.identities[1]
    body = push(identity, 2)
    first = send(pipeline, body, delivery="delivery-twice")
    again = send(pipeline, body, delivery="delivery-twice")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    other_delivery_same_commits = send(pipeline, body)
    assert other_delivery_same_commits.status_code == 202
    wait_for(lambda: len(entries_of(pipeline, identity)) >= 2)
    time.sleep(2)  # give a duplicate every chance to appear
    assert len(entries_of(pipeline, identity)) == 2


def test_a_worker_process_killed_mid_task_is_replaced_without_a_duplicate(pipeline: Pipeline) -> None:
    identity = pipeline.identities[2]
    pipeline.sim.knobs.latency_ms = 1500
    try:
        assert send(pipeline, push(identity, 3)).status_code == 202
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


def _busy_children(pipeline: Pipeline) -> list[psutil.Process]:
    children: list[psutil.Process] = psutil.Process(pipeline.worker.pid).children(recursive=True)
    return children


def test_injected_server_errors_and_rate_limits_still_complete(pipeline: Pipeline) -> None:
    identity = pipeline.identities[3]
    pipeline.sim.knobs.error_rate = 0.3
    pipeline.sim.knobs.rate_limit = 20.0
    pipeline.sim.knobs.bucket_capacity = 2
    try:
        assert send(pipeline, push(identity, 5)).status_code == 202
        wait_for(lambda: len(entries_of(pipeline, identity)) >= 5, timeout=120, what="work under faults")
    finally:
        pipeline.sim.knobs.error_rate = 0.0
        pipeline.sim.knobs.rate_limit = None
    assert len(entries_of(pipeline, identity)) == 5


def test_an_exhausted_quota_parks_the_work_then_completes_after_the_reset(pipeline: Pipeline) -> None:
    identity = pipeline.identities[4]
    pipeline.sim.knobs.quota_per_hour = 3
    try:
        assert send(pipeline, push(identity, 1)).status_code == 202  # /me and one create: 2 of 3
        wait_for(lambda: len(entries_of(pipeline, identity)) == 1)
        pipeline.sim.clock.advance(3600 - 4)  # those two leave the hour's window in 4 s
        assert send(pipeline, push(identity, 3, start_minute=30)).status_code == 202
        wait_for(lambda: collect_status(pipeline.redis)["parked"], timeout=30, what="parking")
        parked = collect_status(pipeline.redis)["parked"]
        assert any(p["identity"] == identity and p["resumes_in_seconds"] <= 5 for p in parked)
        try:
            wait_for(
                lambda: len(entries_of(pipeline, identity)) >= 4, timeout=90, what="work after the reset"
            )
        except AssertionError:
            print(json.dumps(collect_status(pipeline.redis), indent=1))
            for event in httpx.get(f"{pipeline.url}/api/journal", params={"limit": 8}).json()["events"]:
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
    assert send(pipeline, push(identity, 1, repo="acme/broken")).status_code == 202
    letters = wait_for(
        lambda: [d for d in DeadLetters(pipeline.redis).all() if d["identity"] == identity],
        what="a dead letter",
    )
    assert letters[0]["status"] == 400
    assert "999999" in letters[0]["message"]
    journal = httpx.get(f"{pipeline.url}/api/journal", params={"limit": 50}).json()["events"]
    failed = [e for e in journal if e["event_id"] == letters[0]["event_id"]]
    assert failed and failed[0]["outcome"] == "failed"
    assert collect_status(pipeline.redis)["dead_letters"]["count"] >= 1
