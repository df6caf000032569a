"""`togglbridge up` as a user runs it: one process with the embedded Redis and the simulator, a signed push
applied end to end, a clean exit on SIGTERM, and a restart that goes on where it stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipeline_support import wait_for
from togglbridge.store.redis_server import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SECRET = "up-test-secret"


@dataclass
class Up:
    base: str
    sim_url: str
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_up(workdir: Path, *options: str) -> Iterator[Up]:
    """``togglbridge up`` in ``workdir`` (its data dir there), stopped with SIGTERM at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env |= {"TOGGLBRIDGE_GITHUB_SECRET": SECRET, "TOGGLBRIDGE_DATA_DIR": str(workdir / "data")}
    command = [sys.executable, "-m", "togglbridge.cli", "up", "--port", str(port),
               "--config", str(ROOT / "examples" / "togglbridge.yaml"), *options]  # fmt: skip
    log = workdir / f"up-{port}.log"
    with log.open("wb") as sink:
        up = subprocess.Popen(command, env=env, cwd=workdir, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz") or up.poll() is not None, timeout=60, what="up")
        assert up.poll() is None, log.read_text(errors="replace")[-3000:]
        found = re.search(r"simulator at (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        assert found, log.read_text(errors="replace")[-3000:]
        yield Up(base, found.group(1), log, env)
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=45)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
            pytest.fail("togglbridge up did not stop on SIGTERM:\n" + log.read_text(errors="replace")[-3000:])


def send_push(up: Up) -> None:
    sender = [
        sys.executable,
        str(ROOT / "examples" / "send_github_push.py"),
        "--url",
        f"{up.base}/hooks/github",
    ]
    sent = subprocess.run(sender, env=up.env, capture_output=True, text=True, timeout=30, check=False)
    assert sent.returncode == 0 and sent.stdout.startswith("202"), sent.stdout + sent.stderr


def live_entries(up: Up) -> list[dict[str, Any]]:
    state = httpx.get(f"{up.sim_url}/_sim/state", timeout=5).json()
    return [e for e in state["time_entries"] if e.get("server_deleted_at") is None]


def operator_headers(up: Up) -> dict[str, str]:
    """``up`` on 127.0.0.1 opens the dashboard with a token of its own, kept in the data dir."""
    token = (Path(up.env["TOGGLBRIDGE_DATA_DIR"]) / "dashboard-token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


def dead_letters(up: Up) -> int:
    status = httpx.get(f"{up.base}/api/status", headers=operator_headers(up), timeout=5)
    return int(status.json()["dead_letters"]["count"])


def test_up_serves_applies_a_push_and_stops_on_sigterm(tmp_path: Path) -> None:
    with running_up(tmp_path) as up:
        assert httpx.get(f"{up.base}/readyz").json()["status"] == "ready"
        send_push(up)
        wait_for(lambda: len(live_entries(up)) == 3, timeout=60, what="the push's 3 commits")
        assert dead_letters(up) == 0
        assert not list(tmp_path.glob("celerybeat-schedule*"))  # the beat is RedBeat, not a local file
        assert httpx.get(f"{up.base}/api/status", timeout=5).status_code == 401  # no token, no data
    text = up.output()
    assert "SIMULATOR" in text  # the banner says entries go to the simulator
    assert "entries go to the simulator at" in text
    assert SECRET not in text
    token_file = tmp_path / "data" / "dashboard-token"
    assert f"Dashboard: {up.base}/ui/login#token={token_file.read_text().strip()}" in text
    assert token_file.stat().st_mode & 0o777 == 0o600


def test_a_restart_goes_on_where_it_stopped_and_fresh_starts_over(tmp_path: Path) -> None:
    with running_up(tmp_path) as first:
        send_push(first)
        wait_for(lambda: len(live_entries(first)) == 3, timeout=60, what="the first push")

    with running_up(tmp_path) as second:
        assert operator_headers(second) == operator_headers(first)  # sessions outlive a restart
        assert len(live_entries(second)) == 3  # the simulator kept its account, like Toggl would
        send_push(second)
        wait_for(lambda: len(live_entries(second)) == 6, timeout=60, what="the push after a restart")
        assert dead_letters(second) == 0
        projects = {e["project_id"] for e in live_entries(second)}
        assert len(projects) == 1  # the remembered project id is still the simulator's project

    with running_up(tmp_path, "--fresh") as fresh:
        assert live_entries(fresh) == []
        assert "Fresh start: cleared" in fresh.output()
        send_push(fresh)
        wait_for(lambda: len(live_entries(fresh)) == 3, timeout=60, what="the push after --fresh")
        assert dead_letters(fresh) == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
