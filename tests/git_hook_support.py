"""Real git repositories in temporary directories for the git hook's tests, isolated from the user's and the
system's git configuration (a global ``core.hooksPath`` would otherwise decide where hooks go)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path


def git_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "TOGGLBRIDGE_"))}
    return env | {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"} | extra


def run_git(repo: Path, *args: str, **env: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=git_env(**env), capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def new_repo(path: Path, *, email: str = "alice@acme.io", origin: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "config", "user.email", email)
    run_git(path, "config", "user.name", "Alice Martin")
    if origin is not None:
        run_git(path, "remote", "add", "origin", origin)
    return path


def commit(repo: Path, message: str, files: dict[str, str | None] | None = None, **env: str) -> str:
    """Write (or, for None, delete) ``files``, commit them, and return the new sha."""
    for name, text in (files or {f"{message.split()[0].lower()}.txt": message}).items():
        if text is None:
            run_git(repo, "rm", "-q", name)
        else:
            (repo / name).write_text(text)
            run_git(repo, "add", name)
    run_git(repo, "commit", "-q", "--allow-empty", "-m", message, **env)
    return run_git(repo, "rev-parse", "HEAD")


def closed_port_url() -> str:
    """An address nothing listens on (a port just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
