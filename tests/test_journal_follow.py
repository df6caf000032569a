"""With a real worker and beat: ``togglbridge journal --follow`` (a real process) prints a push sent while it
runs, with the outcome the worker gave it; ``status`` sees the worker answer and the beat tick."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import IO

import pytest

from tests.pipeline_support import (
    ROOT,
    Pipeline,
    entries_of,
    push_body,
    running_pipeline,
    send_push,
    wait_for,
)
from togglbridge.status import collect_status, ping_workers
from togglbridge.store.redis_server import RedisServer
from workers.app import app, configure

pytestmark = pytest.mark.integration

RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m}
"""


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    identity = f"follow-{uuid.uuid4().hex[:6]}"
    rules = f"identities:\n  {identity}:\n    emails: [{identity}@acme.io]\n" + RULES
    workdir = tmp_path_factory.mktemp("follow")
    with running_pipeline(redis_server.url, rules, workdir, [identity]) as running:
        yield running


class Lines:
    """A process's output lines, read by a thread so that a test can wait for one without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))


def test_follow_prints_a_push_sent_while_it_runs_with_its_outcome(
    pipeline: Pipeline, redis_server: RedisServer
) -> None:
    identity = pipeline.identities[0]
    follower = subprocess.Popen(
        [sys.executable, "-m", "togglbridge.cli", "journal", "--follow", "--identity", identity],
        env=_env(redis_server),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = Lines(follower.stdout)  # type: ignore[arg-type]
    err = Lines(follower.stderr)  # type: ignore[arg-type]
    try:
        wait_for(lambda: any("Following" in x for x in err.lines), timeout=30, what="the follower to start")
        response = send_push(pipeline, push_body(identity, 1))
        assert response.status_code == 202, response.text
        wait_for(lambda: len(entries_of(pipeline, identity)) == 1, what="the entry")
        line = wait_for(
            lambda: next((x for x in out.lines if "git.commit" in x), None),
            timeout=30,
            what="the follower's line",
        )
        entry_id = next(iter(pipeline.sim.state.entries))
        assert identity in line and "applied" in line and f"logged entry {entry_id}" in line, line
    finally:
        follower.send_signal(signal.SIGINT)  # Ctrl+C
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
            raise
    assert follower.returncode == 0 and not any("Traceback" in x for x in err.lines), err.lines


def test_json_lines_for_scripts(pipeline: Pipeline, redis_server: RedisServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "togglbridge.cli", "journal", "--json", "--outcome", "applied"],
        env=_env(redis_server),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events and all(e["outcome"] == "applied" for e in events)


def test_status_sees_the_worker_and_the_beat(pipeline: Pipeline, redis_server: RedisServer) -> None:
    configure(app, redis_server.url)
    workers = wait_for(
        lambda: ping_workers(app, timeout=1.0)["answering"] and ping_workers(app), what="a pong"
    )
    assert workers["answering"] >= 1
    tick = wait_for(lambda: collect_status(pipeline.redis)["last_tick"], timeout=30, what="a tick")
    assert tick["at"].endswith("Z")


def _env(redis_server: RedisServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    return env | {"TOGGLBRIDGE_REDIS_URL": redis_server.url}
