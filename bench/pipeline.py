"""Pipeline: events per second from the ingest queue to the Toggl call the simulator answered, divided by the
no-op tasks per second that raw Celery manages with the same worker.

    python -m bench.pipeline [--events 1500] [--noops 3000] [--rounds 3] [--identities 20] [--concurrency 2]

One worker process serves both sides: ``togglbridge worker`` itself (prefork, the concurrency given, the app's
prefetch of 1, late acks, all three queues), with one extra task registered on the same Celery app: ``bench.noop``,
which only INCRs a Redis counter so that we can tell when all of them ran. Same app, same settings, same process,
warmed up once; only the task differs.

Pipeline side: N GitHub push deliveries (one commit each by default, spread round-robin over 20 identities so
per-identity ordering does not serialize everything) are parsed by the GitHub source and queued by the receiver's
own ``EventQueue`` script (dedupe, LPUSH of the Celery message, journal), all N in one Redis pipeline. Each
becomes ``togglbridge.plan_events`` -> outbox -> ``togglbridge.drain_identity`` -> a POST to the simulator (limits
off, in this process). The clock runs from sending that Redis pipeline until the simulator holds all N entries.

Baseline side: N ``bench.noop`` messages, built the same way (``task_message``) and LPUSHed onto the same queue in
one Redis pipeline; the clock runs until the counter reaches N.

Building the messages is not timed on either side; sending them (one round trip) is, on both.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from bench._common import (
    Child,
    CpuMeter,
    bench_redis,
    child_env,
    header,
    redis_kind,
    redis_pid,
    report_ratio,
    run_main,
    spawn,
    terminate_on_sigterm,
    wait_for,
    worker_redis,
)
from togglbridge.events import Event
from togglbridge.queues import TASK_PLAN
from togglbridge.sources import SOURCES
from togglbridge.sources.github_payloads import push_body, spaced_commits
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.enqueue import EventQueue, task_message
from togglbridge.store.outbox import Outbox
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import ALL_QUEUES, QUEUE_INGEST, configure
from workers.app import app as celery_app

NOOP_TASK = "bench.noop"
NOOP_COUNTER = "togglbridge-bench:noops"
POLL_SECONDS = 0.02  # how often completion is checked: well under 1% of a timed run
RUN_TIMEOUT_SECONDS = 300.0


# -- the worker side (runs in the worker child) -------------------------------------------------------------


@celery_app.task(name=NOOP_TASK)  # type: ignore[untyped-decorator]
def noop(counter: str) -> None:
    """Raw Celery's cost of a task, plus the one Redis write that tells the benchmark it ran."""
    worker_redis().incr(counter)


def worker_main(concurrency: int) -> None:
    """``togglbridge worker`` in this process, where ``bench.noop`` is registered on the same app."""
    from togglbridge.cli import main as togglbridge_main

    togglbridge_main(
        ["worker", "--pool", "prefork", "--concurrency", str(concurrency)], prog_name="togglbridge"
    )


# -- setting up ----------------------------------------------------------------------------------------------

RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m}
"""


def rule_file(identities: list[str]) -> str:
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    return "defaults:\n  created_with: togglbridge-bench\nidentities:\n" + listed + RULES


def start_worker(
    stack: contextlib.ExitStack, work: Path, redis_url: str, sim_url: str, concurrency: int, log: Path
) -> Child:
    config_file = work / "togglbridge.yaml"
    env = child_env(
        TOGGLBRIDGE_REDIS_URL=redis_url,
        TOGGLBRIDGE_SIMULATOR_URL=sim_url,
        TOGGLBRIDGE_CONFIG_FILE=str(config_file),
        # Celery logs two lines per task at INFO; the benchmark measures the work, not the terminal.
        TOGGLBRIDGE_LOG_LEVEL="WARNING",
        TOGGLBRIDGE_DATA_DIR=str(work / "data"),
        # "Limits off": the bridge's own pacing (one request a second per credential, shared in Redis) would
        # cap the run at one entry a second per identity and measure the pacing, not the pipeline.
        TOGGLBRIDGE_TOGGL_RATE_LIMIT="off",
        TOGGLBRIDGE_GATEWAY_RATE_LIMIT="off",
    )
    argv = [sys.executable, "-m", "bench.pipeline", "_worker", f"--concurrency={concurrency}"]
    output = stack.enter_context(log.open("wb"))
    return spawn(stack, "worker", argv, env, stdout=output, stderr=subprocess.STDOUT)


# -- building the work (not timed) ---------------------------------------------------------------------------


@dataclass
class Batch:
    """Messages ready to send in one Redis round trip, and how to tell they are all done."""

    name: str
    send: Callable[[], None]
    done: Callable[[], bool]
    size: int


Delivery = tuple[str, list[Event]]


def deliveries(identities: list[str], count: int, commits: int, tag: str, start: datetime) -> list[Delivery]:
    """``count`` pushes round-robin over the identities, parsed by the GitHub source like the receiver does.

    One identity's pushes are ``commits`` minutes apart and later than any earlier batch's, so its entries are
    planned in order and never collide.
    """
    github = SOURCES["github"]
    result = []
    for i in range(count):
        author = identities[i % len(identities)]
        at = start + timedelta(minutes=(i // len(identities)) * (commits + 1))
        body = push_body(author, spaced_commits(commits, start=at, salt=(author, tag, i)))
        delivery = f"{tag}-{i}"
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "Content-Type": "application/json",
        }
        result.append((delivery, github.parse(headers, body)))
    return result


def pipeline_batch(client: redis.Redis, sim: Simulator, work: list[Delivery], entries_expected: int) -> Batch:
    """The receiver's own enqueue script, queued on a Redis pipeline: one round trip for the whole batch."""
    pipe = client.pipeline(transaction=False)
    queue = EventQueue(pipe, celery_app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=10_000)
    for delivery, events in work:
        queue.accept_sync("github", delivery, events)

    def send() -> None:
        answers = pipe.execute()
        assert all(answer == 1 for answer in answers), "a delivery was refused as a duplicate"

    def done() -> bool:
        with sim.lock:
            return len(sim.state.entries) >= entries_expected

    return Batch("pipeline", send, done, sum(len(events) - 1 for _, events in work))


def noop_batch(client: redis.Redis, count: int) -> Batch:
    """N no-op task messages, built like the receiver builds its own, LPUSHed in one round trip."""
    client.delete(NOOP_COUNTER)
    pipe = client.pipeline(transaction=False)
    for _ in range(count):
        pipe.lpush(QUEUE_INGEST, task_message(celery_app, NOOP_TASK, [NOOP_COUNTER], QUEUE_INGEST))

    def done() -> bool:
        return int(client.get(NOOP_COUNTER) or 0) >= count

    def send() -> None:
        pipe.execute()

    return Batch("celery no-op", send, done, count)


@dataclass
class Timing:
    seconds: float
    cpu: dict[str, float]  # CPU seconds per process while the batch ran
    tasks: Counter[str]  # Celery tasks run, by name


def task_totals() -> Counter[str]:
    """Tasks the worker ran so far, by name (Celery's ``inspect stats``; one worker, so one reply)."""
    replies = celery_app.control.inspect(timeout=5.0, limit=1).stats() or {}
    return sum((Counter(reply.get("total", {})) for reply in replies.values()), Counter())


def settle(client: redis.Redis) -> None:
    """Wait until no message waits or runs, so that one run's stragglers (a drain kicked after the last entry
    landed) neither slip into the next run's time nor go uncounted."""

    def idle() -> bool:
        pipe = client.pipeline(transaction=False)
        for queue in ALL_QUEUES:
            pipe.llen(queue)
        pipe.hlen("unacked")  # kombu's Redis transport keeps delivered, unacknowledged messages here
        return not any(pipe.execute())

    wait_for(idle, RUN_TIMEOUT_SECONDS, "the queues emptying", interval=POLL_SECONDS)


def timed(batch: Batch, meter: CpuMeter, client: redis.Redis) -> Timing:
    """Send the batch and wait until it is all done: the seconds that took; and, once the queues are empty
    again, the CPU each process spent on it and the tasks it took."""
    tasks_before = task_totals()
    cpu_before = meter.snapshot()
    started = time.perf_counter()
    batch.send()
    wait_for(batch.done, RUN_TIMEOUT_SECONDS, f"{batch.name}: {batch.size} tasks", interval=POLL_SECONDS)
    seconds = time.perf_counter() - started
    settle(client)
    cpu_after = meter.snapshot()
    cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    return Timing(seconds, cpu, task_totals() - tasks_before)


# -- the benchmark -------------------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    client: redis.Redis
    sim: Simulator
    identities: list[str]
    meter: CpuMeter
    batches: int = 0
    commits_sent: int = 0

    def entries(self) -> int:
        with self.sim.lock:
            return len(self.sim.state.entries)

    def next_pipeline(self, count: int | None = None) -> Batch:
        count = self.args.events if count is None else count
        self.batches += 1
        start = datetime(2026, 11, 2, 9, tzinfo=UTC) + timedelta(days=self.batches)
        work = deliveries(self.identities, count, self.args.commits, f"b{self.batches}", start)
        self.commits_sent += count * self.args.commits
        return pipeline_batch(self.client, self.sim, work, self.commits_sent)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1500, help="pushes per pipeline run (default 1500)")
    parser.add_argument("--noops", type=int, default=3000, help="no-op tasks per baseline run (default 3000)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline+pipeline pairs, interleaved (default 3)"
    )
    parser.add_argument("--identities", type=int, default=20, help="identities the pushes are spread over")
    parser.add_argument("--commits", type=int, default=1, help="commits per push (each one Toggl entry)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker processes (default: one per core)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    identities = [f"dev{i:02}" for i in range(args.identities)]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-pipeline-")))
        (work / "togglbridge.yaml").write_text(rule_file(identities))
        redis_url = stack.enter_context(bench_redis())
        header(
            "pipeline: events/s from the ingest queue to the simulator's answer / Celery no-op tasks/s",
            [
                f"worker: togglbridge worker, prefork, concurrency {args.concurrency}, prefetch 1, late acks; "
                f"one {NOOP_TASK} task added to the same app",
                f"pipeline: {args.events} pushes of {args.commits} commit(s) over {args.identities} identities, "
                "a `log` rule per git.commit, the simulator in this process (limits off)",
                f"baseline: {args.noops} no-op tasks (each one INCR); {args.rounds} interleaved rounds after a "
                f"warm-up; Redis: {redis_kind(redis_url)}",
            ],
        )
        configure(celery_app, redis_url)  # as the receiver does: its messages, and `inspect` to count tasks
        sim = Simulator()
        sim_url = stack.enter_context(serve_simulator(sim))
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        log = work / "worker.log"
        worker = start_worker(stack, work, redis_url, sim_url, args.concurrency, log)
        # This process runs the simulator (and the cheap completion polls); the worker is its child, counted apart.
        meter = CpuMeter(
            {"worker": worker.process.pid, "redis": redis_pid(redis_url)}, {"simulator": os.getpid()}
        )
        bench = Bench(args, client, sim, identities, meter)
        try:
            warm_up(bench, worker.alive)
            return run_rounds(bench)
        except Exception:
            print_tail(log)
            raise


def print_tail(log: Path, lines: int = 30) -> None:
    """The worker's last words, when something went wrong (its output goes to a file, not to the table)."""
    with contextlib.suppress(OSError):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- the worker's last {len(tail)} log lines:", *tail, sep="\n", file=sys.stderr)


def warm_up(bench: Bench, alive: Callable[[], bool]) -> None:
    """Untimed: the worker starts and forks, each identity's workspace is asked once and kept, caches fill."""
    batch = bench.next_pipeline(len(bench.identities))
    batch.send()
    wait_for(lambda: batch.done() or not alive(), 60, "the warm-up batch")
    if not alive():
        raise RuntimeError("the worker exited during the warm-up")
    timed(noop_batch(bench.client, 200), bench.meter, bench.client)


@dataclass
class Side:
    """One side's runs added up."""

    name: str
    unit: str
    items: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    rates: list[float] = field(default_factory=list)
    tasks: Counter[str] = field(default_factory=Counter)

    def add(self, items: int, timing: Timing) -> None:
        self.items += items
        self.seconds += timing.seconds
        self.rates.append(items / timing.seconds)
        for name, used in timing.cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used
        self.tasks += timing.tasks

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    def cpu_per_item(self) -> str:
        if not self.cpu:
            return "n/a (psutil missing)"
        return ", ".join(f"{name} {used / self.items * 1e3:.2f} ms" for name, used in self.cpu.items())

    def tasks_per_item(self) -> str:
        return ", ".join(f"{name} {count / self.items:.2f}" for name, count in sorted(self.tasks.items()))


def run_rounds(bench: Bench) -> int:
    args = bench.args
    noop, pipeline = Side("celery no-op", "tasks/s"), Side("pipeline", "events/s")
    for round_number in range(1, args.rounds + 1):
        for side, make in (
            (noop, lambda: noop_batch(bench.client, args.noops)),
            (pipeline, bench.next_pipeline),
        ):
            batch = make()
            timing = timed(batch, bench.meter, bench.client)
            side.add(batch.size, timing)
            print(
                f"round {round_number}  {side.name:<12} {side.rates[-1]:8.1f} {side.unit:<8}"
                f"  ({batch.size} in {timing.seconds:.2f} s)"
            )
    ratio = pipeline.rate / noop.rate
    per_round = [p / n for p, n in zip(pipeline.rates, noop.rates, strict=True)]
    print()
    for side in (noop, pipeline):
        print(f"{side.name:<13} {side.rate:8.1f} {side.unit}")
        print(f"{'':<13} per item: CPU {side.cpu_per_item()}; tasks {side.tasks_per_item()}")
    report_ratio("ratio         ", per_round, ratio)
    return check(bench)


def check(bench: Bench) -> int:
    """Every event became exactly one entry, nothing is left waiting, nothing died."""
    time.sleep(0.5)  # a duplicate would show up now
    expected = bench.commits_sent
    entries = bench.entries()
    dead = DeadLetters(bench.client).count()
    waiting = sum(Outbox(bench.client).depths().values())
    problems = []
    if entries != expected:
        problems.append(f"the simulator holds {entries} entries for {expected} commits")
    if dead or waiting:
        problems.append(f"{dead} dead letters, {waiting} actions still in outboxes")
    print(f"check         {entries} entries for {expected} commits; {dead} dead letters, {waiting} waiting")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


def _cli(argv: list[str]) -> Any:
    if argv[:1] == ["_worker"]:
        parser = argparse.ArgumentParser(prog="bench.pipeline _worker")
        parser.add_argument("--concurrency", type=int, required=True)
        return worker_main(parser.parse_args(argv[1:]).concurrency)
    return run_main(main, argv)


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
