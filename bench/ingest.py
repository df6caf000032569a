"""Ingest: signed GitHub pushes accepted per second by the receiver, divided by a bare endpoint of the same app.

    python -m bench.ingest [--seconds 4] [--rounds 5] [--connections 16] [--loadgen auto|wrk|python]

One uvicorn process (the uvicorn CLI, ``--loop auto --http auto``, one worker) serves the receiver built by
``build_receiver`` plus a ``POST /bare`` route added to the same app instance that reads the body and answers 200. The
two sides get byte-identical requests except for the path: the same signed push body and headers, each request
with a fresh ``X-GitHub-Delivery`` (a repeated delivery id would be answered "duplicate" without enqueueing,
which is not the path to measure; the signature covers only the body, so one signed body serves every request).

The load generator is ``wrk`` when it is on PATH (its Lua script numbers the delivery ids), else a small asyncio
client with keep-alive connections in its own process. Each side runs for a fixed time after a warm-up, the sides
interleaved (bare, ingest, bare, ingest, ...), and only 2xx answers count. At the end the ingest answers must all
be 202 and the Celery queue must hold one message per accepted push.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
import redis
from fastapi import FastAPI, Request, Response

from bench._common import (
    Child,
    CpuMeter,
    bench_redis,
    child_env,
    header,
    read_status,
    redis_kind,
    redis_pid,
    report_ratio,
    run_main,
    spawn,
    terminate_on_sigterm,
    wait_for,
)
from togglbridge.queues import QUEUE_INGEST
from togglbridge.sources.github import SIGNATURE
from togglbridge.sources.github_payloads import push_body, spaced_commits
from togglbridge.store.redis_server import free_port

SECRET = "bench-ingest-secret"
INGEST_PATH = "/hooks/github"
BARE_PATH = "/bare"
HOST = "127.0.0.1"
START = datetime(2026, 11, 2, 9, tzinfo=UTC)  # the pushed commits' time


# -- the server (runs in the uvicorn child) -----------------------------------------------------------------


async def bare(request: Request) -> Response:
    """The baseline: what any endpoint of this app must do at least (route, read the body, answer)."""
    await request.body()
    return Response(status_code=200)


def create_bench_app() -> FastAPI:
    """``uvicorn --factory bench.ingest:create_bench_app``: the real receiver, plus the bare route beside it.

    Settings come from the environment the benchmark gives the child (TOGGLBRIDGE_REDIS_URL, _GITHUB_SECRET).
    """
    from togglbridge.api.factory import build_receiver
    from togglbridge.settings import Settings

    settings = Settings(_env_file=None)
    assert settings.redis_url, "TOGGLBRIDGE_REDIS_URL must be set"
    receiver = build_receiver(settings, settings.redis_url)
    receiver.add_api_route(BARE_PATH, bare, methods=["POST"], include_in_schema=False)
    return receiver


# -- load generators ----------------------------------------------------------------------------------------


@dataclass
class Result:
    """One timed run of one side: answers that were 2xx, answers with the expected status, wall time."""

    ok: int
    expected: int
    answered: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Target:
    port: int
    body_file: Path
    signature: str
    connections: int


class LoadGenerator(Protocol):
    name: str

    def run(self, target: Target, path: str, seconds: float, tag: str, expect: int) -> Result: ...


# wrk cannot compute an HMAC per request, and need not: the signature covers the body only, so every request
# carries the same signed body and a numbered delivery id. response() counts 2xx and the expected status per
# thread; done() adds the threads up and prints one line for us to parse.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
  expect = tonumber(args[3])
  prefix = args[4] .. "-" .. id .. "-"
  counter, ok, expected = 0, 0, 0
  headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-Hub-Signature-256"] = args[2],
  }
end

function request()
  counter = counter + 1
  headers["X-GitHub-Delivery"] = prefix .. counter
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 end
  if status == expect then expected = expected + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_expected = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_expected = total_expected + thread:get("expected")
  end
  io.write(string.format("WRKRESULT %d %d %d %d\n", summary.requests, total_ok, total_expected, summary.duration))
end
"""


class Wrk:
    name = "wrk"

    def __init__(self, executable: str, script: Path) -> None:
        self._executable = executable
        self._script = script

    def run(self, target: Target, path: str, seconds: float, tag: str, expect: int) -> Result:
        argv = [
            self._executable,
            "-t1",  # one C thread drives hundreds of thousands of requests/s: enough, and it leaves a core free
            f"-c{target.connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(self._script),
            f"http://{HOST}:{target.port}{path}",
            "--",
            str(target.body_file),
            target.signature,
            str(expect),
            tag,
        ]
        output = subprocess_output(argv, timeout=seconds + 30)
        line = next(line for line in output.splitlines() if line.startswith("WRKRESULT"))
        answered, ok, expected, micros = (int(part) for part in line.split()[1:])
        return Result(ok=ok, expected=expected, answered=answered, seconds=micros / 1e6)


class PythonLoad:
    """A keep-alive asyncio client in a child process (so its CPU is not the benchmark's own interpreter)."""

    name = "python (asyncio, keep-alive)"

    def run(self, target: Target, path: str, seconds: float, tag: str, expect: int) -> Result:
        argv = [
            sys.executable,
            "-m",
            "bench.ingest",
            "_loadgen",
            f"--port={target.port}",
            f"--path={path}",
            f"--body-file={target.body_file}",
            f"--signature={target.signature}",
            f"--connections={target.connections}",
            f"--seconds={seconds}",
            f"--tag={tag}",
            f"--expect={expect}",
        ]
        data = json.loads(subprocess_output(argv, timeout=seconds + 30).strip().splitlines()[-1])
        return Result(**data)


def subprocess_output(argv: list[str], timeout: float) -> str:
    """Run a load generator to completion in its own process group (stopped with us on Ctrl-C); its stdout."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(tempfile.TemporaryFile())
        child = spawn(stack, Path(argv[0]).name, argv, child_env(), stdout=out)
        returncode = child.process.wait(timeout=timeout)
        out.seek(0)
        text = out.read().decode()
        if returncode != 0:
            raise RuntimeError(f"the load generator failed ({returncode}):\n{text}")
        return text


# -- the Python load generator (runs in its own process) ------------------------------------------------------


async def _drive(
    port: int, request: tuple[bytes, bytes], prefix: bytes, deadline: float, tally: Counter[int]
) -> None:
    """One keep-alive connection: send, wait for the answer, repeat until the deadline; in-flight work ends
    with its answer, so every request the server processed is counted."""
    reader, writer = await asyncio.open_connection(HOST, port)
    before, after = request
    number = 0
    try:
        while time.perf_counter() < deadline:
            number += 1
            writer.write(before + prefix + str(number).encode() + after)
            tally[await read_status(reader)] += 1
    finally:
        writer.close()


async def _load(args: argparse.Namespace) -> dict[str, float | int]:
    body = Path(args.body_file).read_bytes()
    before = (
        f"POST {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\nContent-Type: application/json\r\n"
        f"X-GitHub-Event: push\r\nX-Hub-Signature-256: {args.signature}\r\n"
        f"Content-Length: {len(body)}\r\nX-GitHub-Delivery: "
    ).encode()
    after = b"\r\n\r\n" + body
    tally: Counter[int] = Counter()
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(
            _drive(args.port, (before, after), f"{args.tag}-{i}-".encode(), deadline, tally)
            for i in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started
    ok = sum(n for status, n in tally.items() if 200 <= status < 300)
    return {"ok": ok, "expected": tally[args.expect], "answered": sum(tally.values()), "seconds": elapsed}


def loadgen_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.ingest _loadgen")
    for name in ("path", "body-file", "signature", "tag"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("port", "connections", "expect"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    print(json.dumps(asyncio.run(_load(parser.parse_args(argv)))))


# -- the benchmark -------------------------------------------------------------------------------------------


def choose_loadgen(wanted: str, script: Path) -> LoadGenerator:
    executable = shutil.which("wrk")
    if wanted == "wrk" and executable is None:
        raise SystemExit("--loadgen wrk: wrk is not on PATH (apt-get install wrk)")
    if wanted in ("auto", "wrk") and executable is not None:
        return Wrk(executable, script)
    return PythonLoad()


def start_server(stack: contextlib.ExitStack, redis_url: str, port: int) -> Child:
    """The receiver under the uvicorn CLI in its own process, once it answers."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.ingest:create_bench_app",
        "--factory",
        f"--host={HOST}",
        f"--port={port}",
        "--loop=auto",
        "--http=auto",
        "--log-level=warning",
        "--no-access-log",
    ]
    env = child_env(TOGGLBRIDGE_REDIS_URL=redis_url, TOGGLBRIDGE_GITHUB_SECRET=SECRET)
    server = spawn(stack, "uvicorn", argv, env)
    url = f"http://{HOST}:{port}"

    def ready() -> bool:
        if not server.alive():
            raise RuntimeError("the receiver's uvicorn process exited at start")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        return False

    wait_for(ready, timeout=30, what="the receiver answering /readyz", interval=0.1)
    return server


def queue_length(client: redis.Redis) -> int:
    return int(client.llen(QUEUE_INGEST))


@dataclass
class Side:
    name: str
    path: str
    expect: int


BARE = Side("bare", BARE_PATH, 200)
INGEST = Side("ingest", INGEST_PATH, 202)


@dataclass
class Rig:
    """What every run uses: the load generator, the server it aims at, Redis, and the CPU meter."""

    loadgen: LoadGenerator
    target: Target
    client: redis.Redis
    meter: CpuMeter


@dataclass
class Tally:
    """One side's timed runs added up."""

    ok: int = 0
    seconds: float = 0.0
    wrong_status: int = 0
    queued: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, result: Result, queued: int, cpu: dict[str, float]) -> None:
        self.ok += result.ok
        self.seconds += result.seconds
        self.wrong_status += result.answered - result.expected
        self.queued += queued
        for name, used in cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def cpu_per_request(self) -> str:
        if not self.cpu:
            return "n/a (psutil missing)"
        return ", ".join(f"{name} {used / self.ok * 1e6:.0f} µs" for name, used in self.cpu.items())


def measure(rig: Rig, side: Side, seconds: float) -> tuple[Result, int, dict[str, float]]:
    """One timed run: its result, how many messages the ingest queue gained, and the CPU the server and Redis
    spent meanwhile."""
    queued_before, cpu_before = queue_length(rig.client), rig.meter.snapshot()
    result = rig.loadgen.run(rig.target, side.path, seconds, tag=uuid.uuid4().hex[:12], expect=side.expect)
    cpu_after = rig.meter.snapshot()
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    return result, queue_length(rig.client) - queued_before, cpu


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each timed run (default 4)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="untimed run of each side first (default 2)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="bare+ingest pairs, interleaved (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--commits", type=int, default=1, help="commits in the pushed body (default 1)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-ingest-")))
        script = work / "push.lua"
        script.write_text(WRK_SCRIPT)
        body = push_body("alice", spaced_commits(args.commits, start=START, salt="ingest"))
        body_file = work / "push.json"
        body_file.write_bytes(body)
        loadgen = choose_loadgen(args.loadgen, script)
        redis_url = stack.enter_context(bench_redis())
        header(
            "ingest: signed GitHub pushes accepted per second / bare endpoint of the same app",
            [
                f"server: one uvicorn process (--loop auto --http auto), the receiver app with {BARE_PATH} added",
                f"load: {loadgen.name}, {args.connections} connections; body {len(body)} bytes "
                f"({args.commits} commit(s)), a new delivery id per request",
                f"runs: {args.warmup:g} s warm-up per side, then {args.rounds} x (bare {args.seconds:g} s, "
                f"ingest {args.seconds:g} s); Redis: {redis_kind(redis_url)}",
            ],
        )
        signature = SIGNATURE.sign(body, SECRET)[SIGNATURE.header]
        target = Target(free_port(), body_file, signature, args.connections)
        server = start_server(stack, redis_url, target.port)
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        meter = CpuMeter({"server": server.process.pid, "redis": redis_pid(redis_url)})
        return run_rounds(args, Rig(loadgen, target, client, meter))


def run_rounds(args: argparse.Namespace, rig: Rig) -> int:
    for side in (BARE, INGEST):
        measure(rig, side, args.warmup)
    tallies = {BARE.name: Tally(), INGEST.name: Tally()}
    ratios = []
    for round_number in range(1, args.rounds + 1):
        rates = {}
        for side in (BARE, INGEST):
            result, queued, cpu = measure(rig, side, args.seconds)
            tallies[side.name].add(result, queued, cpu)
            rates[side.name] = result.rate
            print(
                f"round {round_number}  {side.name:<6} {result.rate:9.1f} req/s"
                f"  ({result.ok} x 2xx in {result.seconds:.2f} s)"
            )
        ratios.append(rates[INGEST.name] / rates[BARE.name])
    print()
    for side in (BARE, INGEST):
        tally = tallies[side.name]
        print(f"{side.name:<7} {tally.rate:9.1f} req/s   per request: CPU {tally.cpu_per_request()}")
    report_ratio("ratio   ", ratios, tallies[INGEST.name].rate / tallies[BARE.name].rate)
    return check(args, rig.loadgen, tallies)


def check(args: argparse.Namespace, loadgen: LoadGenerator, tallies: dict[str, Tally]) -> int:
    """The ingest side measured the enqueue path: every answer had the expected status, and every accepted
    push is one message on the Celery queue. wrk drops the answers still in flight when its time is up (at most
    one per connection and run), so with wrk the queue may hold up to that many more; the Python client waits
    for them, so there the counts must be equal."""
    ingest = tallies[INGEST.name]
    wrong = sum(tally.wrong_status for tally in tallies.values())
    in_flight = args.connections * args.rounds if isinstance(loadgen, Wrk) else 0
    problems = []
    if wrong:
        problems.append(f"{wrong} answers had another status than 200 (bare) or 202 (ingest)")
    if not ingest.ok <= ingest.queued <= ingest.ok + in_flight:
        problems.append(f"the queue gained {ingest.queued} messages for {ingest.ok} accepted pushes")
    print(
        f"check   the ingest queue gained {ingest.queued} messages for {ingest.ok} pushes answered 202",
        end="",
    )
    print(f" (+ up to {in_flight} answers wrk drops at its deadline)" if in_flight else "")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_loadgen"]:
        loadgen_main(sys.argv[2:])
    else:
        sys.exit(run_main(main, sys.argv[1:]))
