"""Helpers the benchmarks share: which Redis, child processes that always die with us, output.

Every benchmark prints ratios against a baseline measured in the same run: the machine is shared and noisy, so
absolute rates drift from run to run while a ratio of two interleaved measurements holds.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import redis

from togglbridge.store.redis_server import ping, start_embedded

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/13"  # db 13: the benchmarks' own, flushed before and after
AIM = 0.4  # the ratio each benchmark aims at
STOP_SECONDS = 15.0  # how long a child gets to stop after SIGTERM before it is killed


# -- Redis --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_redis() -> Iterator[str]:
    """A flushed Redis database for one run: the local server's db 13 when it answers, else an embedded server.

    The same choice as tests/conftest.py (with ``TOGGLBRIDGE_BENCH_REDIS_URL`` as the override), so a benchmark
    runs wherever the tests run. The database is flushed before and after, even on Ctrl-C.
    """
    url = os.environ.get("TOGGLBRIDGE_BENCH_REDIS_URL")
    with contextlib.ExitStack() as stack:
        if not url:
            try:
                ping(LOCAL_REDIS_URL, timeout=0.5)
                url = LOCAL_REDIS_URL
            except redis.RedisError:  # no local server: an embedded one for this run
                data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-")))
                server = start_embedded(data_dir)
                stack.callback(server.close)
                url = server.url
        client = redis.Redis.from_url(url)
        stack.callback(client.close)
        client.flushdb()
        stack.callback(client.flushdb)
        yield url


def redis_kind(url: str) -> str:
    return "local server" if url == LOCAL_REDIS_URL else f"{url} (embedded or given)"


# -- child processes ----------------------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """Our environment without any TOGGLBRIDGE_ setting (a developer's .env or shell must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env | extra


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        """Whether the child runs, without reaping it: while it is unreaped its pid (and so its process group's
        id) cannot be reused, so signalling the group can only ever reach processes we started."""
        if self.process.returncode is not None:
            return False
        return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def stop(child: Child) -> None:
    """SIGTERM the child's whole process group (a Celery worker's pool too), then SIGKILL what lingers."""
    if child.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while child.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.alive():
            print(f"  ({child.name} did not stop within {STOP_SECONDS:g} s: killed)", file=sys.stderr)
        # The leader is not reaped yet, so the group id is still ours: its stragglers (pool processes whose
        # parent already left) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)
    child.process.wait()


def spawn(
    stack: contextlib.ExitStack,
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | int | None = None,
) -> Child:
    """Start a child in its own session, stopped when ``stack`` closes (also on an exception or Ctrl-C).

    Its own session keeps a terminal's Ctrl-C from reaching it half-way: we stop it ourselves, in order.
    """
    process = subprocess.Popen(
        list(argv), env=env, cwd=ROOT, start_new_session=True, stdout=stdout, stderr=stderr
    )
    child = Child(name, process)
    stack.callback(stop, child)
    return child


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into an exception, so a killed benchmark still runs its clean-up (stops its children)."""

    def raise_exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, raise_exit)


def run_main(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run a benchmark's main; Ctrl-C stops it quietly (its clean-up has run by the time we get here)."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each round's line shows as it comes, in a CI log too
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: every process this benchmark started is stopped", file=sys.stderr)
        return 130


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)


# -- output -------------------------------------------------------------------------------------------------


def header(title: str, lines: Sequence[str]) -> None:
    """What is measured, on what: a reader comparing two runs needs the machine next to the numbers."""
    cores = os.cpu_count()
    print(f"== {title}")
    for line in lines:
        print(f"   {line}")
    print(
        f"   machine: {cores} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print()


def report_ratio(label: str, per_round: Sequence[float], overall: float) -> None:
    """The headline: the median of the rounds' ratios. Each round pairs the two sides a few seconds apart, so
    a burst of load from another process spoils one round, not the result; all rounds pooled are shown too."""
    headline = statistics.median(per_round)
    rounds = ", ".join(f"{r:.3f}" for r in per_round)
    print(f"{label}{headline:.3f}  (median of rounds {rounds}; all rounds pooled {overall:.3f})")
    print(f"{'aim':<{len(label)}}{AIM:g} or better: {'met' if headline >= AIM else 'NOT met'}")


# -- where the CPU went ---------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by named processes, to say per request or per task where the time went: a ratio says
    how far from the aim, this says which process to look at. ``trees`` count their descendants too (a worker's
    pool), ``singles`` only themselves (this process, whose children are counted apart). Needs psutil (a dev
    dependency); without it, or for a process we may not read, nothing is reported."""

    def __init__(self, trees: dict[str, int | None], singles: dict[str, int | None] | None = None) -> None:
        self._processes: dict[str, tuple[Any, bool]] = {}
        try:
            import psutil
        except ImportError:
            return
        for recursive, pids in ((True, trees), (False, singles or {})):
            for name, pid in pids.items():
                with contextlib.suppress(psutil.Error, TypeError, ValueError):
                    self._processes[name] = (psutil.Process(pid), recursive)

    def snapshot(self) -> dict[str, float]:
        import psutil

        seconds = {}
        for name, (process, recursive) in self._processes.items():
            total = 0.0
            with contextlib.suppress(psutil.Error):
                members = [process, *process.children(recursive=True)] if recursive else [process]
                for member in members:
                    with contextlib.suppress(psutil.Error):
                        times = member.cpu_times()
                        total += times.user + times.system
            seconds[name] = total
        return seconds


def redis_pid(url: str) -> int | None:
    """The Redis server's process id, when it runs on this machine (for the CPU meter)."""
    client = redis.Redis.from_url(url)
    try:
        info = client.info("server")
        host = client.connection_pool.connection_kwargs.get("host")
        return int(info["process_id"]) if host in ("127.0.0.1", "localhost") else None
    except redis.RedisError:
        return None
    finally:
        client.close()
