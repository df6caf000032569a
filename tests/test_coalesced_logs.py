"""Coalescing logs: commits close together extend one entry, in any order of arrival, once. Against the simulator
over real HTTP and a real Redis, through the executor."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
import redis

from tests.test_executor import T0, action, enqueue, entries
from togglbridge.effects.outcome import ADOPTED
from togglbridge.executor import Executor
from togglbridge.sessions import Piece, plan_sessions, sessions
from togglbridge.store import keys
from togglbridge.store.identity_state import IdentityState
from togglbridge.store.journal import Journal
from togglbridge.store.ledger import Ledger
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.sim import Simulator

GAP = 20 * 60


def piece(key: str, minute: int, minutes: int = 10, description: str | None = None) -> Piece:
    start = T0 + timedelta(minutes=minute)
    return Piece(key, start, start + timedelta(minutes=minutes), description or key)


def test_pieces_within_the_gap_make_one_session_whatever_their_order() -> None:
    pieces = [piece("a", 0), piece("b", 25), piece("c", 70), piece("d", 75, 30)]
    for order in itertools.permutations(pieces):
        found = sessions(list(order), timedelta(seconds=GAP))
        assert [(s.start, s.end, sorted(s.keys)) for s in found] == [
            (T0, T0 + timedelta(minutes=35), ["a", "b"]),
            (T0 + timedelta(minutes=70), T0 + timedelta(minutes=105), ["c", "d"]),
        ]


def test_a_piece_bridging_two_sessions_keeps_the_earlier_entry_and_merges_the_later() -> None:
    from togglbridge.sessions import SessionEntry

    a, c, b = piece("a", 0), piece("c", 40), piece("b", 20)
    first = SessionEntry(1, 9, frozenset({"a"}), a.start, a.end, "a")
    second = SessionEntry(2, 9, frozenset({"c"}), c.start, c.end, "c")
    (plan,) = plan_sessions([a, b, c], [second, first], {"b"}, timedelta(seconds=GAP))
    assert plan.keep == first and plan.merged == (second,)
    assert (plan.session.start, plan.session.end, plan.session.first.description) == (a.start, c.end, "a")


# -- through the executor ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


def commit(identity: str, name: str, minute: int, *, repo: str = "acme/webapp", minutes: int = 10) -> Any:
    end = T0 + timedelta(minutes=minute + minutes)
    return action(
        "log", identity, f"git:{repo}:{name}", end, description=f"{repo}: {name}", duration_seconds=minutes * 60,
        tags=[name], coalesce_seconds=GAP, coalesce_group=f"commits|{repo}",
    )  # fmt: skip


def shape(sim: Simulator, sim_url: str, identity: str) -> list[tuple[str, str, str, list[str]]]:
    return [
        (e["description"], e["start"][11:16], e["stop"][11:16], sorted(e["tags"]))
        for e in entries(sim, sim_url, identity)
    ]


def requests_made(redis_client: redis.Redis, event_ids: list[str]) -> int:
    journal = Journal(redis_client, cap=1000)
    return sum(
        len(r.get("requests", [])) for e in event_ids for r in journal.event(e) if r["stage"] == "applied"
    )


@pytest.mark.integration
def test_a_burst_of_commits_is_one_entry_made_with_one_request(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    burst = [commit(identity, name, minute) for name, minute in (("a", 0), ("b", 15), ("c", 40))]
    enqueue(redis_client, *burst)
    report = executor.drain(identity)
    assert (report.applied, report.dead) == (3, 0)
    assert shape(sim, sim_url, identity) == [("acme/webapp: a", "09:00", "09:50", ["a", "b", "c"])]
    creates = [
        r for e in burst for r in Journal(redis_client, cap=1000).event(e.event_id) if r["stage"] == "applied"
    ]
    assert [r["result"] for r in creates] == ["logged"] * 3
    # the start-up lookups (workspace, projects) aside, one request made the entry
    made = [q for r in creates for q in r.get("requests", []) if q["method"] == "POST"]
    assert len(made) == 1


@pytest.mark.integration
def test_commits_arriving_one_by_one_extend_the_entry(
    executor: Executor, redis_client: redis.Redis, sim: Simulator, sim_url: str, identity: str
) -> None:
    for name, minute in (("a", 0), ("b", 15), ("c", 40)):
        enqueue(redis_client, commit(identity, name, minute))
        assert executor.drain(identity).dead == 0
    assert shape(sim, sim_url, identity) == [("acme/webapp: a", "09:00", "09:50", ["a", "b", "c"])]
    # a later commit beyond the gap starts a new entry; another repository has its own
    enqueue(redis_client, commit(identity, "d", 120), commit(identity, "x", 5, repo="acme/api"))
    assert executor.drain(identity).dead == 0
    assert shape(sim, sim_url, identity) == [
        ("acme/webapp: a", "09:00", "09:50", ["a", "b", "c"]),
        ("acme/api: x", "09:05", "09:15", ["x"]),
        ("acme/webapp: d", "11:00", "11:10", ["d"]),
    ]


@pytest.mark.integration
@pytest.mark.parametrize("order", list(itertools.permutations("abcd"))[::5])
def test_any_order_of_arrival_ends_in_the_same_entries(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    order: tuple[str, ...],
) -> None:
    minutes = {"a": 0, "b": 25, "c": 45, "d": 120}  # b bridges a and c; d stands alone
    for name in order:
        enqueue(redis_client, commit(identity, name, minutes[name]))
        assert executor.drain(identity).dead == 0
    assert shape(sim, sim_url, identity) == [
        ("acme/webapp: a", "09:00", "09:55", ["a", "b", "c"]),
        ("acme/webapp: d", "11:00", "11:10", ["d"]),
    ]
    # delivered again: nothing changes
    enqueue(redis_client, *(commit(identity, name, minutes[name]) for name in "abcd"))
    executor.drain(identity)
    assert len(entries(sim, sim_url, identity)) == 2


@pytest.mark.integration
def test_a_session_entry_deleted_by_hand_stays_deleted(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    enqueue(redis_client, commit(identity, "a", 0))
    executor.drain(identity)
    (entry,) = entries(sim, sim_url, identity)
    toggl.delete_time_entry(entry["workspace_id"], entry["id"])
    enqueue(redis_client, commit(identity, "b", 15))
    assert executor.drain(identity).dead == 0
    assert entries(sim, sim_url, identity) == []
    (record,) = [
        r for r in Journal(redis_client, cap=1000).event("git:acme/webapp:b") if r["stage"] == "applied"
    ]
    assert record["result"] == "skipped" and "deleted in Toggl" in record["notes"][0]


@pytest.mark.integration
def test_a_piece_bridging_a_deleted_session_and_a_kept_one_changes_neither(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    toggl: TogglClient,
) -> None:
    enqueue(redis_client, commit(identity, "a", 0), commit(identity, "c", 90))
    executor.drain(identity)
    first, _kept = entries(sim, sim_url, identity)
    toggl.delete_time_entry(first["workspace_id"], first["id"])  # the person deleted the first session
    enqueue(redis_client, commit(identity, "b", 25, minutes=55))  # 09:25-10:20 bridges both
    assert executor.drain(identity).dead == 0
    assert shape(sim, sim_url, identity) == [("acme/webapp: c", "10:30", "10:40", ["c"])]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("arriving", "expected"),
    [
        ((), [("acme/webapp: b", "09:20", "09:30", ["b"])]),
        (
            ("a",),
            [("acme/webapp: a", "09:00", "09:30", ["a", "b"])],
        ),  # earlier: the session's new first piece
        (("a", "c"), [("acme/webapp: a", "09:00", "09:55", ["a", "b", "c"])]),
    ],
)
def test_a_crash_after_a_sessions_create_adopts_the_entry_whatever_joins_the_retry(
    executor: Executor,
    redis_client: redis.Redis,
    sim: Simulator,
    sim_url: str,
    identity: str,
    monkeypatch: pytest.MonkeyPatch,
    arriving: tuple[str, ...],
    expected: list[tuple[str, str, str, list[str]]],
) -> None:
    """Toggl made the session's entry, then the worker died before the bridge recorded the session. Pieces that
    arrive before the retry join its batch and may change the session's first piece (its start, its description):
    the retry still finds the entry made before, and brings it to the session's shape, instead of a second one."""
    real_save = IdentityState.save_sessions

    def redis_gone_once(self: IdentityState, *args: Any) -> None:
        monkeypatch.setattr(IdentityState, "save_sessions", real_save)
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(IdentityState, "save_sessions", redis_gone_once)
    made = commit(identity, "b", 20)
    enqueue(redis_client, made)
    with pytest.raises(redis.ConnectionError):
        executor.drain(identity)
    assert shape(sim, sim_url, identity) == [("acme/webapp: b", "09:20", "09:30", ["b"])]

    minutes = {"a": 0, "c": 45}
    enqueue(redis_client, *(commit(identity, name, minutes[name]) for name in arriving))
    redis_client.delete(keys.lock(identity))  # the dead worker's lock, expired
    report = executor.drain(identity)
    assert (report.status, report.dead) == ("empty", 0)
    assert shape(sim, sim_url, identity) == expected
    done = Ledger(redis_client).done(made.key)
    assert done is not None and ADOPTED in done["notes"]
    # and the session is recorded as the adopted entry: a later piece extends it
    enqueue(redis_client, commit(identity, "d", 50))  # within the gap of every session above
    assert executor.drain(identity).dead == 0
    assert len(entries(sim, sim_url, identity)) == 1
