"""`togglbridge up` as a user runs it: one process with the embedded Redis and the simulator, a signed push
applied end to end, and a clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.pipeline_support import wait_for
from togglbridge.store.redis_server import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SECRET = "up-test-secret"


def test_up_serves_applies_a_push_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env |= {"TOGGLBRIDGE_GITHUB_SECRET": SECRET, "TOGGLBRIDGE_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "togglbridge.cli", "up", "--port", str(port),
               "--config", str(ROOT / "examples" / "togglbridge.yaml")]  # fmt: skip
    up = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), timeout=60, what="togglbridge up")
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        sender = [
            sys.executable,
            str(ROOT / "examples" / "send_github_push.py"),
            "--url",
            f"{base}/hooks/github",
        ]
        sent = subprocess.run(sender, env=env | {"TOGGLBRIDGE_GITHUB_SECRET": SECRET}, capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
        assert sent.returncode == 0 and sent.stdout.startswith("202"), sent.stdout + sent.stderr

        def applied() -> bool:
            events = httpx.get(f"{base}/api/journal", params={"limit": 10}).json()["events"]
            commits = [e for e in events if e["event_id"].startswith("git:")]
            return len(commits) == 3 and all(e["outcome"] == "applied" for e in commits)

        wait_for(applied, timeout=60, what="the push's commits")
        assert not list(tmp_path.glob("celerybeat-schedule*"))  # the beat is RedBeat, not a local file
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            output, _ = up.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            up.kill()
            output, _ = up.communicate()
            pytest.fail("togglbridge up did not stop on SIGTERM:\n" + output.decode(errors="replace")[-3000:])
    text = output.decode(errors="replace")
    assert "SIMULATOR" in text  # the banner says entries go to the simulator
    assert SECRET not in text
    assert up.returncode is not None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        time.sleep(0.2)
        return False
