"""``togglbridge status`` and ``GET /api/status``: the beat's last tick, the simulator, deliveries and workers.

Workers answering a ping and a real tick are checked with a running pipeline in test_journal_follow.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.test_receiver import PUSH, github_headers, make_client
from togglbridge.cli import main as cli
from togglbridge.cli.status import render_status
from togglbridge.status import collect_status, ping_workers
from togglbridge.store import keys
from togglbridge.store.journal import iso_now
from workers.app import app, configure


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    with make_client(redis_url) as test_client:
        yield test_client


def test_status_shows_the_last_tick_the_simulator_and_the_deliveries(
    client: TestClient, redis_client: redis.Redis
) -> None:
    assert collect_status(redis_client)["last_tick"] is None
    redis_client.set(keys.LAST_TICK, iso_now())
    redis_client.set(keys.SIMULATOR_URL, "http://127.0.0.1:5555")
    client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH))
    client.post("/hooks/github", content=PUSH, headers=github_headers(PUSH) | {"X-Hub-Signature-256": "x"})
    client.get("/api/deliveries")  # the receiver's records are written

    snapshot = client.get("/api/status").json()
    assert snapshot["last_tick"]["seconds_ago"] < 60
    assert snapshot["simulator_url"] == "http://127.0.0.1:5555"
    assert snapshot["deliveries"]["by_status"] == {"202": 1, "401": 1}
    assert snapshot["workers"] is None  # not asked: a ping waits its whole timeout

    from rich.console import Console

    console = Console(record=True, width=120)
    render_status(snapshot | {"workers": {"answering": 0, "names": []}}, console)
    shown = console.export_text()
    assert "Simulator: http://127.0.0.1:5555" in shown and "Beat: last tick at" in shown
    assert "202: 1, 401: 1" in shown and "Workers: none answered" in shown


def test_a_ping_without_workers_finds_none(redis_url: str) -> None:
    configure(app, redis_url)
    assert ping_workers(app, timeout=0.3) == {"answering": 0, "names": []}


def test_the_command_prints_the_same_as_json(redis_url: str, redis_client: redis.Redis) -> None:
    redis_client.set(keys.SIMULATOR_URL, "http://127.0.0.1:5556")
    result = CliRunner().invoke(cli, ["status", "--json"], env={"TOGGLBRIDGE_REDIS_URL": redis_url})
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.output)
    assert snapshot["simulator_url"] == "http://127.0.0.1:5556"
    assert snapshot["workers"]["answering"] == 0 and snapshot["last_tick"] is None
    assert "deliveries" in snapshot and "queues" in snapshot
    text = CliRunner().invoke(cli, ["status"], env={"TOGGLBRIDGE_REDIS_URL": redis_url})
    assert text.exit_code == 0 and "Simulator: http://127.0.0.1:5556" in text.output
