"""The executor against the simulator over real HTTP and a real Redis: order, once, failures, economy."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from togglbridge import executor as executor_module
from togglbridge.actions import ACTION_ADAPTER, Action, SessionEstimate
from togglbridge.effects.outcome import ADOPTED
from togglbridge.executor import Executor
from togglbridge.settings import Settings
from togglbridge.store import keys
from togglbridge.store.identity_state import IdentityState, Running, Unknown
from togglbridge.store.journal import Journal, record
from togglbridge.store.ledger import Ledger
from togglbridge.store.outbox import Outbox
from togglbridge.toggl.access import IdentityAccount, SettingsAccess
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


def simulator_settings() -> Settings:
    return Settings(_env_file=None, gateway_key=None, toggl_api_token=None)


@pytest.fixture
def identity(request: pytest.FixtureRequest) -> str:
    """A fresh simulated account per test: the identity's name is its connection id."""
    return f"{request.node.name[:40]}-{random.randrange(10**9)}"


@pytest.fixture
def access(sim_url: str, identity: str) -> Iterator[SettingsAccess]:
    accounts = {identity: IdentityAccount(), "other": IdentityAccount()}
    made = SettingsAccess(simulator_settings(), accounts, simulator_url=sim_url)
    yield made
    made.close()


@pytest.fixture
def executor(redis_client: redis.Redis, access: SettingsAccess) -> Executor:
    return Executor(redis_client, access, Journal(redis_client, cap=1000), rng=random.Random(7))


def action(kind: str, identity: str, event: str, at: datetime, **fields: Any) -> Action:
    data: dict[str, Any] = {
        "type": kind,
        "identity": identity,
        "key": f"{event}|rule|0",
        "event_id": event,
        "rule": "rule",
        "occurred_at": at,
        **fields,
    }
    if kind == "start":
        data.setdefault("start", at)
    if kind == "stop":
        data.setdefault("stop", at)
    if kind == "log":
        data.setdefault("end", at)
    return ACTION_ADAPTER.validate_python(data)


def enqueue(client: redis.Redis, *actions: Action) -> None:
    """Queue actions as the planner would, after the receiver journalled their events."""
    pipe = client.pipeline()
    for queued in actions:
        if not client.exists(keys.journal(queued.event_id)):
            pipe.lpush(keys.JOURNAL_INDEX, queued.event_id)
            pipe.rpush(keys.journal(queued.event_id), record("received", event_id=queued.event_id))
    Outbox(client).put(actions, pipe)
    pipe.execute()


def entries_in_state(sim: Simulator, identity: str) -> list[str]:
    """The identity's live entries' descriptions, read from the simulator's memory (no request, no quota)."""
    user = sim.user_for(api_key="simulator", connection=identity)
    with sim.lock:
        return [e.description for e in sim.state.entries.values() if e.user_id == user.id and not e.deleted]


def entries(sim: Simulator, sim_url: str, identity: str) -> list[dict[str, Any]]:
    """Every live entry of the identity's simulated account, oldest first, read over HTTP."""
    import httpx

    headers = {"Authorization": "Bearer simulator", "Maton-Connection": identity}
    response = httpx.get(
        f"{sim_url}/toggl-track/api/v9/me/time_entries",
        params={"start_date": "2000-01-01", "end_date": "2100-01-01"},
        headers=headers,
    )
    response.raise_for_status()
    return sorted(response.json(), key=lambda e: e["start"])


def test_a_meeting_starts_and_its_end_stops_the_same_entry(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    enqueue(
        redis_client,
        action(
            "start", identity, "cal:1:started", T0, description="Standup", tags=["meeting"], subject="cal:1"
        ),
        action(
            "stop",
            identity,
            "cal:1:ended",
            T0 + timedelta(minutes=15),
            only="started_by_this_event",
            subject="cal:1",
        ),
    )
    report = executor.drain(identity)
    assert (report.status, report.applied) == ("empty", 2)
    (entry,) = entries(sim, sim_url, identity)
    assert entry["description"] == "Standup" and entry["tags"] == ["meeting"]
    assert entry["start"].startswith("2026-11-02T09:00:00")
    assert entry["duration"] == 15 * 60  # the late stop was corrected to the event's time


def test_the_same_action_twice_applies_once(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    log = action("log", identity, "git:acme/app:abc", T0, description="commit", duration_seconds=600)
    enqueue(redis_client, log)
    executor.drain(identity)
    enqueue(redis_client, log)  # a redelivery planned it again
    report = executor.drain(identity)
    assert report.applied == 0
    assert len(entries(sim, sim_url, identity)) == 1
    assert Journal(redis_client, cap=10).event("git:acme/app:abc")[-1]["reason"] == "already applied"


def test_actions_apply_in_occurred_at_order_whatever_the_arrival(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    later = action("start", identity, "e2", T0 + timedelta(hours=1), description="second")
    earlier = action("start", identity, "e1", T0, description="first")
    enqueue(redis_client, later)
    enqueue(redis_client, earlier)
    executor.drain(identity)
    first, second = entries(sim, sim_url, identity)
    assert (first["description"], second["description"]) == ("first", "second")
    assert first["duration"] == 3600  # stopped when the second started
    assert second["duration"] < 0


def test_a_crash_between_create_and_record_does_not_duplicate(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    access: SettingsAccess,
) -> None:
    start = action("start", identity, "chat:1", T0, description="Write report")
    # The first attempt reached Toggl and died before recording: the intent and the entry exist, no ledger mark.
    Ledger(redis_client).mark_intent(start.key, {"start": T0.isoformat()})
    with access.client(identity, lambda r: None) as client:
        wid = client.me().default_workspace_id
        assert wid is not None
        client.create_time_entry(wid, start=T0, description="Write report")
    enqueue(redis_client, start)
    executor.drain(identity)
    assert len(entries(sim, sim_url, identity)) == 1
    done = Ledger(redis_client).done(start.key)
    assert done is not None and done["result"] == "adopted"


def test_a_commit_session_is_estimated_from_the_previous_commit(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    estimate = SessionEstimate(max_gap_seconds=2 * 3600, first_seconds=1800)
    enqueue(
        redis_client,
        action("log", identity, "c1", T0, description="c1", estimate=estimate),
        action("log", identity, "c2", T0 + timedelta(minutes=40), description="c2", estimate=estimate),
        action("log", identity, "c3", T0 + timedelta(hours=5), description="c3", estimate=estimate),
    )
    executor.drain(identity)
    durations = [e["duration"] for e in entries(sim, sim_url, identity)]
    assert durations == [1800, 40 * 60, 1800]


def test_tags_go_on_the_running_entry_and_off_again(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    enqueue(
        redis_client,
        action("start", identity, "s", T0, description="deep work", tags=["a"]),
        action("tag", identity, "t", T0 + timedelta(minutes=1), tags=["focus", "b"]),
        action("untag", identity, "u", T0 + timedelta(minutes=2), tags=["a"]),
    )
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    assert sorted(entry["tags"]) == ["b", "focus"]


def test_projects_are_resolved_by_name_once_and_created_when_missing(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    enqueue(
        redis_client,
        action("log", identity, "l1", T0, description="a", duration_seconds=60, project="Acme"),
        action(
            "log",
            identity,
            "l2",
            T0 + timedelta(minutes=5),
            description="b",
            duration_seconds=60,
            project="acme",
        ),
    )
    executor.drain(identity)
    first, second = entries(sim, sim_url, identity)
    assert first["project_id"] is not None and first["project_id"] == second["project_id"]
    records = Journal(redis_client, cap=10).event("l2")
    applied = next(r for r in records if r["stage"] == "applied")
    assert [r["method"] for r in applied["requests"]] == ["POST"]  # the second one needed no lookup


def test_server_errors_back_off_then_complete(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    enqueue(redis_client, action("log", identity, "flaky", T0, description="x", duration_seconds=60))
    sim.knobs.error_rate = 1.0
    report = executor.drain(identity)
    assert report.status == "parked" and report.resume_at is not None
    assert executor.drain(identity).status == "parked"  # a kick during the backoff does not hammer Toggl
    sim.knobs.error_rate = 0.0
    redis_client.zadd(keys.PARKED, {identity: 0})  # the backoff has passed
    assert executor.drain(identity).applied == 1
    assert len(entries(sim, sim_url, identity)) == 1


def test_rate_limited_work_waits_at_least_retry_after(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, identity: str
) -> None:
    sim.knobs.rate_limit = 0.01
    sim.knobs.bucket_capacity = 1
    enqueue(
        redis_client,
        *[
            action(
                "log", identity, f"burst{i}", T0 + timedelta(minutes=i), description="x", duration_seconds=60
            )
            for i in range(3)
        ],
    )
    report = executor.drain(identity)
    assert report.status == "parked" and report.resume_at is not None
    parked_for = report.resume_at - time.time()
    assert parked_for >= 50  # Retry-After at 0.01 request/s is about 100 s


def test_quota_exhaustion_parks_until_the_reset(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    access: SettingsAccess,
) -> None:
    sim.knobs.quota_per_hour = 2
    enqueue(
        redis_client,
        *[
            action("log", identity, f"q{i}", T0 + timedelta(minutes=i), description="x", duration_seconds=60)
            for i in range(4)
        ],
    )
    report = executor.drain(identity)
    assert report.status == "parked" and report.applied == 1  # /me, then one create, then 402
    assert report.resume_at is not None and report.resume_at - time.time() > 60
    sim.clock.advance(3601)
    sim.knobs.quota_per_hour = None
    later = Executor(redis_client, access, Journal(redis_client, cap=1000), clock=lambda: time.time() + 3601)
    assert later.drain(identity).applied == 3
    assert len(entries(sim, sim_url, identity)) == 4


def test_a_refused_action_becomes_a_dead_letter_and_can_be_retried(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    bad = action("log", identity, "bad", T0, description="x", duration_seconds=60, project=999999)
    good = action("log", identity, "good", T0 + timedelta(minutes=1), description="y", duration_seconds=60)
    enqueue(redis_client, bad, good)
    report = executor.drain(identity)
    assert (report.applied, report.dead) == (1, 1)  # the next action was not held up
    (letter,) = executor.dead_letters.all()
    assert letter["key"] == bad.key and letter["status"] == 400 and "999999" in letter["message"]
    assert Journal(redis_client, cap=10).event("bad")[-1]["stage"] == "dead"
    assert executor.dead_letters.retry() == [identity]
    assert executor.dead_letters.all() == []
    assert Outbox(redis_client).depth(identity) == 1


def test_a_busy_identity_is_left_to_its_drainer(
    executor: Executor, redis_client: redis.Redis, identity: str
) -> None:
    enqueue(redis_client, action("log", identity, "b", T0, description="x", duration_seconds=60))
    holder = redis_client.lock(keys.lock(identity), timeout=30)
    assert holder.acquire(blocking=False)
    try:
        assert executor.drain(identity).status == "busy"
    finally:
        holder.release()
    assert executor.drain(identity).applied == 1


def test_stop_any_finds_a_timer_started_elsewhere(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    access: SettingsAccess,
) -> None:
    with access.client(identity, lambda r: None) as client:
        wid = client.me().default_workspace_id
        assert wid is not None
        manual = client.create_time_entry(wid, start=sim.clock.now(), description="started by hand")
    enqueue(redis_client, action("stop", identity, "chat:stop", sim.clock.now()))
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    assert entry["id"] == manual.id and entry["duration"] >= 0


def test_low_quota_waits_for_the_reset_instead_of_running_into_402(
    redis_client: redis.Redis, access: SettingsAccess, sim: Simulator, sim_url: str, identity: str
) -> None:
    sim.knobs.quota_per_hour = 3
    executor = Executor(redis_client, access, Journal(redis_client, cap=1000), quota_reserve=0)
    enqueue(
        redis_client,
        *[action("log", identity, f"low{i}", T0 + timedelta(minutes=i), description="x", duration_seconds=60)
          for i in range(4)],
    )  # fmt: skip
    refused_before = sim.stats.by_status.get(402, 0)
    report = executor.drain(identity)
    assert (report.status, report.applied) == ("parked", 2)  # /me and two creates spend the quota
    assert sim.stats.by_status.get(402, 0) == refused_before  # it waited instead of asking
    parked = [r for r in Journal(redis_client, cap=10).event("low2") if r["stage"] == "parked"]
    assert parked and "quota" in parked[0]["reason"]
    # The read that handed low2 to the drain recorded its intent; nothing was sent, so it is taken back (one left
    # would cost a lookup in Toggl before the create, after the reset).
    assert not redis_client.exists(keys.intent("low2|rule|0"))


def test_bulk_work_yields_to_urgent_work_when_the_quota_runs_low(
    redis_client: redis.Redis, access: SettingsAccess, sim: Simulator, sim_url: str, identity: str
) -> None:
    sim.knobs.quota_per_hour = 8
    clock = [time.time()]
    executor = Executor(redis_client, access, Journal(redis_client, cap=1000), quota_reserve=3,
                        clock=lambda: clock[0])  # fmt: skip
    backfill = [
        action("log", identity, f"old{i}", T0 - timedelta(days=1, minutes=-i), description=f"backfill {i}",
               duration_seconds=60, priority="bulk")
        for i in range(6)
    ]  # fmt: skip
    refused_before = sim.stats.by_status.get(402, 0)
    enqueue(redis_client, *backfill)
    executor.drain(identity)
    applied_bulk = len(entries_in_state(sim, identity))
    assert 0 < applied_bulk < 6  # bulk stopped at the reserve: /me + creates while more than 3 were left
    # A chat command arrives: it goes through on the reserve, although the backfill is older.
    enqueue(
        redis_client, action("start", identity, "chat", T0, description="Call with Acme", priority="urgent")
    )
    report = executor.drain(identity)
    assert report.applied == 1
    assert "Call with Acme" in entries_in_state(sim, identity)
    assert sim.stats.by_status.get(402, 0) == refused_before
    # After the reset, the backfill completes: nothing was lost.
    sim.clock.advance(3601)
    clock[0] += 3601
    executor.drain(identity)
    assert len(entries_in_state(sim, identity)) == 7


# -- a team in one workspace ----------------------------------------------------------------------------------


class RuleFileWorkspaces(SettingsAccess):
    """The simulator, with the rule file's workspace ids honoured as in a real deployment (here they are the
    simulator's own ids)."""

    @property
    def simulated(self) -> bool:
        return False


@pytest.fixture
def team(sim: Simulator, sim_url: str, identity: str) -> Iterator[tuple[RuleFileWorkspaces, int, str]]:
    """Two identities in one shared workspace, named in the rule file: (their access, the workspace, the mate)."""
    mate = f"{identity}-mate"
    owner = sim.user_for(api_key="simulator", connection=identity)
    sim.join_workspace(sim.user_for(api_key="simulator", connection=mate), owner.default_workspace_id)
    workspace = owner.default_workspace_id
    accounts = {name: IdentityAccount(workspace_id=workspace) for name in (identity, mate)}
    made = RuleFileWorkspaces(simulator_settings(), accounts, simulator_url=sim_url)
    yield made, workspace, mate
    made.close()


def applied_requests(client: redis.Redis, event_id: str) -> list[str]:
    records = Journal(client, cap=10).event(event_id)
    applied = next(r for r in records if r["stage"] == "applied")
    return [f"{r['method']} {r['path']}" for r in applied["requests"]]


def test_a_team_in_one_workspace_lists_its_public_projects_once_and_never_asks_for_me(
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    team: tuple[RuleFileWorkspaces, int, str],
) -> None:
    access, workspace, mate = team
    with access.client(identity, lambda r: None) as toggl:
        public = toggl.create_project(workspace, "Team", is_private=False)
        private = toggl.create_project(workspace, "Secret")  # private: usable by its members only
    executor = Executor(redis_client, access, Journal(redis_client, cap=1000), rng=random.Random(7))
    enqueue(
        redis_client,
        action("log", identity, "mine", T0, description="a", duration_seconds=60, project="Team"),
        action("log", mate, "theirs", T0, description="b", duration_seconds=60, project="Team"),
        action("log", mate, "secret", T0 + timedelta(minutes=1), description="c", duration_seconds=60,
               project="Secret"),
    )  # fmt: skip
    executor.drain(identity)
    executor.drain(mate)

    mine, theirs, secret = (applied_requests(redis_client, e) for e in ("mine", "theirs", "secret"))
    assert [r.split()[0] for r in mine] == ["GET", "POST"]  # the workspace's projects, listed once
    assert [r.split()[0] for r in theirs] == ["POST"]  # the mate uses that listing's public project
    # A private project another identity's listing showed is not the mate's to use unseen: its own listing.
    assert [r.split()[0] for r in secret] == ["GET", "POST"]
    assert not any(r.endswith("/me") for r in mine + theirs + secret)  # the workspace came from the file
    made = {e["description"]: e["project_id"] for e in entries(sim, sim_url, mate)}
    assert made == {"b": public.id, "c": private.id}
    assert [e["project_id"] for e in entries(sim, sim_url, identity)] == [public.id]


def test_tagging_keeps_a_tag_added_by_hand_and_costs_one_request_each(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str, toggl: Any
) -> None:
    """Tags are added and removed by name (PUT with ``tag_action``): the bridge need not know the entry's tags,
    and a tag a person added in Toggl meanwhile stays."""
    enqueue(redis_client, action("start", identity, "s", T0, description="deep work", tags=["a"]))
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    toggl.update_time_entry(entry["workspace_id"], entry["id"], tags=["by-hand"], tag_action="add")
    enqueue(redis_client, action("tag", identity, "t", T0 + timedelta(minutes=1), tags=["focus"]))
    executor.drain(identity)
    enqueue(redis_client, action("untag", identity, "u", T0 + timedelta(minutes=2), tags=["a"]))
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    assert sorted(entry["tags"]) == ["by-hand", "focus"]
    assert [r.split()[0] for r in applied_requests(redis_client, "t")] == ["PUT"]
    assert [r.split()[0] for r in applied_requests(redis_client, "u")] == ["PUT"]


def test_a_drain_that_empties_the_outbox_gives_the_lock_back_in_its_last_transaction(
    redis_client: redis.Redis,
    access: SettingsAccess,
    sim: Simulator,
    identity: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow Toggl and a short lock: the drain would extend the lock after each action, also after the last one
    # whose transaction already gave the lock back, and call itself "lost"; it must stop there instead.
    # (The first action sends two requests, GET /me and its POST: 1.2 s, within the lock's 1.5 s.)
    sim.knobs.latency_ms = 600
    executor = Executor(redis_client, access, Journal(redis_client, cap=1000), lock_timeout=1.5)
    releases: list[dict[str, Any]] = []
    release_script = executor._locks._release

    def counted_release(**sent: Any) -> Any:
        releases.append(sent)
        return release_script(**sent)

    monkeypatch.setattr(executor._locks, "_release", counted_release)
    first, second = (
        action("log", identity, f"c{n}", T0 + timedelta(minutes=n), duration_seconds=60) for n in (1, 2)
    )
    enqueue(redis_client, first, second)
    report = executor.drain(identity)
    assert (report.status, report.applied) == ("empty", 2)
    assert releases == [] and not redis_client.exists(keys.lock(identity))

    # A drain its budget cuts short gives the lock back the usual way, and says there is more.
    third, fourth = (
        action("log", identity, f"c{n}", T0 + timedelta(minutes=n), duration_seconds=60) for n in (3, 4)
    )
    enqueue(redis_client, third, fourth)
    report = executor.drain(identity, max_actions=1)
    assert (report.status, report.applied, len(releases)) == ("more", 1, 1)
    assert not redis_client.exists(keys.lock(identity))


def test_a_create_whose_outcome_was_never_recorded_is_adopted_not_made_twice(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    identity: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The create's intent is recorded by the read that hands the action to the drain, not by a write of its own:
    when the worker dies (here: Redis goes away) after Toggl made the entry and before the apply transaction,
    the intent must be there, so the next attempt looks the entry up instead of creating it again."""
    lost = action("log", identity, "lost", T0, description="lost", duration_seconds=60)
    enqueue(redis_client, lost)
    real_execute = executor_module._execute

    def redis_gone_once(pipe: Any, tally: Any) -> list[Any]:
        monkeypatch.setattr(executor_module, "_execute", real_execute)
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(executor_module, "_execute", redis_gone_once)
    with pytest.raises(redis.ConnectionError):
        executor.drain(identity)
    assert entries_in_state(sim, identity) == ["lost"]  # Toggl has it; the bridge never recorded it
    assert redis_client.exists(keys.intent(lost.key))

    redis_client.delete(keys.lock(identity))  # the dead worker's lock, expired
    report = executor.drain(identity)
    assert (report.status, report.applied) == ("empty", 1)
    assert entries_in_state(sim, identity) == ["lost"]
    done = Ledger(redis_client).done(lost.key)
    assert done is not None and done["result"] == "logged" and ADOPTED in done["notes"]


def test_a_drain_cut_short_records_no_intent_for_the_action_it_leaves(
    executor: Executor, redis_client: redis.Redis, identity: str
) -> None:
    applied, left = (
        action("log", identity, f"short{n}", T0 + timedelta(minutes=n), duration_seconds=60) for n in (1, 2)
    )
    enqueue(redis_client, applied, left)
    report = executor.drain(identity, max_actions=1)
    assert (report.status, report.applied) == ("more", 1)
    assert not redis_client.exists(keys.intent(applied.key))  # done: its intent went with it
    assert not redis_client.exists(keys.intent(left.key))  # another drain will apply it: no lookup is due


def test_the_writes_of_an_attempt_that_stopped_halfway_are_noted_as_the_bridges_own(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    """A start stops the running timer, then creates its own; when Toggl refuses the create (its hourly quota
    spent), the stop was still the bridge's write, and the webhook about it must be taken for an echo."""
    enqueue(redis_client, action("start", identity, "chat:first", T0, description="first"))
    assert executor.drain(identity).applied == 1
    (running,) = entries(sim, sim_url, identity)
    sim.knobs.quota_per_hour = 1  # counted from now: the stop goes through, the create does not
    enqueue(
        redis_client, action("start", identity, "chat:second", T0 + timedelta(hours=1), description="second")
    )
    report = executor.drain(identity)
    assert (report.status, report.applied) == ("parked", 0)
    sim.knobs.quota_per_hour = None  # to look
    (stopped,) = entries(sim, sim_url, identity)
    assert stopped["id"] == running["id"] and stopped["duration"] > 0
    assert redis_client.zcard(keys.echo_writes(running["id"])) == 2  # its create, and its stop


def learned(identity: str, event: str, at: datetime, entry_id: int, *, running: bool) -> Action:
    """What a webhook about an entry teaches, as the planner's built-in Toggl rule makes it."""
    return action("learn", identity, event, at, entry_id=entry_id, workspace_id=9, running=running,
                  start=T0 if running else None, description=f"entry {entry_id}")  # fmt: skip


@pytest.mark.parametrize(
    ("arrivals", "believed"),
    [
        # entry 1 started at 09:01, stopped at 09:05; the stop's webhook came first, the start's sent again later
        # (what runs stays unknown: the stop of one entry does not say that no other runs)
        ([("stop1", 5, 1, False), ("start1", 1, 1, True)], "unknown"),
        # entry 1 started at 09:01, entry 2 at 09:03: the older start's webhook, late, does not replace the newer
        ([("start2", 3, 2, True), ("start1", 1, 1, True)], 2),
        # in the order they happened, each is learned
        ([("start1", 1, 1, True), ("start2", 3, 2, True)], 2),
        ([("start1", 1, 1, True), ("stop1", 5, 1, False)], None),
    ],
)
def test_a_change_learned_late_never_overwrites_a_newer_one(
    executor: Executor,
    redis_client: redis.Redis,
    identity: str,
    arrivals: list[tuple[str, int, int, bool]],
    believed: int | str | None,
) -> None:
    for event, minute, entry_id, running in arrivals:
        enqueue(
            redis_client, learned(identity, event, T0 + timedelta(minutes=minute), entry_id, running=running)
        )
        assert executor.drain(identity).applied == 1
    now = IdentityState(redis_client, identity).running()
    assert (
        now.id if isinstance(now, Running) else "unknown" if isinstance(now, Unknown) else now
    ) == believed
