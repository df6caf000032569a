"""Running the whole pipeline for integration tests: the simulator and a receiver in this process, real
worker and beat processes beside it, all on a real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.access_support import DASHBOARD_TOKEN
from togglbridge.api.factory import build_receiver
from togglbridge.serving import serve_in_thread
from togglbridge.settings import Settings
from togglbridge.sources import github_payloads
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator

ROOT = Path(__file__).resolve().parent.parent
GITHUB_SECRET = "pipeline-test-secret"


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


@contextmanager
def running_pipeline(
    redis_url: str,
    rule_file: str,
    workdir: Path,
    identities: list[str],
    *,
    concurrency: int = 2,
    extra_env: dict[str, str] | None = None,
    sim: Simulator | None = None,
    fresh: bool = True,
    source_secrets: dict[str, str] | None = None,
) -> Iterator[Pipeline]:
    """Worker and beat on ``redis_url`` (flushed first when ``fresh``; not fresh, they carry on with what the
    previous ones left there: a restart, given the same ``sim``). The receiver has GitHub's secret and
    ``source_secrets`` (source name -> secret), which enable more sources."""
    client = redis.Redis.from_url(redis_url)
    if fresh:
        client.flushdb()
    config_file = workdir / "togglbridge.yaml"
    config_file.write_text(rule_file)
    sim = sim or Simulator()
    with serve_simulator(sim) as sim_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
        env |= {
            "TOGGLBRIDGE_REDIS_URL": redis_url,
            "TOGGLBRIDGE_SIMULATOR_URL": sim_url,
            "TOGGLBRIDGE_CONFIG_FILE": str(config_file),
            "TOGGLBRIDGE_LOG_LEVEL": "WARNING",
            "TOGGLBRIDGE_DATA_DIR": str(workdir / "data"),
            # A killed worker's lock lapses sooner, so a test need not wait a minute for it.
            "TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS": "4",
            "TOGGLBRIDGE_DRAIN_LOCK_SECONDS": "8",
        } | (extra_env or {})
        command = [sys.executable, "-m", "togglbridge.cli"]
        worker = subprocess.Popen([*command, "worker", "--concurrency", str(concurrency)], env=env, cwd=ROOT)
        beat = subprocess.Popen([*command, "beat"], env=env, cwd=workdir)
        try:
            time.sleep(1)
            assert worker.poll() is None and beat.poll() is None, "the worker or beat did not start"
            settings = Settings(
                _env_file=None,
                redis_url=redis_url,
                dashboard_token=DASHBOARD_TOKEN,
                config_file=config_file,
                simulator_url=sim_url,
            )
            receiver = build_receiver(
                settings, redis_url, SourceSecrets.of(**{"github": GITHUB_SECRET, **(source_secrets or {})})
            )
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


def push_body(identity: str, commits: int, *, repo: str = "acme/webapp", start_minute: int = 0) -> bytes:
    """A GitHub push of ``commits`` new commits by ``identity``@acme.io, seven minutes apart from
    ``start_minute`` past 09:00."""
    listed = github_payloads.spaced_commits(
        commits,
        start=datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(minutes=start_minute),
        every=timedelta(minutes=7),
        salt=(identity, repo, start_minute),
        message="Commit {n}\n\nbody",
    )
    return github_payloads.push_body(identity, listed, repo=repo)


def send_push(pipeline: Pipeline, body: bytes, delivery: str | None = None) -> httpx.Response:
    headers = github_payloads.delivery_headers(body, GITHUB_SECRET, delivery=delivery)
    return httpx.post(f"{pipeline.url}/hooks/github", content=body, headers=headers, timeout=10)


def entries_of(pipeline: Pipeline, identity: str) -> list[dict[str, Any]]:
    """The identity's live entries, read from the simulator's memory (no request)."""
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
