"""Order, as a property: for one identity, any reordering and duplication of the deliveries of a sequence of
start, stop, log and tag events ends in the same Toggl state as the sequence delivered once, in order.

Each delivery is planned and drained before the next arrives (the hardest case: nothing waits to be sorted in the
outbox), through the real planner, a real Redis and the simulator over real HTTP.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from togglbridge.config import parse_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.executor import Executor
from togglbridge.settings import Settings
from togglbridge.store.journal import Journal
from togglbridge.store.redis_server import RedisServer
from togglbridge.toggl.access import IdentityAccount, SettingsAccess
from togglbridge.toggl.sim import Simulator, serve_in_thread

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

RULES = """
rules:
  - name: start
    on: timer.start
    do: [{start: {description: "{{ title }}", tags: ["{{ tag }}"]}}]
  - name: stop
    on: timer.stop
    do: [stop]
  - name: log
    on: work.log
    do: [{log: {description: "{{ title }}", duration: 10m}}]
  - name: tag
    on: timer.tag
    do: [{tag: {tags: ["{{ tag }}"], target: running}}]
"""

KINDS = ("timer.start", "timer.stop", "work.log", "timer.tag")
SIMULATOR = Simulator()


@pytest.fixture(scope="module")
def world(redis_server: RedisServer) -> Iterator[tuple[str, redis.Redis]]:
    client = redis.Redis.from_url(redis_server.url)
    with serve_in_thread(SIMULATOR) as url:
        yield url, client
    client.close()


def config_for(identity: str) -> Any:
    return parse_config(
        f"identities:\n  {identity}:\n    emails: [{identity}@acme.io]\n{RULES}", "order.yaml"
    )


def events_for(identity: str, steps: list[tuple[str, str, str]]) -> list[Event]:
    return [
        Event(
            id=f"{identity}:{index}",
            source="generic",
            kind=kind,
            occurred_at=T0 + timedelta(minutes=7 * index),
            actor=f"{identity}@acme.io",
            data={"title": title, "tag": tag},
        )
        for index, (kind, title, tag) in enumerate(steps)
    ]


def deliver(
    world: tuple[str, redis.Redis],
    identity: str,
    deliveries: list[Event],
    drain_after: set[int] | None = None,
) -> list[tuple[Any, ...]]:
    """Deliver events one at a time, draining after those in ``drain_after`` (default: after each) and at the
    end; return the identity's entries, normalized. Undrained deliveries wait in the outbox and are coalesced."""
    sim_url, client = world
    settings_ = Settings(_env_file=None, gateway_key=None, toggl_api_token=None)
    access = SettingsAccess(settings_, {identity: IdentityAccount()}, simulator_url=sim_url)
    journal = Journal(client, cap=10_000)
    executor = Executor(client, access, journal)
    config = config_for(identity)
    try:
        for index, event in enumerate(deliveries):
            dispatch(client, journal, config, [event])
            if drain_after is None or index in drain_after or index == len(deliveries) - 1:
                report = executor.drain(identity)
                assert report.status == "empty" and report.dead == 0, report
    finally:
        access.close()
    response = httpx.get(
        f"{sim_url}/toggl-track/api/v9/me/time_entries",
        params={"start_date": "2026-11-01", "end_date": "2026-11-04"},
        headers={"Authorization": "Bearer simulator", "Maton-Connection": identity},
    )
    response.raise_for_status()
    return sorted(
        (e["description"], e["start"], e["stop"] if e["duration"] >= 0 else None, tuple(sorted(e["tags"])))
        for e in response.json()
    )


steps_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS), st.sampled_from(["Write", "Review", "Call"]), st.sampled_from(["a", "b"])
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=steps_strategy,
    seed=st.integers(0, 2**32 - 1),
    duplicates=st.integers(0, 3),
    drains=st.none() | st.sets(st.integers(0, 10)),
)
def test_any_order_and_duplication_ends_in_the_same_entries(
    world: tuple[str, redis.Redis],
    steps: list[tuple[str, str, str]],
    seed: int,
    duplicates: int,
    drains: set[int] | None,
) -> None:
    """``drains``: after which deliveries the executor runs (None: after each; otherwise the rest waits and is
    coalesced with what follows)."""
    in_order_identity, shuffled_identity = f"ord-{uuid.uuid4().hex[:10]}", f"shf-{uuid.uuid4().hex[:10]}"
    expected = deliver(world, in_order_identity, events_for(in_order_identity, steps))

    shuffled = events_for(shuffled_identity, steps)
    rng = random.Random(seed)
    deliveries = shuffled + [rng.choice(shuffled) for _ in range(duplicates)]
    rng.shuffle(deliveries)
    found = deliver(world, shuffled_identity, deliveries, drains)
    order = [d.id.split(":")[-1] for d in deliveries]
    assert found == expected, f"steps={steps} deliveries={order} drains={drains}"


def test_a_meetings_end_seen_before_its_start_still_gives_a_finished_entry(
    world: tuple[str, redis.Redis],
) -> None:
    identity = f"late-{uuid.uuid4().hex[:10]}"
    start, stop = events_for(identity, [("timer.start", "Standup", "a"), ("timer.stop", "", "")])
    entries = deliver(world, identity, [stop, start])
    assert entries == [("Standup", "2026-11-02T08:00:00+00:00", "2026-11-02T08:07:00+00:00", ("a",))]


def test_a_backlog_is_coalesced_into_fewer_requests(world: tuple[str, redis.Redis]) -> None:
    """A start, a tag and a stop that waited together cost one request: a finished, tagged entry."""
    identity = f"batch-{uuid.uuid4().hex[:10]}"
    events = events_for(
        identity, [("timer.start", "Deep work", "a"), ("timer.tag", "", "b"), ("timer.stop", "", "")]
    )
    entries = deliver(world, identity, events, drain_after=set())
    assert entries == [("Deep work", "2026-11-02T08:00:00+00:00", "2026-11-02T08:14:00+00:00", ("a", "b"))]
    user = SIMULATOR.user_for(api_key="simulator", connection=identity)
    # GET /me (the workspace) and GET current (what runs) at start-up, then one POST for three actions;
    # and the final listing this test itself makes.
    assert SIMULATOR.stats.by_credential[user.id] == 2 + 1 + 1
