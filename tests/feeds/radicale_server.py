"""A real Radicale server for the CalDAV tests: ``python -m radicale`` in a subprocess on a free loopback port,
its storage and configuration in a temporary folder, one test user with a plain htpasswd password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USERNAME = "alice"
PASSWORD = "radicale-pw-7d2e91"  # a marker the secrecy tests look for
STARTUP_TIMEOUT_SECONDS = 20.0
ATTEMPTS = 3  # a free port found is free until someone else takes it: try another then

CONFIG = """\
[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
# Radicale waits this long after a wrong password; a test of wrong credentials need not.
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = warning
"""


@dataclass(frozen=True)
class Radicale:
    base_url: str  # http://127.0.0.1:PORT
    username: str
    password: str
    log: Path

    @property
    def home(self) -> str:
        """The user's calendar home, where calendars are made."""
        return f"{self.base_url}/{self.username}/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def run_radicale(folder: Path) -> Iterator[Radicale]:
    users = folder / "users"
    users.write_text(f"{USERNAME}:{PASSWORD}\n", encoding="utf-8")
    config = folder / "config"
    config.write_text(CONFIG.format(users=users, storage=folder / "collections"), encoding="utf-8")
    # HOME and RADICALE_CONFIG point away from the developer's own Radicale configuration.
    env = {**os.environ, "HOME": str(folder), "RADICALE_CONFIG": str(config)}
    log = folder / "radicale.log"
    for _ in range(ATTEMPTS):
        port = free_port()
        with log.open("ab") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "radicale",
                    "--config",
                    str(config),
                    "--server-hosts",
                    f"127.0.0.1:{port}",
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while process.poll() is None and not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None and _answers(port):
            break
        process.kill()
        process.wait()
    else:
        raise RuntimeError(f"Radicale did not start; its log:\n{log.read_text(errors='replace')}")
    try:
        yield Radicale(f"http://127.0.0.1:{port}", USERNAME, PASSWORD, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
