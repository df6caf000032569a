"""How frugal the bridge is with Toggl's small quotas: a reference day for 5 identities, replayed.

    python -m bench.economy [--identities 5]

Each identity's day: three meetings (a calendar start and end each), a focus block that tags whatever runs, chat
commands (start, stop, status), and two bursts of commits, some naming an issue (which tags the running entry).
Events are planned and applied one at a time in time order, as they would arrive during the day, through the real
planner and executor against the simulator over HTTP and a real Redis. It prints Toggl requests per applied action,
``/me`` requests, and requests by route, against its aims: at most 0.8 request per action, no ``/me`` after
start-up, no GET in steady state except where the bridge cannot know otherwise.

The identities are a team in one Toggl workspace (the simulator's shared workspace, everyone's default; its
projects exist already and are public, so every member may track time to them). A team in a single workspace names it once in the rule file (``defaults: workspace_id``),
and that is the headline figure; the same day with no ``workspace_id`` (each identity's default workspace, read
with one ``GET /me`` per identity) is printed beside it. The day is replayed twice each way: live (each event
applied when it happens) and as a backlog (the whole day applied after a wait, when neighbouring actions merge).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis

from bench._common import bench_redis
from togglbridge.config import Config, parse_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.executor import Executor
from togglbridge.runtime import accounts_from_config
from togglbridge.settings import Settings
from togglbridge.store import keys
from togglbridge.store.journal import Journal
from togglbridge.toggl.access import SettingsAccess
from togglbridge.toggl.connect import SIMULATOR_KEY
from togglbridge.toggl.sim import SimClock, Simulator, serve_in_thread

DAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
AIM = 0.8  # Toggl requests per applied action (1.0 until 2026-11-30)

RULES = """
chat:
  enabled: true
rules:
  - name: meetings
    on: calendar.started
    if: {title: {regex: '(?i)stand-?up|1:1|planning'}}
    do:
      - start: {description: "{{ title }}", project: Meetings, tags: [meeting]}
  - name: meeting over
    on: calendar.ended
    do:
      - stop: {only: started_by_this_event}
  - name: focus begins
    on: calendar.started
    if: {title: {regex: '(?i)^focus'}}
    do:
      - tag: {tags: [focus], target: running}
  - name: focus ends
    on: calendar.ended
    if: {title: {regex: '(?i)^focus'}}
    do:
      - untag: {tags: [focus], target: running}
  - name: commits
    on: git.commit
    do:
      - log:
          description: "{{ repo.name }}: {{ message | first_line }}"
          duration: {estimate: session, max_gap: 2h, first: 30m}
          project: "{{ repo.name }}"
          tags: [code]
  - name: issue keys
    on: git.commit
    if: {message: {regex: '(?P<issue>[A-Z]+-[0-9]+)'}}
    do:
      - tag: {tags: ["{{ issue }}"], target: running}
"""


# Reads of what a new deployment does not know yet (the workspace, what runs, the projects' ids): in this day
# they all happen at each identity's first start, and a deployment that already knows them does not repeat them.
FIRST_SIGHT = ("GET /me", "GET /me/time_entries/current", "GET /workspaces/{wid}/projects")


def rule_file(names: list[str], workspace_id: int | None = None) -> str:
    defaults = f"defaults:\n  workspace_id: {workspace_id}\n" if workspace_id is not None else ""
    identities = "".join(
        f"  {name}:\n    emails: [{name}@acme.io]\n    slack: [U{index:08d}]\n"
        for index, name in enumerate(names)
    )
    calendars = "".join(f"  - {{name: {name}-cal, identity: {name}, url_env: CAL_{index}}}\n"
                        for index, name in enumerate(names))  # fmt: skip
    return f"{defaults}identities:\n{identities}calendars:\n{calendars}{RULES}"


def meeting(name: str, title: str, start: datetime, minutes: int) -> list[Event]:
    uid = f"{title.lower().replace(' ', '-')}@{name}"
    subject = f"{uid}|{start.isoformat()}"
    data = {"calendar": f"{name}-cal", "uid": uid, "title": title, "my_status": "accepted", "all_day": False}
    return [
        Event(id=f"ics:{subject}:{phase}", source="ics", kind=f"calendar.{phase}", occurred_at=at,
              actor=f"{name}-cal", subject=subject, data=data)
        for phase, at in (("started", start), ("ended", start + timedelta(minutes=minutes)))
    ]  # fmt: skip


def chat(index: int, name: str, at: datetime, verb: str, text: str, **fields: Any) -> Event:
    data = {"verb": verb, "text": f"{verb} {text}".strip(), "description": None, "project": None, "tags": [],
            "billable": None} | fields  # fmt: skip
    return Event(id=f"slack:{name}:{at.isoformat()}", source="slack", kind="chat.command", occurred_at=at,
                 actor=f"U{index:08d}", data=data)  # fmt: skip


def commits(name: str, start: datetime, count: int, gap_minutes: int) -> list[Event]:
    events = []
    for number in range(count):
        at = start + timedelta(minutes=gap_minutes * number)
        message = f"ABC-{100 + number} Fix the report" if number % 3 == 0 else f"Refactor step {number}"
        events.append(
            Event(id=f"git:acme/webapp:{name}{at.timestamp():.0f}", source="github", kind="git.commit",
                  occurred_at=at, actor=f"{name}@acme.io",
                  data={"repo": {"full_name": "acme/webapp", "name": "webapp"}, "branch": "main",
                        "message": message, "sha": f"{number:040d}"})
        )  # fmt: skip
    return events


def reference_day(index: int, name: str) -> list[Event]:
    at = DAY.replace
    events = [
        *meeting(name, "Standup", at(hour=9), 15),
        *commits(name, at(hour=9, minute=20), 4, 20),
        chat(
            index,
            name,
            at(hour=11),
            "start",
            "Write report @Acme #writing",
            description="Write report",
            project="Acme",
            tags=["writing"],
        ),
        *meeting(name, "Focus block", at(hour=11, minute=30), 30),
        chat(index, name, at(hour=12, minute=30), "stop", ""),
        *meeting(name, "1:1 with Bob", at(hour=13), 30),
        *commits(name, at(hour=14), 6, 20),
        *meeting(name, "Sprint planning", at(hour=16), 60),
        chat(index, name, at(hour=17, minute=5), "status", ""),
    ]
    return sorted(events, key=lambda e: e.occurred_at)


def team_workspace(sim: Simulator, sim_url: str, names: list[str]) -> int:
    """One workspace for the whole team (the first identity's, everyone's default), with the projects the team
    already has, public (every member may track time to them): the bridge finds them, it does not create them."""
    users = [sim.user_for(api_key=SIMULATOR_KEY.get_secret_value(), connection=name) for name in names]
    workspace_id = users[0].default_workspace_id
    for user in users[1:]:
        sim.join_workspace(user, workspace_id)
    for project in ("Meetings", "Acme", "webapp"):
        response = httpx.post(
            f"{sim_url}/toggl-track/api/v9/workspaces/{workspace_id}/projects",
            json={"name": project, "is_private": False},
            headers={
                "Authorization": f"Bearer {SIMULATOR_KEY.get_secret_value()}",
                "Maton-Connection": names[0],
            },
        )
        response.raise_for_status()
    return workspace_id


class RuleFileWorkspaces(SettingsAccess):
    """The simulator, with the rule file's workspace ids honoured as a real deployment honours them: here they
    are the simulator's own ids (the bench wrote them), not real Toggl ids the simulator would refuse."""

    @property
    def simulated(self) -> bool:
        return False


def replay(
    redis_url: str, sim: Simulator, sim_url: str, config: Config, events: list[Event], *, live: bool
) -> Counter[str]:
    """Plan and apply each event when it happens (``live``: the simulator's clock follows the day), or plan
    them all and apply them after the day (a backlog: after a quota wait, say); returns applied actions by
    result."""
    client = redis.Redis.from_url(redis_url)
    settings = Settings(_env_file=None, gateway_key=None, toggl_api_token=None, redis_url=redis_url)
    access = RuleFileWorkspaces(settings, accounts_from_config(config), simulator_url=sim_url)
    journal = Journal(client, cap=100_000)
    executor = Executor(client, access, journal)
    try:
        waiting: set[str] = set()
        for event in events:
            sim.clock.advance((event.occurred_at - sim.clock.now()).total_seconds())
            waiting |= dispatch(client, journal, config, [event])
            if live:
                drain(executor, waiting)
        drain(executor, waiting)
        results: Counter[str] = Counter()
        for key in set(client.scan_iter(match=keys.done("*"), count=1000)):  # SCAN may repeat a key
            results[json.loads(client.get(key) or "{}").get("result", "?")] += 1
        return results
    finally:
        access.close()
        client.close()


def drain(executor: Executor, identities: set[str]) -> None:
    for identity in sorted(identities):
        report = executor.drain(identity)
        if report.status != "empty":
            raise SystemExit(f"{identity} did not drain: {report}")
    identities.clear()


def measure(names: list[str], events: list[Event], *, configured: bool, live: bool) -> None:
    sim = Simulator(clock=SimClock(start=DAY))
    with bench_redis() as redis_url, serve_in_thread(sim) as sim_url:
        workspace_id = team_workspace(sim, sim_url, names)
        config = parse_config(rule_file(names, workspace_id if configured else None), "economy.yaml")
        sim.stats.reset()
        results = replay(redis_url, sim, sim_url, config, events, live=live)
    stats = sim.stats.as_dict()
    by_route: dict[str, int] = stats["by_route"]
    requests = int(stats["total"])
    applied = sum(count for result, count in results.items() if result != "skipped")
    me = by_route.get("GET /me", 0)
    reads = sum(count for route, count in by_route.items() if route.startswith("GET "))
    writes = requests - reads
    first_sight = sum(by_route.get(route, 0) for route in FIRST_SIGHT)
    print(
        (
            "live: each event applied when it happens"
            if live
            else "backlog: the whole day applied after a wait"
        )
        + (", workspace_id in the rule file" if configured else ", no workspace_id (each identity's default)")
    )
    print(f"  actions applied:             {applied}  ({dict(sorted(results.items()))})")
    print(f"  Toggl requests:              {requests}  ({writes} writes, {reads} reads)")
    ratio = requests / max(applied, 1)
    print(
        f"  requests per applied action  {ratio:.2f}   (aim: {AIM:g} or fewer: {'met' if ratio <= AIM else 'NOT met'})"
    )
    print(f"    writes alone               {writes / max(applied, 1):.2f}")
    print(
        f"    without first-sight reads  {(requests - first_sight) / max(applied, 1):.2f}   ({first_sight} reads of what "
        "a new deployment does not know yet: GET /me, GET current, GET projects)"
    )
    print(f"  /me:                         {me}   (aim: none after start-up; none with workspace_id set)")
    print(f"  requests by route:           {json.dumps(dict(sorted(by_route.items())))}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=5)
    args = parser.parse_args()
    names = [f"user{i}" for i in range(args.identities)]
    events = sorted(
        (e for i, n in enumerate(names) for e in reference_day(i, n)), key=lambda e: e.occurred_at
    )
    print(
        f"economy: a reference day for {len(names)} identities in one team workspace, {len(events)} events, "
        f"on {os.cpu_count()} cores"
    )
    for configured in (True, False):
        for live in (True, False):
            measure(names, events, configured=configured, live=live)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
