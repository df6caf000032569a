"""Memory: RSS of the receiver and of the worker's processes, idle and after 10,000 and 20,000 events end to end.

    python -m bench.memory [--events 20000] [--identities 20] [--concurrency 2] [--connections 8]

The receiver runs in its own uvicorn process (the uvicorn CLI, one worker, as ``bench.ingest``); the worker is
``togglbridge worker`` itself (prefork, one pool process per core, prefork's defaults: no recycling of pool
processes); the simulator runs in this process. Every event is a signed GitHub push of one commit (``log`` rule:
one Toggl entry each), sent over keep-alive connections as fast as the receiver answers, round-robin over the
identities, and followed to the simulator: a step ends when the simulator holds its entries and the queues are
empty. The bridge's pacing is off (``TOGGLBRIDGE_TOGGL_RATE_LIMIT=off``), or 20 identities would take 1,000 s.

Measured, after start-up (idle) and after each half of ``--events`` (by default after 10,000 and 20,000):
the RSS of the receiver, of the worker's main process and of each pool process (the processes that plan and
apply), in MB, with their USS (the pages only that process holds: a pool process shares its parent's
copy-on-write pages, which RSS counts in full); and Redis' ``used_memory`` (the whole server's; Redis' memory is
not any process's RSS, printed for the record: ``seen`` keys stay 14 days, the journal is capped at
``TOGGLBRIDGE_JOURNAL_MAX_EVENTS``, 10,000 by default).

Aims: the receiver 100 MB or less, each pool process 150 MB or less, and no growth between the two halves: less
than 5 % (RSS, receiver and each pool process). The check: every push was answered 202 and became exactly one
entry, nothing dead or waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import psutil
import redis

from bench._common import (
    MB,
    OWN_REDIS_URL,
    PUSH_START,
    bench_redis,
    commit_rule_file,
    end_state,
    header,
    idle_queues,
    marker,
    memory_by_family,
    memory_of,
    other_databases,
    post_requests,
    print_log_tail,
    push_of,
    redis_kind,
    redis_used_memory,
    run_main,
    signed_request,
    start_receiver,
    start_worker,
    terminate_on_sigterm,
    wait_for,
    worker_cli,
    worker_ready,
)
from togglbridge.store.redis_server import free_port
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import ALL_QUEUES, configure
from workers.app import app as celery_app

RECEIVER_AIM_MB = 100.0
WORKER_AIM_MB = 150.0
GROWTH_AIM = 0.05  # between the two halves, relative
SETTLE_SECONDS = 2.0  # after the queues empty, before reading the memory: background flushes done
STEP_TIMEOUT_SECONDS = 1800.0
TAG = "m"


@dataclass
class Snapshot:
    label: str
    events: int
    processes: dict[str, tuple[float, float]]  # name -> (RSS MB, USS MB)
    redis_bytes: int
    seconds: float = 0.0


def snapshot(label: str, events: int, pids: dict[str, int], client: redis.Redis) -> Snapshot:
    return Snapshot(
        label, events, {name: memory_of(pid) for name, pid in pids.items()}, redis_used_memory(client)
    )


def holds(sim: Simulator, entries: int) -> bool:
    with sim.lock:
        return len(sim.state.entries) >= entries


def pool_processes(worker_pid: int) -> dict[str, int]:
    """The worker's main process and its pool processes, by name."""
    main = psutil.Process(worker_pid)
    # `python -m togglbridge.cli worker` execs nothing: the child we spawned is Celery's main process.
    children = sorted(child.pid for child in main.children(recursive=False))
    return {"worker main": worker_pid} | {f"pool process {i + 1}": pid for i, pid in enumerate(children)}


def pushes(port: int, first: int, count: int, identities: int) -> list[tuple[str, bytes]]:
    """``count`` signed pushes numbered from ``first``, round-robin over the identities; one identity's commits
    are minutes apart and later than any earlier push's, so its entries never collide."""
    requests = []
    for number in range(first, first + count):
        name = marker(TAG, number)
        body = push_of(f"dev{number % identities:03}", name, PUSH_START + timedelta(minutes=number))
        requests.append((name, signed_request(body, name, port)))
    return requests


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--events",
        type=int,
        default=20_000,
        help="events in all, measured at half and at all (default 20000)",
    )
    parser.add_argument(
        "--identities", type=int, default=20, help="identities the pushes go round (default 20)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker pool processes (default: one per core)",
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="keep-alive connections sending (default 8)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    identities = [f"dev{i:03}" for i in range(args.identities)]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-memory-")))
        config_file = work / "togglbridge.yaml"
        config_file.write_text(commit_rule_file(identities))
        redis_url = stack.enter_context(bench_redis(OWN_REDIS_URL))
        header(
            "memory: RSS of the receiver and the worker's processes, idle and after events end to end",
            [
                f"events: {args.events} signed pushes of one commit (one entry each) over {args.identities} "
                f"identities, {args.connections} connections, measured at {args.events // 2} and {args.events}",
                f"receiver: one uvicorn process; worker: togglbridge worker, prefork, concurrency "
                f"{args.concurrency} (RSS of its main process and of each pool process); bridge pacing off",
                f"simulator in this process (its limits off); Redis: {redis_kind(redis_url, OWN_REDIS_URL)}",
            ],
        )
        configure(celery_app, redis_url)
        sim = Simulator()
        sim_url = stack.enter_context(serve_simulator(sim))
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        log = work / "worker.log"
        worker = start_worker(
            stack,
            worker_cli(args.concurrency),
            redis_url=redis_url,
            sim_url=sim_url,
            config_file=config_file,
            log=log,
        )
        port = free_port()
        try:
            wait_for(
                lambda: worker_ready(celery_app, worker), 60, "the worker answering a ping", interval=0.2
            )
            receiver = start_receiver(stack, redis_url, port)
            pids = {"receiver": receiver.process.pid} | pool_processes(worker.process.pid)
            time.sleep(3.0)  # start-up's last allocations done
            snapshots = [snapshot("idle", 0, pids, client)]
            others = other_databases(client)
            wrong = 0
            half = args.events // 2
            for target in (half, args.events):
                sent = snapshots[-1].events
                requests = pushes(port, sent, target - sent, args.identities)
                started = time.perf_counter()
                answers = asyncio.run(post_requests(port, requests, connections=args.connections))
                wrong += sum(1 for answer in answers if answer.status != 202)
                wait_for(partial(holds, sim, target), STEP_TIMEOUT_SECONDS, f"{target} entries")
                wait_for(lambda: idle_queues(client, ALL_QUEUES), 120, "the queues emptying")
                seconds = time.perf_counter() - started
                time.sleep(SETTLE_SECONDS)
                now = pool_processes(worker.process.pid)
                if now != {k: v for k, v in pids.items() if k != "receiver"}:
                    print(f"NOTE the worker's processes changed: {now}")
                snapshots.append(snapshot(f"after {target} events", target, pids, client))
                snapshots[-1].seconds = seconds
                print(
                    f"{target - sent} events end to end in {seconds:.1f} s ({(target - sent) / seconds:.0f}/s)"
                )
            print()
            report(snapshots, memory_by_family(client))
            after = other_databases(client)
            changed = sorted(db for db in set(others) | set(after) if others.get(db) != after.get(db))
            if changed:
                print(
                    f"NOTE {', '.join(changed)} of this Redis changed meanwhile (another user): used_memory is "
                    "the whole server's, so its figures include their changes"
                )
            return check(client, sim, args.events, wrong)
        except Exception:
            print_log_tail(log)
            raise


def report(snapshots: list[Snapshot], families: dict[str, tuple[int, int]]) -> bool:
    """The table, the growth between the halves, and the aims; whether all were met."""
    idle, half, full = snapshots
    names = list(idle.processes)
    labels = [f"after {s.events} events" if s.events else "idle (started)" for s in snapshots]
    print(
        f"{'RSS MB (USS MB)':<22}" + "".join(f"{label:>22}" for label in labels) + f"{'growth 2nd half':>18}"
    )
    growths: dict[str, float] = {}
    for name in names:
        cells = "".join(f"{s.processes[name][0]:>13.1f} ({s.processes[name][1]:5.1f})" for s in snapshots)
        growth = full.processes[name][0] / half.processes[name][0] - 1
        growths[name] = growth
        print(f"{name:<22}{cells}{growth:>+17.1%}")
    redis_cells = "".join(f"{s.redis_bytes / MB:>22.1f}" for s in snapshots)
    print(f"{'redis used_memory':<22}{redis_cells}{full.redis_bytes / half.redis_bytes - 1:>+17.1%}")
    per_event = (full.redis_bytes - half.redis_bytes) / max(1, full.events - half.events)
    print(
        f"{'':<22}(Redis grew {per_event:.0f} bytes per event in the 2nd half; what it holds now, by family:)"
    )
    for label, (keys, size) in sorted(families.items(), key=lambda item: -item[1][1]):
        print(
            f"{'':<24}{label:<30}{keys:>8} keys {size / MB:7.1f} MB {size / full.events:6.0f} bytes per event"
        )
    print()
    pool = [name for name in names if name.startswith("pool process")]
    receiver_mb = max(s.processes["receiver"][0] for s in snapshots)
    worker_mb = max(s.processes[name][0] for s in snapshots for name in pool)
    watched = ["receiver", *pool]
    worst = max(watched, key=lambda name: growths[name])
    aims = [
        (
            "receiver RSS",
            f"{receiver_mb:.1f} MB",
            f"{RECEIVER_AIM_MB:g} MB or less",
            receiver_mb <= RECEIVER_AIM_MB,
        ),
        (
            "pool process RSS",
            f"{worker_mb:.1f} MB (the larger)",
            f"{WORKER_AIM_MB:g} MB or less",
            worker_mb <= WORKER_AIM_MB,
        ),
        (
            "growth 2nd half",
            f"{growths[worst]:+.1%} ({worst}, the largest)",
            f"less than {GROWTH_AIM:.0%} (receiver, each pool process)",
            all(abs(growths[name]) < GROWTH_AIM for name in watched),
        ),
    ]
    for what, value, aim, met in aims:
        print(f"{what:<18}{value:<40}aim {aim}: {'met' if met else 'NOT met'}")
    return all(met for *_, met in aims)


def check(client: redis.Redis, sim: Simulator, events: int, wrong: int) -> int:
    """Every push was answered 202 and became exactly one entry; nothing is left waiting or dead."""
    end = end_state(sim, client, [marker(TAG, number) for number in range(events)])
    not_one = len(end.not_one)
    problems = []
    if wrong:
        problems.append(f"{wrong} pushes were not answered 202")
    if not_one or end.extra:
        problems.append(f"{not_one} events have not exactly one entry; {end.extra} entries nobody sent")
    problems += end.leftovers()
    print(
        f"check             {events - not_one}/{events} events applied as exactly one entry, {end.extra} other "
        f"entries; {events - wrong} answered 202; {end.dead} dead letters, {end.waiting} waiting"
    )
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(run_main(main, sys.argv[1:]))
