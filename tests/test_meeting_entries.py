"""A meeting's entry follows its meeting: moved when the meeting moves, stopped or deleted when it is cancelled,
and left alone once a person changed it. Against the simulator over real HTTP and a real Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis

from tests.test_executor import T0, action, enqueue, entries
from togglbridge.executor import Executor
from togglbridge.store.journal import Journal
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration

MEETING = "standup@acme.io|2026-11-02T09:00:00Z"


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


def outcome(redis_client: redis.Redis, event_id: str) -> dict[str, Any]:
    (record,) = [r for r in Journal(redis_client, cap=1000).event(event_id) if r["stage"] in ("applied",)]
    return record


def apply(executor: Executor, redis_client: redis.Redis, identity: str, *actions: Any) -> None:
    enqueue(redis_client, *actions)
    report = executor.drain(identity)
    assert (report.applied, report.dead) == (len(actions), 0)


def logged(identity: str, event: str = "standup:ended") -> Any:
    """The meeting logged afterwards, as a log-mode rule makes it: 09:00-09:15."""
    end = T0 + timedelta(minutes=15)
    return action(
        "log", identity, event, end, description="Standup", start=T0, duration_seconds=900, subject=MEETING
    )


def started(identity: str) -> Any:
    return action("start", identity, "standup:started", T0, description="Standup", subject=MEETING)


def moved(identity: str, start_minutes: int, end_minutes: int, *, at: int = 30) -> Any:
    return action(
        "move", identity, f"standup:changed:{start_minutes}-{end_minutes}", T0 + timedelta(minutes=at),
        start=T0 + timedelta(minutes=start_minutes), stop=T0 + timedelta(minutes=end_minutes), subject=MEETING,
    )  # fmt: skip


def withdrawn(identity: str, *, at: int = 60, finished: str = "delete") -> Any:
    return action(
        "withdraw",
        identity,
        "standup:cancelled",
        T0 + timedelta(minutes=at),
        finished=finished,
        subject=MEETING,
    )


def times(entry: dict[str, Any]) -> tuple[str, str | None]:
    return entry["start"][11:16], entry["stop"][11:16] if entry["stop"] else None


def test_a_logged_meeting_that_moved_moves_its_entry(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    apply(executor, redis_client, identity, moved(identity, 10, 40))

    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("09:10", "09:40") and entry["duration"] == 1800
    assert entry["description"] == "Standup"
    assert outcome(redis_client, "standup:changed:10-40")["result"] == "moved"

    # Moved again (the bridge's own move is not taken for a person's change), then back where it was.
    apply(executor, redis_client, identity, moved(identity, 0, 15, at=45))
    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("09:00", "09:15")


def test_a_running_meeting_that_moved_moves_its_start_and_keeps_running(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, started(identity))
    apply(executor, redis_client, identity, moved(identity, -5, 20, at=3))

    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("08:55", None)

    # The meeting's end (its trigger rescheduled to the new end) stops it there.
    end = action(
        "stop",
        identity,
        "standup:ended",
        T0 + timedelta(minutes=20),
        only="started_by_this_event",
        subject=MEETING,
    )
    apply(executor, redis_client, identity, end)
    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("08:55", "09:20")


def test_a_meeting_cancelled_while_it_runs_stops_its_entry_at_the_cancellation(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, started(identity))
    apply(executor, redis_client, identity, withdrawn(identity, at=7))

    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("09:00", "09:07")
    assert outcome(redis_client, "standup:cancelled")["result"] == "stopped"

    # A timer started next is not disturbed by what the timeline remembers of the cancelled one.
    apply(executor, redis_client, identity, action("start", identity, "next", T0 + timedelta(minutes=30)))
    first, second = entries(sim, sim_url, identity)
    assert times(first) == ("09:00", "09:07") and times(second) == ("09:30", None)


def test_a_meeting_cancelled_after_it_was_logged_deletes_its_entry(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    apply(executor, redis_client, identity, withdrawn(identity))

    assert entries(sim, sim_url, identity) == []
    assert outcome(redis_client, "standup:cancelled")["result"] == "deleted"

    # Redelivered: nothing more to do, and nothing comes back.
    apply(executor, redis_client, identity, action(
        "withdraw", identity, "standup:cancelled-again", T0 + timedelta(hours=2), subject=MEETING
    ))  # fmt: skip
    assert entries(sim, sim_url, identity) == []
    assert outcome(redis_client, "standup:cancelled-again")["result"] == "skipped"


def test_on_cancel_stop_keeps_a_finished_entry(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    apply(executor, redis_client, identity, withdrawn(identity, finished="keep"))

    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("09:00", "09:15")


def test_an_entry_changed_by_hand_is_left_alone(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    (entry,) = entries(sim, sim_url, identity)
    toggl.update_time_entry(
        entry["workspace_id"], entry["id"], description="Standup (ran long, notes inside)"
    )

    apply(executor, redis_client, identity, moved(identity, 10, 40))
    apply(executor, redis_client, identity, withdrawn(identity))

    (entry,) = entries(sim, sim_url, identity)
    assert times(entry) == ("09:00", "09:15")
    assert entry["description"] == "Standup (ran long, notes inside)"
    for event_id in ("standup:changed:10-40", "standup:cancelled"):
        record = outcome(redis_client, event_id)
        assert record["result"] == "skipped"
        assert any("changed by hand" in note and "description" in note for note in record["notes"])


def test_a_running_entry_stopped_by_hand_is_left_alone(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    apply(executor, redis_client, identity, started(identity))
    (entry,) = entries(sim, sim_url, identity)
    toggl.stop_time_entry(entry["workspace_id"], entry["id"])

    apply(executor, redis_client, identity, withdrawn(identity))
    (entry,) = entries(sim, sim_url, identity)
    assert entry["stop"] is not None  # kept as the person left it
    assert any("stopped" in note for note in outcome(redis_client, "standup:cancelled")["notes"])


def test_a_rule_renaming_the_entry_is_not_taken_for_a_person(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    rename = action(
        "update", identity, "standup:renamed", T0 + timedelta(minutes=20), target="subject",
        description="Stand-up: release day", subject=MEETING,
    )  # fmt: skip
    apply(executor, redis_client, identity, rename)
    apply(executor, redis_client, identity, withdrawn(identity))

    assert entries(sim, sim_url, identity) == []


def test_an_entry_deleted_by_hand_stays_deleted(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    (entry,) = entries(sim, sim_url, identity)
    toggl.delete_time_entry(entry["workspace_id"], entry["id"])

    apply(executor, redis_client, identity, moved(identity, 10, 40))
    assert entries(sim, sim_url, identity) == []
    assert any("deleted" in note for note in outcome(redis_client, "standup:changed:10-40")["notes"])


def test_nothing_to_follow_without_an_entry(
    executor: Executor, redis_client: redis.Redis, identity: str
) -> None:
    apply(executor, redis_client, identity, withdrawn(identity))
    record = outcome(redis_client, "standup:cancelled")
    assert record["result"] == "skipped" and record["notes"] == ["no entry for this subject"]


def test_an_entry_tagged_by_hand_is_left_alone(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    apply(executor, redis_client, identity, logged(identity))
    (entry,) = entries(sim, sim_url, identity)
    toggl.update_time_entry(entry["workspace_id"], entry["id"], tags=["billed"], tag_action="add")
    apply(executor, redis_client, identity, withdrawn(identity))
    assert [e["id"] for e in entries(sim, sim_url, identity)] == [entry["id"]]
    assert any("tags" in note for note in outcome(redis_client, "standup:cancelled")["notes"])
