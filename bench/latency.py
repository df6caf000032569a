"""Latency: a delivery's 202 to its Toggl request, over a raw Celery task's pickup, both at a steady rate.

The time from the receiver's 202 to the simulator receiving that event's Toggl request, divided by the time from
publishing a raw Celery task to its body starting, with the same worker.

    python -m bench.latency [--rate 20] [--seconds 30] [--rounds 3] [--identities 40] [--rate-limit on|off]

Bridge side: signed GitHub pushes of one commit each are written to the receiver (the real one, in its own
uvicorn process) at a steady ``--rate`` (default 20 a second), open loop: push i goes at start + i / rate
whether or not the earlier ones were answered, from a sender in its own process. Each commit's first line is a
marker, which the rule file's ``log`` action carries into the entry's description. A wrapper around the simulator's
ASGI app (in this process) notes when each marked request arrives. The latency of one event is that arrival
minus the moment the sender read its 202: accepted, queued, picked up by ``togglbridge.plan_events``, planned,
drained inline (lock, head action, intent, pacing) and sent.

Baseline side: a raw Celery task, ``bench.pickup``, registered on the same app and served by the same worker
(``togglbridge worker``: prefork, one process per core, prefetch 1, late acks), sent with Celery's own
``send_task`` onto the same queue at the same rate by the same kind of sender; its latency is the moment its
body starts minus the moment ``send_task`` returned (the message is in Redis and the sender knows it: what the
202 says on the other side). All times are ``time.monotonic()``: one clock for every process of the machine.

Sides interleave (baseline, bridge; ``--rounds`` times), each ``--seconds`` long. The headline is the median of the
rounds' p99 ratios (bridge / baseline); the aim is 2 or less. p50 is printed beside it.

The bridge's pacing (``TOGGLBRIDGE_TOGGL_RATE_LIMIT``) stays at a deployment's default, one request a second per
credential, and each identity pushes at most once every two seconds (``--identities`` is twice the rate by
default), so the pacing never has to wait and what is measured is the bridge, not the limit; ``--rate-limit
off`` turns the pacing off instead. The check: every push was answered 202 and reached the simulator exactly
once, as exactly one entry; every baseline task ran exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis

from bench._common import (
    OWN_REDIS_URL,
    PUSH_START,
    Arrivals,
    CpuMeter,
    bench_redis,
    commit_rule_file,
    end_state,
    header,
    idle_queues,
    marker,
    post_requests,
    print_log_tail,
    push_of,
    redis_kind,
    redis_pid,
    report_aim,
    run_main,
    signed_request,
    start_receiver,
    start_worker,
    terminate_on_sigterm,
    wait_for,
    worker_ready,
    worker_redis,
)
from bench.ingest import subprocess_output
from togglbridge.store import keys, text
from togglbridge.store.redis_server import free_port
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import ALL_QUEUES, QUEUE_INGEST, configure
from workers.app import app as celery_app

PICKUP_TASK = "bench.pickup"
PICKUP_TIMES = "togglbridge-bench:pickup-times"  # marker -> when its task body started (the first time)
PICKUP_RUNS = "togglbridge-bench:pickup-runs"  # marker -> how many times its task body ran
AIM_P99 = 2.0  # the bridge's p99 may be at most this many times the baseline's
ARRIVAL_TIMEOUT_SECONDS = 120.0


# -- the worker side (runs in the worker child) -------------------------------------------------------------


@celery_app.task(name=PICKUP_TASK)  # type: ignore[untyped-decorator]
def pickup(name: str) -> None:
    """The baseline: note when the body started (first thing), then that it ran (one round trip, after)."""
    started = time.monotonic()
    pipe = worker_redis().pipeline(transaction=False)
    pipe.hsetnx(PICKUP_TIMES, name, repr(started))
    pipe.hincrby(PICKUP_RUNS, name, 1)
    pipe.execute()


def worker_main(concurrency: int) -> None:
    """``togglbridge worker`` in this process, where ``bench.pickup`` is registered on the same app."""
    from togglbridge.cli import main as togglbridge_main

    togglbridge_main(
        ["worker", "--pool", "prefork", "--concurrency", str(concurrency)], prog_name="togglbridge"
    )


# -- the sender (runs in its own process) ---------------------------------------------------------------------


def identity_name(number: int) -> str:
    return f"dev{number:03}"


def send_main(argv: list[str]) -> None:
    """Send ``--count`` pushes (bridge) or pickup tasks (celery) at ``--rate`` a second; one JSON line each."""
    parser = argparse.ArgumentParser(prog="bench.latency _send")
    parser.add_argument("--side", choices=("bridge", "celery"), required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--redis-url", required=True)
    for name in ("port", "first", "count", "identities"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    args = parser.parse_args(argv)
    numbers = range(args.first, args.first + args.count)
    if args.side == "bridge":
        requests = []
        for number in numbers:
            name = marker(args.tag, number)
            # Round-robin: identity k pushes events k, k + identities, ...: every identities / rate seconds.
            body = push_of(
                identity_name(number % args.identities), name, PUSH_START + timedelta(minutes=number)
            )
            requests.append((name, signed_request(body, name, args.port)))
        answers = asyncio.run(post_requests(args.port, requests, rate=args.rate))
        lines = [[a.name, a.sent, a.answered, a.status] for a in answers]
    else:
        configure(celery_app, args.redis_url)
        celery_app.send_task(PICKUP_TASK, args=[marker("warm", 0)], queue=QUEUE_INGEST)  # connect first
        lines = []
        start = time.monotonic() + 0.05
        for i, number in enumerate(numbers):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            name = marker(args.tag, number)
            sent = time.monotonic()
            celery_app.send_task(PICKUP_TASK, args=[name], queue=QUEUE_INGEST)
            lines.append([name, sent, time.monotonic(), 0])
    for line in lines:
        print(json.dumps(line))


# -- the benchmark -------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One event: its latency (seconds), and what the sender saw (the 202's round trip, or send_task's call)."""

    latency: float
    answer: float


@dataclass
class Run:
    side: str
    samples: list[Sample]
    cpu: dict[str, float]
    wrong_status: int = 0
    slip: float = 0.0  # how late the sender wrote an event, at worst, against its schedule (seconds)

    def quantile(self, q: int) -> float:
        return quantile([s.latency for s in self.samples], q)


def quantile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of the values."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Bench:
    args: argparse.Namespace
    client: redis.Redis
    sim: Simulator
    arrivals: Arrivals
    port: int
    redis_url: str
    meter: CpuMeter
    next_number: int = 0
    bridge_sent: list[str] = field(default_factory=list)
    celery_sent: list[str] = field(default_factory=list)

    def send(self, side: str, count: int) -> list[list[Any]]:
        """Run the sender child for ``count`` events of ``side``; its lines (name, sent, answered, status)."""
        first, self.next_number = self.next_number, self.next_number + count
        argv = [
            sys.executable, "-m", "bench.latency", "_send", f"--side={side}", f"--tag={side[0]}",
            f"--redis-url={self.redis_url}", f"--port={self.port}", f"--first={first}", f"--count={count}",
            f"--identities={self.args.identities}", f"--rate={self.args.rate}",
        ]  # fmt: skip
        seconds = count / self.args.rate
        output = subprocess_output(argv, timeout=seconds + 60)
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("[")]
        (self.bridge_sent if side == "bridge" else self.celery_sent).extend(line[0] for line in lines)
        return lines

    def run(self, side: str, count: int) -> Run:
        cpu_before = self.meter.snapshot()
        lines = self.send(side, count)
        names = [line[0] for line in lines]
        if side == "bridge":
            seen = self.arrivals.seen
            wait_for(
                lambda: all(n in seen for n in names), ARRIVAL_TIMEOUT_SECONDS, f"{count} pushes' requests"
            )
            samples = [Sample(seen[name][0] - answered, answered - sent) for name, sent, answered, _ in lines]
        else:
            started = wait_for(
                lambda: (times := self.client.hmget(PICKUP_TIMES, names)) and None not in times and times,
                ARRIVAL_TIMEOUT_SECONDS,
                f"{count} pickup tasks",
            )
            samples = [
                Sample(float(start) - answered, answered - sent)
                for (_, sent, answered, _), start in zip(lines, started, strict=True)
            ]
        self.settle()
        cpu_after = self.meter.snapshot()
        wrong = sum(1 for line in lines if side == "bridge" and line[3] != 202)
        first = lines[0][1]
        slip = max(sent - first - i / self.args.rate for i, (_, sent, _, _) in enumerate(lines))
        return Run(side, samples, {k: cpu_after[k] - cpu_before[k] for k in cpu_before}, wrong, slip)

    def settle(self) -> None:
        """Queues empty, nothing unacknowledged, nobody parked: the next run starts from a quiet worker."""
        wait_for(lambda: idle_queues(self.client, ALL_QUEUES), 120, "the queues emptying")
        wait_for(lambda: not self.client.zcard(keys.PARKED), 120, "no identity parked")
        time.sleep(1.0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="events a second, both sides (default 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each side's run (default 30)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="baseline+bridge pairs, interleaved (default 3)"
    )
    parser.add_argument(
        "--identities",
        type=int,
        default=None,
        help="identities the pushes go round (default: twice the rate, so each pushes every 2 s)",
    )
    parser.add_argument(
        "--rate-limit",
        choices=("on", "off"),
        default="on",
        help="the bridge's pacing, 1 request/s per credential (default on, as deployed)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker processes (default: one per core)",
    )
    args = parser.parse_args(argv)
    if args.identities is None:
        args.identities = max(1, round(2 * args.rate))
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    identities = [identity_name(i) for i in range(args.identities)]
    every = args.identities / args.rate
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-latency-")))
        config_file = work / "togglbridge.yaml"
        config_file.write_text(commit_rule_file(identities))
        redis_url = stack.enter_context(bench_redis(OWN_REDIS_URL))
        pacing = "1/second" if args.rate_limit == "on" else "off"
        header(
            "latency: delivery's 202 -> the simulator receives its Toggl request / Celery task pickup",
            [
                f"rate: {args.rate:g} events/s on each side, open loop (sent on schedule, whatever the answers); "
                f"{args.rounds} x (baseline {args.seconds:g} s, bridge {args.seconds:g} s) after a warm-up",
                f"bridge: signed pushes of one commit to the receiver (uvicorn), round-robin over {args.identities} "
                f"identities (each every {every:g} s); bridge pacing {pacing} per credential"
                + (" (never has to wait at this spacing)" if pacing != "off" and every >= 1.5 else ""),
                f"baseline: {PICKUP_TASK} via send_task on the same queue; worker: togglbridge worker, prefork, "
                f"concurrency {args.concurrency}, both sides; the simulator in this process (its limits off); "
                f"Redis: {redis_kind(redis_url, OWN_REDIS_URL)}",
            ],
        )
        if pacing != "off" and every < 1.0:
            print(f"NOTE each identity pushes every {every:g} s: the 1/s pacing will make events wait\n")
        configure(celery_app, redis_url)  # for the worker's ping
        sim = Simulator()
        arrivals = Arrivals(sim.app)
        sim.app = arrivals  # type: ignore[assignment]  # serve_in_thread serves sim.app: the wrapped one
        sim_url = stack.enter_context(serve_simulator(sim))
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        log = work / "worker.log"
        argv_worker = [sys.executable, "-m", "bench.latency", "_worker", f"--concurrency={args.concurrency}"]
        worker = start_worker(
            stack, argv_worker, redis_url=redis_url, sim_url=sim_url, config_file=config_file, log=log,
            rate_limit=pacing,
        )  # fmt: skip
        port = free_port()
        try:
            wait_for(
                lambda: worker_ready(celery_app, worker), 60, "the worker answering a ping", interval=0.2
            )
            receiver = start_receiver(stack, redis_url, port)
            meter = CpuMeter(
                {
                    "receiver": receiver.process.pid,
                    "worker": worker.process.pid,
                    "redis": redis_pid(redis_url),
                },
                {"simulator": os.getpid()},
            )
            bench = Bench(args, client, sim, arrivals, port, redis_url, meter)
            warm_up(bench)
            return run_rounds(bench)
        except Exception:
            print_log_tail(log)
            raise


def warm_up(bench: Bench) -> None:
    """Untimed: each identity's first event (its workspace asked once and kept; with pacing on, the second
    request of that first drain waits its second), the pool processes' runtimes built, connections opened."""
    bench.run("bridge", bench.args.identities)
    bench.run("celery", max(20, round(bench.args.rate * 2)))
    time.sleep(2.0)  # every pacing window empty again


def describe(run: Run) -> str:
    latencies = [s.latency * 1e3 for s in run.samples]
    return (
        f"p50 {quantile(latencies, 50):7.2f} ms  p90 {quantile(latencies, 90):7.2f}  "
        f"p99 {quantile(latencies, 99):7.2f}  max {max(latencies):7.2f}  ({len(latencies)} events)"
    )


def run_rounds(bench: Bench) -> int:
    args = bench.args
    count = max(2, round(args.rate * args.seconds))
    runs: dict[str, list[Run]] = {"celery": [], "bridge": []}
    ratios: dict[int, list[float]] = {50: [], 99: []}
    for round_number in range(1, args.rounds + 1):
        for side in ("celery", "bridge"):
            run = bench.run(side, count)
            runs[side].append(run)
            label = "baseline" if side == "celery" else "bridge"
            print(f"round {round_number}  {label:<8} {describe(run)}")
        for q in ratios:
            ratios[q].append(runs["bridge"][-1].quantile(q) / runs["celery"][-1].quantile(q))
    print()
    pooled: dict[str, list[float]] = {}
    for side, label in (
        ("celery", "baseline (Celery task pickup)"),
        ("bridge", "bridge (202 -> Toggl request)"),
    ):
        all_samples = [s for run in runs[side] for s in run.samples]
        pooled[side] = [s.latency for s in all_samples]
        merged = Run(side, all_samples, {})
        cpu: dict[str, float] = {}
        for run in runs[side]:
            for name, used in run.cpu.items():
                cpu[name] = cpu.get(name, 0.0) + used
        per_event = ", ".join(f"{name} {used / len(all_samples) * 1e3:.2f} ms" for name, used in cpu.items())
        sender = "202 round trip" if side == "bridge" else "send_task call"
        answer = [s.answer * 1e3 for s in all_samples]
        print(f"{label}")
        print(f"    {describe(merged)}")
        slip = max(run.slip for run in runs[side]) * 1e3
        print(
            f"    {sender}: p50 {quantile(answer, 50):.2f} ms, p99 {quantile(answer, 99):.2f} ms; "
            f"sender behind its schedule by {slip:.1f} ms at worst"
        )
        print(f"    CPU per event at this rate (idle work included): {per_event or 'n/a (psutil missing)'}")
    print()
    for q in (50, 99):
        overall = quantile(pooled["bridge"], q) / quantile(pooled["celery"], q)
        if q == 99:
            report_aim(f"ratio p{q}     ", ratios[q], overall, AIM_P99, lower=True)
        else:
            headline = statistics.median(ratios[q])
            rounds = ", ".join(f"{r:.3f}" for r in ratios[q])
            print(
                f"ratio p{q}     {headline:.3f}  (median of rounds {rounds}; all rounds pooled {overall:.3f})"
            )
    wrong = sum(run.wrong_status for run in runs["bridge"])
    return check(bench, wrong)


def check(bench: Bench, wrong_status: int) -> int:
    """Every push was answered 202 and reached the simulator exactly once, as one entry; every pickup task ran
    once; nothing is left waiting or dead."""
    sent = bench.bridge_sent
    end = end_state(bench.sim, bench.client, sent)
    arrived = bench.arrivals.seen
    twice = [name for name in sent if len(arrived.get(name, ())) > 1]
    missing = [name for name in sent if name not in arrived]
    not_one, extra, dead, waiting = end.not_one, end.extra, end.dead, end.waiting
    runs = {text(k): int(v) for k, v in bench.client.hgetall(PICKUP_RUNS).items()}
    tasks_wrong = [name for name in bench.celery_sent if runs.get(name) != 1]
    problems = []
    if wrong_status:
        problems.append(f"{wrong_status} pushes were not answered 202")
    if missing or twice:
        problems.append(f"{len(missing)} pushes never reached the simulator, {len(twice)} reached it twice")
    if not_one or extra:
        problems.append(f"{len(not_one)} pushes have not exactly one entry; {extra} entries nobody sent")
    if tasks_wrong:
        problems.append(f"{len(tasks_wrong)} pickup tasks did not run exactly once")
    problems += end.leftovers()
    print(
        f"check         {len(sent)} pushes (warm-up included): {len(sent) - len(missing) - len(twice)} reached "
        f"the simulator exactly once, {len(sent) - len(not_one)} with exactly one entry; "
        f"{len(bench.celery_sent) - len(tasks_wrong)}/{len(bench.celery_sent)} pickup tasks ran once; "
        f"{dead} dead letters, {waiting} waiting"
    )
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


def _cli(argv: list[str]) -> Any:
    if argv[:1] == ["_worker"]:
        parser = argparse.ArgumentParser(prog="bench.latency _worker")
        parser.add_argument("--concurrency", type=int, required=True)
        return worker_main(parser.parse_args(argv[1:]).concurrency)
    if argv[:1] == ["_send"]:
        return send_main(argv[1:])
    return run_main(main, argv)


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
