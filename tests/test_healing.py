"""Stale knowledge heals itself: what the bridge remembers (project ids, the running entry, the entries it made)
never wins over Toggl's answer. Against the simulator over real HTTP and a real Redis."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
import redis

from tests.test_executor import T0, action, enqueue, entries, simulator_settings
from togglbridge.executor import Executor
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.identity_state import IdentityState, Running
from togglbridge.store.journal import Journal
from togglbridge.toggl.access import IdentityAccount, SettingsAccess
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.limiter import TogglRateLimiter
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


def stages(redis_client: redis.Redis, event_id: str) -> list[str]:
    return [r["stage"] for r in Journal(redis_client, cap=1000).event(event_id)]


def test_a_project_deleted_in_toggl_is_created_again(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    enqueue(
        redis_client, action("log", identity, "c1", T0, description="c1", duration_seconds=60, project="Acme")
    )
    assert executor.drain(identity).applied == 1
    wid = toggl.me().default_workspace_id
    assert wid is not None
    (project,) = toggl.projects(wid)
    toggl.delete_project(wid, project.id)  # someone tidies up in Toggl between two pushes

    later = T0 + timedelta(minutes=5)
    enqueue(
        redis_client,
        action("log", identity, "c2", later, description="c2", duration_seconds=60, project="Acme"),
    )
    report = executor.drain(identity)

    assert (report.applied, report.dead) == (1, 0)
    assert executor.dead_letters.count() == 0
    (recreated,) = toggl.projects(wid)
    assert recreated.name == "Acme" and recreated.id != project.id
    second = entries(sim, sim_url, identity)[-1]
    assert second["description"] == "c2" and second["project_id"] == recreated.id
    assert stages(redis_client, "c2")[-2:] == ["healed", "applied"]


def test_an_entry_deleted_while_the_bridge_thinks_it_runs_is_forgotten(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    enqueue(redis_client, action("start", identity, "m1:start", T0, description="Meeting", subject="m1"))
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    toggl.delete_time_entry(entry["workspace_id"], entry["id"])

    end = action(
        "stop", identity, "m1:end", T0 + timedelta(minutes=30), only="started_by_this_event", subject="m1"
    )
    enqueue(redis_client, end)
    report = executor.drain(identity)
    assert (report.applied, report.dead) == (1, 0)
    assert entries(sim, sim_url, identity) == []  # deleted on purpose: not brought back

    # The next timer starts cleanly: nothing stale about a running entry is left.
    enqueue(redis_client, action("start", identity, "m2:start", T0 + timedelta(hours=1), description="Next"))
    assert executor.drain(identity).dead == 0
    (running,) = entries(sim, sim_url, identity)
    assert running["description"] == "Next" and running["stop"] is None


def test_a_remembered_foreign_timer_deleted_by_hand_does_not_block_a_start(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    wid = toggl.me().default_workspace_id
    assert wid is not None
    by_hand = toggl.create_time_entry(wid, start=T0, description="by hand")
    # The bridge saw it running once, then the person deleted it in the app.
    IdentityState(redis_client, identity).set_running(Running(by_hand.id, wid, T0, "by hand"))
    toggl.delete_time_entry(wid, by_hand.id)

    enqueue(redis_client, action("start", identity, "s1", T0 + timedelta(minutes=10), description="Write"))
    report = executor.drain(identity)
    assert (report.applied, report.dead) == (1, 0)
    (running,) = entries(sim, sim_url, identity)
    assert running["description"] == "Write"


def test_a_refusal_that_persists_is_one_dead_letter_however_often_it_is_planned(
    executor: Executor, redis_client: redis.Redis, identity: str
) -> None:
    bad = action(
        "log", identity, "git:acme/app:abc", T0, description="x", duration_seconds=60, project=999999
    )
    for _ in range(3):  # the same commit in three pushes
        enqueue(redis_client, bad)
        executor.drain(identity)
    (letter,) = executor.dead_letters.all()
    assert letter["key"] == bad.key and letter["status"] == 400
    assert (
        stages(redis_client, bad.event_id).count("healed") == 3
    )  # each attempt relearned once, then gave up


def test_an_action_that_succeeds_later_takes_its_dead_letter_away(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    log = action("log", identity, "c1", T0, description="c1", duration_seconds=60)
    pipe = redis_client.pipeline(transaction=True)
    DeadLetters(redis_client).add(identity, log, 400, "refused once", time.time(), pipe)
    pipe.execute()
    enqueue(redis_client, log)  # planned again, and this time Toggl takes it
    assert executor.drain(identity).applied == 1
    assert executor.dead_letters.count() == 0 and executor.dead_letters.all() == []
    assert len(entries(sim, sim_url, identity)) == 1


def test_a_pacing_wait_between_the_two_tries_still_ends_in_one_dead_letter(
    redis_client: redis.Redis, redis_url: str, sim_url: str, identity: str
) -> None:
    limiter = TogglRateLimiter(redis_url, per_credential="1/second")
    paced = SettingsAccess(
        simulator_settings(), {identity: IdentityAccount()}, simulator_url=sim_url, limiter=limiter
    )
    executor = Executor(redis_client, paced, Journal(redis_client, cap=1000), rng=random.Random(7))
    bad = action("log", identity, "c1", T0, description="x", duration_seconds=60, project=999999)
    enqueue(redis_client, bad)
    try:
        for _ in range(10):  # each drain may end in a pacing wait: the retry comes in a later drain
            report = executor.drain(identity)
            if report.dead:
                break
            time.sleep(max(0.0, min(1.5, (report.resume_at or 0.0) - time.time())))
    finally:
        paced.close()
    assert executor.dead_letters.count() == 1
    assert stages(redis_client, "c1").count("healed") == 1


def test_a_shared_project_deleted_in_toggl_is_forgotten_for_the_whole_team(
    redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    """A public project one identity listed, deleted in Toggl: the mate who used it heals the team's cache."""
    mate = f"{identity}-mate"
    owner = sim.user_for(api_key="simulator", connection=identity)
    workspace = owner.default_workspace_id
    sim.join_workspace(sim.user_for(api_key="simulator", connection=mate), workspace)
    access = SettingsAccess(
        simulator_settings(), {identity: IdentityAccount(), mate: IdentityAccount()}, simulator_url=sim_url
    )
    executor = Executor(redis_client, access, Journal(redis_client, cap=1000), rng=random.Random(7))
    try:
        with access.client(identity, lambda r: None) as toggl:
            project = toggl.create_project(workspace, "Team", is_private=False)
            enqueue(
                redis_client,
                action("log", identity, "c1", T0, description="c1", duration_seconds=60, project="Team"),
            )
            assert executor.drain(identity).applied == 1
            toggl.delete_project(workspace, project.id)

        later = T0 + timedelta(minutes=5)
        enqueue(
            redis_client,
            action("log", mate, "c2", later, description="c2", duration_seconds=60, project="Team"),
        )
        report = executor.drain(mate)

        assert (report.applied, report.dead) == (1, 0)
        assert stages(redis_client, "c2")[-2:] == ["healed", "applied"]
        (made,) = entries(sim, sim_url, mate)
        assert made["project_id"] not in (None, project.id)  # made again, not the deleted one
        # The team's shared cache holds no stale id any more (the owner's own listing heals on its next use).
        assert redis_client.hget(keys.workspace_projects(workspace), "team") != str(project.id).encode()
    finally:
        access.close()
