"""Backlog: how fast a planned backlog drains across 1,000 identities, over the same backlog across 20.

    python -m bench.backlog [--events 100000] [--identities 1000] [--baseline-identities 20] [--rounds 2]

Each side starts from an empty database and a reset simulator, with no worker running. The backlog is filled the
way the bridge fills it: ``--events`` GitHub pushes of one commit each (a ``log`` rule: one Toggl entry each),
round-robin over the side's identities, go through the receiver's accept script (``EventQueue``: seen key, Celery
message, journal; on Redis pipelines), then through the plan stage (``togglbridge.dispatch.dispatch``, what
``togglbridge.plan_events`` runs before its inline drain, message by message, in this process). Then the
backlog waits: every action in its identity's outbox, nothing queued. Redis' ``used_memory`` before the fill and
with the backlog waiting, over the number of waiting actions, gives the memory per waiting action (aim: 1 KB or
less); the keys of the benchmark's database, summed with ``MEMORY USAGE`` by family, say where it goes.

Then ``togglbridge worker`` starts (prefork, one pool process per core) and, once it answers a ping, the clock
starts with one ``togglbridge.drain_identity`` message per identity (what the beat's tick sends for idle work) and
stops when the simulator holds every entry: the drain rate in events per second. The headline is the rate with
``--identities`` (1,000) over the rate with ``--baseline-identities`` (20), the same number of events: aim 0.9 or
more. Each round is one pair of sides; the second round runs them in the other order (20, 1,000, then 1,000,
20), so that a burst of other work on the machine during one side spoils one round's ratio, not the result: the
headline is the median of the rounds' ratios. The CPU per event of each side (worker, Redis, simulator) is printed
too: it moves much less with the machine's load than a rate does. The default size takes 20 to 25 minutes on 2
cores (a side: 1.5 to 2.5 minutes of filling and 3.5 to 4.5 of draining); ``--events 30000`` about 6.

Limits off: the bridge's pacing, one request a second per credential, would cap 20 identities at 20 entries a
second and measure the pacing, so the worker gets ``TOGGLBRIDGE_TOGGL_RATE_LIMIT=off``; the simulator's own limits
(rate, quota, injected errors, latency) are off by default, which the header shows. The check: every event's
entry exists exactly once, no dead letters, every outbox empty.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import redis

from bench._common import (
    OWN_REDIS_URL,
    PUSH_START,
    CpuMeter,
    bench_redis,
    commit_rule_file,
    end_state,
    header,
    idle_queues,
    marker,
    memory_by_family,
    other_databases,
    print_log_tail,
    push_of,
    redis_kind,
    redis_pid,
    redis_used_memory,
    report_aim,
    run_main,
    start_worker,
    terminate_on_sigterm,
    wait_for,
    worker_cli,
    worker_ready,
)
from togglbridge.config import Config, parse_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.queues import QUEUE_TOGGL, TASK_DRAIN, TASK_PLAN
from togglbridge.sources import SOURCES
from togglbridge.store import text
from togglbridge.store.enqueue import RECEIVED_AT_HEADER, EventQueue, task_message
from togglbridge.store.journal import Journal
from togglbridge.store.outbox import Outbox
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import ALL_QUEUES, QUEUE_INGEST, configure
from workers.app import app as celery_app

AIM = 0.9  # drain rate with many identities over the rate with few
MEMORY_AIM_BYTES = 1024  # Redis memory per waiting action
JOURNAL_CAP = 10_000  # TOGGLBRIDGE_JOURNAL_MAX_EVENTS' default
CHUNK = 1000  # pushes accepted per Redis pipeline; messages planned per RPOP
DRAIN_TIMEOUT_SECONDS = 3600.0


@dataclass
class Fill:
    waiting: int  # actions waiting in the outboxes
    used_before: int
    used_accepted: int  # messages queued, not yet planned
    used_planned: int  # the backlog waiting
    by_family: dict[str, tuple[int, int]]  # family -> (keys, bytes by MEMORY USAGE)
    accept_seconds: float
    plan_seconds: float
    others_changed: list[str]

    @property
    def per_action(self) -> float:
        return (self.used_planned - self.used_before) / max(1, self.waiting)


@dataclass
class Drain:
    identities: int
    events: int
    seconds: float
    cpu: dict[str, float]
    routes: dict[str, int]
    fill: Fill
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def used_memory(client: redis.Redis) -> int:
    time.sleep(0.5)  # replies and pipelines done, the allocator's counters settled
    return redis_used_memory(client)


def accept(client: redis.Redis, names: list[str], tag: str, count: int) -> None:
    """The receiver's accept script for each push (parsed by the GitHub source), a pipeline per ``CHUNK``."""
    github = SOURCES["github"]
    for start in range(0, count, CHUNK):
        pipe = client.pipeline(transaction=False)
        queue = EventQueue(pipe, celery_app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=JOURNAL_CAP)
        for number in range(start, min(count, start + CHUNK)):
            name = marker(tag, number)
            # Identity k's commits are len(names) minutes apart: later ones never overlap earlier entries.
            body = push_of(names[number % len(names)], name, PUSH_START + timedelta(minutes=number))
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": name,
                "Content-Type": "application/json",
            }
            queue.accept_sync("github", name, github.parse(headers, body))
        assert all(answer == 1 for answer in pipe.execute()), "a delivery was refused as a duplicate"


def plan(client: redis.Redis, config: Config) -> None:
    """What ``togglbridge.plan_events`` does with each queued message before its inline drain: ``dispatch``
    (actions into the outboxes, the journal's planned record, the message's safety copy deleted)."""
    journal = Journal(client, cap=JOURNAL_CAP)
    while messages := client.rpop(QUEUE_INGEST, CHUNK):
        for message in messages:
            envelope = orjson.loads(text(message))
            body = orjson.loads(base64.b64decode(envelope["body"]))
            headers = envelope["headers"]
            events = [Event.model_validate(event) for event in body[0][0]]
            dispatch(
                client,
                journal,
                config,
                events,
                message_id=headers["id"],
                received_at=headers.get(RECEIVED_AT_HEADER),
            )


def fill(client: redis.Redis, sim: Simulator, names: list[str], tag: str, count: int) -> Fill:
    """An empty database and simulator, then the backlog accepted and planned, with no worker running."""
    client.flushdb()  # ours (db 10, or the one given): the previous side's entries, ledger and journal go
    sim.reset()
    config = parse_config(commit_rule_file(names), "backlog.yaml")
    others = other_databases(client)
    before = used_memory(client)
    started = time.perf_counter()
    accept(client, names, tag, count)
    accepted_at = time.perf_counter()
    used_accepted = used_memory(client)
    planning = time.perf_counter()
    plan(client, config)
    planned_at = time.perf_counter()
    used_planned = used_memory(client)
    after = other_databases(client)
    changed = sorted(db for db in set(others) | set(after) if others.get(db) != after.get(db))
    waiting = sum(Outbox(client).depths().values())
    return Fill(
        waiting,
        before,
        used_accepted,
        used_planned,
        memory_by_family(client),
        accepted_at - started,
        planned_at - planning,
        changed,
    )


@dataclass
class Rig:
    args: argparse.Namespace
    work: Path
    redis_url: str
    client: redis.Redis
    sim: Simulator
    sim_url: str

    def side(self, identities: int, tag: str) -> Drain:
        """Fill a backlog for ``identities``, start a worker, kick every identity, time until all is applied."""
        names = [f"id{i:04}" for i in range(identities)]
        count = self.args.events
        config_file = self.work / f"togglbridge-{identities}.yaml"
        config_file.write_text(commit_rule_file(names))
        backlog = fill(self.client, self.sim, names, tag, count)
        log = self.work / f"worker-{identities}.log"
        with contextlib.ExitStack() as stack:
            try:
                worker = start_worker(
                    stack,
                    worker_cli(self.args.concurrency),
                    redis_url=self.redis_url,
                    sim_url=self.sim_url,
                    config_file=config_file,
                    log=log,
                )
                wait_for(lambda: worker_ready(celery_app, worker), 60, "the worker answering a ping", 0.2)
                meter = CpuMeter(
                    {"worker": worker.process.pid, "redis": redis_pid(self.redis_url)},
                    {"simulator": os.getpid()},
                )
                kicks = [task_message(celery_app, TASK_DRAIN, [name], QUEUE_TOGGL) for name in names]
                cpu_before = meter.snapshot()
                started = time.perf_counter()
                self.client.lpush(QUEUE_TOGGL, *kicks)
                wait_for(lambda: holds(self.sim, count), DRAIN_TIMEOUT_SECONDS, f"{count} entries", 0.05)
                seconds = time.perf_counter() - started
                wait_for(lambda: idle_queues(self.client, ALL_QUEUES), 120, "the queues emptying")
                cpu_after = meter.snapshot()
            except Exception:
                print_log_tail(log)
                raise
        routes = dict(self.sim.stats.as_dict()["by_route"])
        cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
        return Drain(identities, count, seconds, cpu, routes, backlog, self.check(tag, count))

    def check(self, tag: str, count: int) -> list[str]:
        """Every event's entry exists exactly once; nothing dead, nothing waiting."""
        end = end_state(self.sim, self.client, [marker(tag, number) for number in range(count)])
        problems = []
        if end.not_one or end.extra:
            problems.append(
                f"{len(end.not_one)} of {count} events have not exactly one entry; {end.extra} entries nobody sent"
            )
        return problems + end.leftovers()


def holds(sim: Simulator, entries: int) -> bool:
    with sim.lock:
        return len(sim.state.entries) >= entries


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--events", type=int, default=100_000, help="events in each side's backlog (default 100000)"
    )
    parser.add_argument(
        "--identities", type=int, default=1000, help="identities, measured side (default 1000)"
    )
    parser.add_argument(
        "--baseline-identities", type=int, default=20, help="identities, baseline (default 20)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="pairs of sides, order alternating (default 2)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="worker pool processes (default: one per core)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-bench-backlog-")))
        redis_url = stack.enter_context(bench_redis(OWN_REDIS_URL))
        sim = Simulator()
        knobs = sim.knobs
        limits = {
            "rate_limit": knobs.rate_limit,
            "quota_per_hour": knobs.quota_per_hour,
            "me_quota_per_hour": knobs.me_quota_per_hour,
            "error_rate": knobs.error_rate,
            "throttle_rate": knobs.throttle_rate,
            "latency_ms": knobs.latency_ms,
        }
        header(
            f"backlog: drain rate of {args.events} planned events over {args.identities} identities / over "
            f"{args.baseline_identities}",
            [
                f"backlog: {args.events} pushes of one commit (one entry each) per side, accepted and planned "
                "with no worker running; each side from an empty database and a reset simulator",
                f"drain: togglbridge worker, prefork, concurrency {args.concurrency}, started after the fill; one "
                "drain_identity kick per identity; bridge pacing off (TOGGLBRIDGE_TOGGL_RATE_LIMIT=off)",
                "simulator in this process, limits: "
                + ", ".join(f"{name} {value}" for name, value in limits.items())
                + f"; Redis: {redis_kind(redis_url, OWN_REDIS_URL)}",
            ],
        )
        if any(limits.values()):
            raise SystemExit("the simulator's limits are not all off: the drain would measure them")
        configure(celery_app, redis_url)
        sim_url = stack.enter_context(serve_simulator(sim))
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        rig = Rig(args, work, redis_url, client, sim, sim_url)
        return run_rounds(rig)


def describe(drain: Drain) -> str:
    cpu = ", ".join(f"{name} {used / drain.events * 1e3:.2f} ms" for name, used in drain.cpu.items())
    return f"{drain.rate:7.1f} events/s  ({drain.events} in {drain.seconds:.1f} s; CPU per event: {cpu})"


def run_rounds(rig: Rig) -> int:
    args = rig.args
    many: list[Drain] = []
    few: list[Drain] = []
    for round_number in range(1, args.rounds + 1):
        order = [(args.baseline_identities, few), (args.identities, many)]
        if round_number % 2 == 0:
            order.reverse()
        for identities, drains in order:
            tag = f"r{round_number}i{identities}"
            drain = rig.side(identities, tag)
            drains.append(drain)
            backlog = drain.fill
            print(
                f"round {round_number}  {identities:>5} identities  fill: accepted in {backlog.accept_seconds:.1f} s, "
                f"planned in {backlog.plan_seconds:.1f} s; {backlog.waiting} actions waiting, "
                f"{backlog.per_action:.0f} bytes each"
            )
            print(f"round {round_number}  {identities:>5} identities  drain: {describe(drain)}")
    print()
    report_memory(many[-1].fill, args.identities)
    print()
    for label, drains in (("baseline", few), ("measured", many)):
        routes = Counter[str]()
        for drain in drains:
            routes.update(drain.routes)
        events = sum(d.events for d in drains)
        per_event = ", ".join(f"{route} {n / events:.3f}" for route, n in routes.most_common())
        print(f"{label:<9}{drains[0].identities:>5} identities: Toggl requests per event: {per_event}")
    per_round = [m.rate / f.rate for m, f in zip(many, few, strict=True)]
    pooled = (sum(d.events for d in many) / sum(d.seconds for d in many)) / (
        sum(d.events for d in few) / sum(d.seconds for d in few)
    )
    print()
    report_aim("ratio         ", per_round, pooled, AIM, lower=False)
    # The machine is shared: a side that ran while something else took a core drains slower for no fault of its
    # own. CPU per event is the bridge's own cost, whatever else runs: if it is the same on both sides, a rate
    # ratio far from 1 is the machine's doing, not the bridge's.
    cpu_many, cpu_few = (
        sum(sum(d.cpu.values()) for d in ds) / sum(d.events for d in ds) for ds in (many, few)
    )
    print(
        f"CPU per event (worker + Redis + simulator): {cpu_many * 1e3:.2f} ms with {args.identities} identities, "
        f"{cpu_few * 1e3:.2f} ms with {args.baseline_identities} ({cpu_many / cpu_few - 1:+.1%} with "
        f"{args.identities})"
    )
    per_action = statistics.median(d.fill.per_action for d in [*many, *few])
    print(
        f"memory        {per_action:.0f} bytes of Redis per waiting action (median of the sides); aim "
        f"{MEMORY_AIM_BYTES} or less: {'met' if per_action <= MEMORY_AIM_BYTES else 'NOT met'}"
    )
    problems = [problem for drain in [*many, *few] for problem in drain.problems]
    entries = sum(d.events for d in [*many, *few])
    print(
        f"check         {entries} events over {len(many) + len(few)} sides: "
        + ("every entry exactly once, no dead letters, every outbox empty" if not problems else "PROBLEMS")
    )
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


def report_memory(backlog: Fill, identities: int) -> None:
    """Where the waiting backlog's Redis memory goes (the last measured side)."""
    waiting = max(1, backlog.waiting)
    print(f"Redis memory with the backlog of {backlog.waiting} actions waiting ({identities} identities):")
    print(
        f"  used_memory: {backlog.used_before / 1e6:.1f} MB empty, {backlog.used_accepted / 1e6:.1f} MB accepted "
        f"(messages queued), {backlog.used_planned / 1e6:.1f} MB planned: "
        f"{backlog.per_action:.0f} bytes per waiting action"
    )
    total = sum(size for _, size in backlog.by_family.values())
    print(f"  MEMORY USAGE of every key, by family ({total / waiting:.0f} bytes per waiting action in all):")
    for label, (keys, size) in sorted(backlog.by_family.items(), key=lambda item: -item[1][1]):
        print(f"    {label:<38} {keys:>8} keys {size / 1e6:8.1f} MB {size / waiting:7.0f} bytes per action")
    if backlog.others_changed:
        print(
            f"  NOTE {', '.join(backlog.others_changed)} of this Redis changed during the fill (another user): "
            "used_memory is the whole server's, the MEMORY USAGE sums are ours alone"
        )


if __name__ == "__main__":
    sys.exit(run_main(main, sys.argv[1:]))
