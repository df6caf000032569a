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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

import redis

from togglbridge.store.redis_server import ping, start_embedded

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/13"  # db 13: the benchmarks' own, flushed before and after
OWN_REDIS_URL = "redis://127.0.0.1:6379/10"  # db 10: the latency, memory and backlog benchmarks' own
AIM = 0.6  # the ratio ingest and pipeline aim at (0.4 until 2026-11-30)
STOP_SECONDS = 15.0  # how long a child gets to stop after SIGTERM before it is killed


# -- Redis --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_redis(local_url: str = LOCAL_REDIS_URL) -> Iterator[str]:
    """A flushed Redis database for one run: the local server's db 13 when it answers, else an embedded server.

    The same choice as tests/conftest.py (with ``TOGGLBRIDGE_BENCH_REDIS_URL`` as the override), so a benchmark
    runs wherever the tests run. The database is flushed before and after, even on Ctrl-C. ``local_url``: another
    database of the local server (``OWN_REDIS_URL``, db 10, for the latency, memory and backlog benchmarks).
    """
    url = os.environ.get("TOGGLBRIDGE_BENCH_REDIS_URL")
    with contextlib.ExitStack() as stack:
        if not url:
            try:
                ping(local_url, timeout=0.5)
                url = local_url
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


def redis_kind(url: str, local_url: str = LOCAL_REDIS_URL) -> str:
    return "local server" if url == local_url else f"{url} (embedded or given)"


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


# -- the bridge end to end: a receiver, a worker, the simulator, signed pushes -----------------------------------
#
# Shared by the latency, memory and backlog benchmarks: the real receiver under the uvicorn CLI, the real worker
# (``togglbridge worker``, or a benchmark's module that adds a task to the same app), the simulator in the
# benchmark's process, and GitHub pushes of one commit whose message's first line is a marker, so that each
# Toggl entry (its description is "<repo>: <first line>") names the event it came from.

HOST = "127.0.0.1"
GITHUB_SECRET = "bench-github-secret"
PUSH_PATH = "/hooks/github"
PUSH_START = datetime(2026, 11, 2, 9, tzinfo=UTC)  # the first pushed commit's time
MARKER_BYTES = rb"bench-[a-z0-9]+-[0-9]+"  # what ``marker`` makes, found in a request body or a description

COMMIT_RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m}
"""


def marker(tag: str, number: int) -> str:
    """The name of one event, carried by its commit's first line into its Toggl entry's description."""
    return f"bench-{tag}-{number:07d}"


def commit_rule_file(identities: Sequence[str]) -> str:
    """Identities ``<name>@acme.io`` and one ``log`` action per commit (as bench.pipeline's rule file)."""
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    return "defaults:\n  created_with: togglbridge-bench\nidentities:\n" + listed + COMMIT_RULES


def push_of(author: str, name: str, at: datetime) -> bytes:
    """A GitHub push body (about 2.1 KB) of one commit by ``author`` whose message's first line is ``name``."""
    from togglbridge.sources.github_payloads import PushedCommit, commit_sha, push_body

    commit = PushedCommit(commit_sha("bench", name), at, f"{name}\n\nA body that explains the change.")
    return push_body(author, [commit])


def signed_request(body: bytes, delivery: str, port: int, secret: str = GITHUB_SECRET) -> bytes:
    """The whole HTTP/1.1 request of one signed push delivery (keep-alive), ready to write on a socket."""
    from togglbridge.sources.github import SIGNATURE

    signature = SIGNATURE.sign(body, secret)[SIGNATURE.header]
    head = (
        f"POST {PUSH_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def create_receiver() -> Any:
    """``uvicorn --factory bench._common:create_receiver``: the receiver as ``togglbridge api`` builds it, from
    the environment the benchmark gives the child (TOGGLBRIDGE_REDIS_URL, TOGGLBRIDGE_GITHUB_SECRET), never
    from a developer's .env."""
    from togglbridge.api.factory import build_receiver
    from togglbridge.settings import Settings

    settings = Settings(_env_file=None)
    assert settings.redis_url, "TOGGLBRIDGE_REDIS_URL must be set"
    return build_receiver(settings, settings.redis_url)


def start_receiver(stack: contextlib.ExitStack, redis_url: str, port: int, **env: str) -> Child:
    """The receiver in its own uvicorn process (the uvicorn CLI, one worker, as bench.ingest), once it answers."""
    import httpx

    argv = [
        sys.executable, "-m", "uvicorn", "bench._common:create_receiver", "--factory", f"--host={HOST}",
        f"--port={port}", "--loop=auto", "--http=auto", "--log-level=warning", "--no-access-log",
    ]  # fmt: skip
    server = spawn(
        stack,
        "receiver",
        argv,
        child_env(TOGGLBRIDGE_REDIS_URL=redis_url, TOGGLBRIDGE_GITHUB_SECRET=GITHUB_SECRET, **env),
    )

    def ready() -> bool:
        if not server.alive():
            raise RuntimeError("the receiver's uvicorn process exited at start")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://{HOST}:{port}/readyz", timeout=1).status_code == 200
        return False

    wait_for(ready, timeout=30, what="the receiver answering /readyz", interval=0.1)
    return server


def start_worker(
    stack: contextlib.ExitStack,
    argv: Sequence[str],
    *,
    redis_url: str,
    sim_url: str,
    config_file: Path,
    log: Path,
    rate_limit: str = "off",
) -> Child:
    """A worker child against the simulator: ``argv`` runs ``togglbridge worker`` (or a benchmark's module that
    adds a task first). ``rate_limit``: the bridge's pacing per credential (``off``, or e.g. ``1/second``, the
    default of a deployment). It logs at WARNING into ``log`` (Celery writes two lines per task at INFO)."""
    env = child_env(
        TOGGLBRIDGE_REDIS_URL=redis_url,
        TOGGLBRIDGE_SIMULATOR_URL=sim_url,
        TOGGLBRIDGE_CONFIG_FILE=str(config_file),
        TOGGLBRIDGE_LOG_LEVEL="WARNING",
        TOGGLBRIDGE_DATA_DIR=str(config_file.parent / "data"),
        TOGGLBRIDGE_TOGGL_RATE_LIMIT=rate_limit,
        TOGGLBRIDGE_GATEWAY_RATE_LIMIT="off" if rate_limit == "off" else "10/second",
    )
    output = stack.enter_context(log.open("ab"))
    return spawn(stack, "worker", argv, env, stdout=output, stderr=subprocess.STDOUT)


def worker_cli(concurrency: int, pool: str = "prefork") -> list[str]:
    """``togglbridge worker`` itself, as a deployment runs it."""
    return [
        sys.executable,
        "-m",
        "togglbridge.cli",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
    ]


def print_log_tail(log: Path, lines: int = 30) -> None:
    """A child's last words, when something went wrong (its output goes to a file, not to the table)."""
    with contextlib.suppress(OSError):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- the last {len(tail)} lines of {log.name}:", *tail, sep="\n", file=sys.stderr)


def worker_ready(celery_app: Any, child: Child) -> bool:
    """Whether the worker answers a ping (its pool started and consumes); raises if it exited."""
    if not child.alive():
        raise RuntimeError("the worker exited at start")
    return bool(celery_app.control.ping(timeout=0.5))


def idle_queues(client: redis.Redis, queues: Sequence[str]) -> bool:
    """No message waits in the queues and none is taken but unacknowledged (kombu's ``unacked`` hash)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
    pipe.hlen("unacked")
    return not any(pipe.execute())


@dataclass
class PushAnswer:
    """One request's fate: when it was written and when its answer arrived (``time.monotonic``), the status."""

    name: str
    sent: float
    answered: float
    status: int


async def read_status(reader: Any) -> int:
    """Read one HTTP/1.1 response (status line, headers, Content-Length body); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        field_name, _, value = line.partition(b":")
        if field_name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def post_requests(
    port: int, requests: Sequence[tuple[str, bytes]], *, connections: int = 8, rate: float | None = None
) -> list[PushAnswer]:
    """Write each (name, raw request) to the server on keep-alive connections; one answer per request.

    ``rate`` None: closed loop, ``connections`` connections each sending its next request when the last one is
    answered (as fast as the server goes). ``rate`` given: open loop, request i written at start + i / rate
    whatever the earlier ones became, on an idle connection or a new one (so a slow answer never delays the
    next request: the schedule does not wait for the server). Times are ``time.monotonic()``: one clock for
    every process of the machine (CLOCK_MONOTONIC), so they compare with the simulator's and the worker's.
    """
    import asyncio

    idle: list[tuple[Any, Any]] = []
    opened: list[Any] = []
    answers: list[PushAnswer] = []

    async def one(name: str, request: bytes) -> None:
        if idle:
            reader, writer = idle.pop()
        else:
            reader, writer = await asyncio.open_connection(HOST, port)
            opened.append(writer)
        sent = time.monotonic()
        writer.write(request)
        status = await read_status(reader)
        answers.append(PushAnswer(name, sent, time.monotonic(), status))
        idle.append((reader, writer))

    try:
        if rate is None:
            work = iter(requests)

            async def drive() -> None:
                for name, request in work:
                    await one(name, request)

            await asyncio.gather(*(drive() for _ in range(connections)))
        else:
            for _ in range(min(connections, 4)):  # a few connections ready before the schedule starts
                idle.append(await asyncio.open_connection(HOST, port))
                opened.append(idle[-1][1])
            start = time.monotonic() + 0.05
            tasks = []
            for i, (name, request) in enumerate(requests):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(one(name, request)))
            await asyncio.gather(*tasks)
    finally:
        for writer in opened:
            writer.close()
    return answers


class Arrivals:
    """An ASGI wrapper around the simulator's app: the moment (``time.monotonic()``) each Toggl request whose body
    names a marker arrived, by marker. Requests without a marker (``GET /me``) pass untouched and uncounted.

    The moment is when uvicorn hands the request to the app (its head parsed), before the simulator's own
    pipeline: what the bridge's latency is measured to."""

    def __init__(self, app: Any) -> None:
        import re

        self.app = app
        self.seen: dict[str, list[float]] = {}
        self._marker = re.compile(MARKER_BYTES)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        chunks: list[bytes] = []

        async def tapped() -> Any:
            message = await receive()
            if message.get("type") == "http.request":
                chunks.append(message.get("body", b""))
            return message

        await self.app(scope, tapped, send)
        found = self._marker.search(b"".join(chunks))
        if found:
            self.seen.setdefault(found.group().decode(), []).append(arrived)


@dataclass(frozen=True)
class EndState:
    """What a benchmark's check reads once its run is over: each expected marker's entries, and what is left."""

    not_one: list[str]  # expected markers without exactly one entry
    extra: int  # entries whose marker nobody sent
    dead: int  # dead letters
    waiting: int  # actions still in an outbox

    def leftovers(self) -> list[str]:
        """The problem line for dead letters and waiting actions, if there are any."""
        if self.dead or self.waiting:
            return [f"{self.dead} dead letters, {self.waiting} actions still in outboxes"]
        return []


def end_state(sim: Any, client: redis.Redis, expected: Sequence[str]) -> EndState:
    """After half a second (a duplicate would show up by then): the entries of ``expected`` markers, and the
    dead letters and waiting actions left in ``client``'s database."""
    from togglbridge.store.dead_letters import DeadLetters
    from togglbridge.store.outbox import Outbox

    time.sleep(0.5)
    entries = entries_by_marker(sim)
    wanted = set(expected)
    return EndState(
        not_one=[name for name in expected if entries[name] != 1],
        extra=sum(n for name, n in entries.items() if name not in wanted),
        dead=DeadLetters(client).count(),
        waiting=sum(Outbox(client).depths().values()),
    )


@cache
def worker_redis() -> redis.Redis:
    """In a benchmark's worker child: one client of the database the worker was given, for the baseline tasks."""
    return redis.Redis.from_url(os.environ["TOGGLBRIDGE_REDIS_URL"])


def entries_by_marker(sim: Any) -> Counter[str]:
    """The simulator's live entries, counted by the marker their description names (entries without one under
    ``""``)."""
    import re

    pattern = re.compile(MARKER_BYTES.decode())
    with sim.lock:
        descriptions = [entry.description or "" for entry in sim.state.entries.values() if not entry.deleted]
    found: Counter[str] = Counter()
    for description in descriptions:
        match = pattern.search(description)
        found[match.group() if match else ""] += 1
    return found


# -- memory ---------------------------------------------------------------------------------------------------

MB = 1024 * 1024


def memory_of(pid: int) -> tuple[float, float]:
    """(RSS, USS) of one process in MB. USS: the pages only it holds (a prefork child shares its parent's
    copy-on-write pages, which RSS counts in full); needs psutil."""
    import psutil

    process = psutil.Process(pid)
    try:
        full = process.memory_full_info()
        return full.rss / MB, full.uss / MB
    except psutil.AccessDenied:
        return process.memory_info().rss / MB, float("nan")


def redis_used_memory(client: redis.Redis) -> int:
    """The server's ``used_memory`` (every database: see ``other_databases``)."""
    return int(client.info("memory")["used_memory"])


def other_databases(client: redis.Redis) -> dict[str, int]:
    """Keys in each database of the server but ours: ``used_memory`` is the whole server's, so a delta is ours
    only when these did not change meanwhile."""
    ours = f"db{client.connection_pool.connection_kwargs.get('db', 0)}"
    return {db: int(v["keys"]) for db, v in client.info("keyspace").items() if db != ours}


def report_aim(label: str, per_round: Sequence[float], overall: float, aim: float, *, lower: bool) -> bool:
    """As ``report_ratio``, for an aim of one's own; ``lower``: the aim is a ceiling. Returns whether it is met."""
    headline = statistics.median(per_round)
    rounds = ", ".join(f"{r:.3f}" for r in per_round)
    met = headline <= aim if lower else headline >= aim
    print(f"{label}{headline:.3f}  (median of rounds {rounds}; all rounds pooled {overall:.3f})")
    print(f"{'aim':<{len(label)}}{aim:g} or {'less' if lower else 'better'}: {'met' if met else 'NOT met'}")
    return met


# Key families, by prefix (the first that matches), for where a database's memory goes.
KEY_FAMILIES = (
    ("togglbridge:outbox:", "outboxes (sorted sets)"),
    ("togglbridge:action:", "actions' JSON (14 days)"),
    ("togglbridge:done:", "ledger, done (60 days)"),
    ("togglbridge:seen:", "deliveries seen (14 days)"),
    ("togglbridge:journal", "journal (capped)"),
    ("togglbridge:intent:", "intents"),
    ("togglbridge:metrics:", "metrics"),
    ("togglbridge:unplanned", "unplanned message copies"),
    ("togglbridge:deliveries", "deliveries log (last 1000)"),
    ("togglbridge:echoes", "echoes (1 hour)"),
    ("togglbridge.", "Celery queues"),
    ("", "other"),
)


def memory_by_family(client: redis.Redis, batch_size: int = 1000) -> dict[str, tuple[int, int]]:
    """Every key of the client's database by family (``KEY_FAMILIES``): (keys, bytes by ``MEMORY USAGE`` with
    every member counted). Ours alone, unlike ``used_memory``; without the server's per-key overhead in its
    main table."""
    found: dict[str, list[int]] = {label: [0, 0] for _, label in KEY_FAMILIES}
    batch: list[bytes] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(batch, pipe.execute(), strict=True):
            name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            label = next(label for prefix, label in KEY_FAMILIES if name.startswith(prefix))
            found[label][0] += 1
            found[label][1] += int(size or 0)
        batch.clear()

    for key in client.scan_iter(count=batch_size):
        batch.append(key)
        if len(batch) >= batch_size:
            flush()
    flush()
    return {label: (keys, size) for label, (keys, size) in found.items() if keys}
