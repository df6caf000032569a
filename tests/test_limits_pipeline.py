"""Toggl's leaky bucket against 4 worker processes: the shared limiter keeps every request under it.

Issue: "With 4 worker processes and the simulator's leaky bucket at 1 request/s, a burst of 200 actions gets no
429 at all and all 200 take effect." The 200 actions belong to 20 identities (each its own Toggl account, so each
its own bucket), so the burst takes seconds, not minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.pipeline_support import Pipeline, entries_of, push_body, running_pipeline, send_push, wait_for
from togglbridge.store.redis_server import RedisServer
from togglbridge.toggl.sim import SimKnobs, Simulator

pytestmark = pytest.mark.integration

IDENTITIES = 20
COMMITS_EACH = 10

RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ message | first_line }}", duration: 10m}
"""


@pytest.fixture(scope="module")
def limited(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    identities = [f"burst{i}-{uuid.uuid4().hex[:6]}" for i in range(IDENTITIES)]
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    sim = Simulator(knobs=SimKnobs(rate_limit=1.0))  # Toggl's "safe window": 1 request/s per token
    with running_pipeline(
        redis_server.url,
        "identities:\n" + listed + RULES,
        tmp_path_factory.mktemp("limits"),
        identities,
        concurrency=4,
        sim=sim,
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "1/second"},
    ) as running:
        yield running


def test_a_burst_of_200_actions_gets_no_429_and_all_take_effect(limited: Pipeline) -> None:
    for identity in limited.identities:
        assert send_push(limited, push_body(identity, COMMITS_EACH)).status_code == 202
    total = IDENTITIES * COMMITS_EACH
    wait_for(
        lambda: sum(len(entries_of(limited, i)) for i in limited.identities) >= total,
        timeout=180,
        what=f"{total} actions",
    )
    assert sum(len(entries_of(limited, i)) for i in limited.identities) == total
    assert limited.sim.stats.by_status.get(429, 0) == 0
