"""What ``togglbridge status`` and ``GET /api/status`` show: queues, outboxes, parked work, dead letters, quota,
the deliveries of the last hour, the beat's last tick, the simulator's URL, and (when asked) which workers answer.

Each part is read by a function of its own, which ``/metrics`` calls too for its gauges: one way to read each.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import Celery
from kombu.pidbox import Mailbox

from togglbridge.queues import ALL_QUEUES
from togglbridge.store import deliveries, keys, text
from togglbridge.store.feed_state import feed_health, polled_feeds
from togglbridge.store.journal import parse_time
from togglbridge.store.outbox import Outbox

DELIVERIES_WINDOW = timedelta(hours=1)
WORKER_PING_SECONDS = 1.5


def ping_workers(celery_app: Celery, timeout: float = WORKER_PING_SECONDS) -> dict[str, Any]:
    """Which workers answer a Celery ping within ``timeout`` (the call always waits that long for answers)."""
    # Celery's own ``control.ping`` takes a producer from kombu's process-wide pools, which ``configure`` closes
    # (and kombu hands back closed) when the app is configured again: a mailbox and connection of its own.
    mailbox = Mailbox(celery_app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")  # type: ignore[no-untyped-call]
    try:
        with celery_app.connection_for_write() as connection:
            replies = mailbox(connection).multi_call("ping", timeout=timeout) or []
    except Exception as exc:  # a broker that cannot be reached is an answer too
        return {"answering": 0, "names": [], "error": type(exc).__name__}
    names = sorted(name for reply in replies for name in reply)
    return {"answering": len(names), "names": names}


def last_tick(client: redis.Redis, now: float) -> dict[str, Any] | None:
    """When the beat last ticked (ISO time, seconds ago); None when it never did."""
    raw = client.get(keys.LAST_TICK)
    if raw is None:
        return None
    at = text(raw)
    try:
        ago: float | None = round(now - parse_time(at).timestamp(), 1)
    except ValueError:
        ago = None
    return {"at": at, "seconds_ago": ago}


def _deliveries(client: redis.Redis, now: float) -> dict[str, Any]:
    kept = deliveries.read_all(client)
    since = datetime.fromtimestamp(now, UTC) - DELIVERIES_WINDOW
    return {
        "window": f"last hour (of the last {len(kept)} kept)",
        "by_status": deliveries.counts_since(kept, since),
    }


def queue_depths(client: redis.Redis) -> dict[str, int]:
    """Messages waiting in each Celery queue."""
    pipe = client.pipeline(transaction=False)
    for queue in ALL_QUEUES:
        pipe.llen(queue)
    return dict(zip(ALL_QUEUES, (int(depth) for depth in pipe.execute()), strict=True))


def parked(client: redis.Redis, now: float) -> list[dict[str, Any]]:
    """The identities in the parked set, with when their work may resume (past for those the tick has not woken
    yet)."""
    return [
        {
            "identity": text(member),
            "until": float(score),
            "resumes_in_seconds": max(0.0, round(float(score) - now, 1)),
        }
        for member, score in _scored(client.zrange(keys.PARKED, 0, -1, withscores=True))
    ]


def dead_letter_count(client: redis.Redis) -> int:
    return int(client.llen(keys.DEAD_LETTERS))


def quotas(client: redis.Redis, identities: list[str], now: float) -> dict[str, dict[str, Any]]:
    """Each identity's hourly quota as Toggl last reported it: requests left, and seconds to its reset (None when
    Toggl did not say; 0 once passed, when the count is stale until the next request)."""
    pipe = client.pipeline(transaction=False)
    for identity in identities:
        pipe.hmget(keys.state(identity), "quota_remaining", "quota_reset_at")
    found: dict[str, dict[str, Any]] = {}
    for identity, (remaining, reset) in zip(identities, pipe.execute(), strict=True):
        if remaining is None:
            continue
        reset_at = float(text(reset) or 0) if reset is not None else 0.0
        found[identity] = {
            "remaining": int(text(remaining)),
            "resets_in_seconds": max(0.0, round(reset_at - now, 1)) if reset_at else None,
        }
    return found


def calendars(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """Each polled calendar feed's health (``store.feed_state.FeedHealth``)."""
    return {name: dataclasses.asdict(feed_health(client, name)) for name in polled_feeds(client)}


def collect_status(
    client: redis.Redis, *, dead_shown: int = 20, workers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The status; ``workers`` is what ``ping_workers`` found, when the caller asked (``None``: not asked)."""
    now = time.time()
    outboxes = Outbox(client).depths()
    dead = [json.loads(raw) for raw in client.lrange(keys.DEAD_LETTERS, 0, dead_shown - 1)]
    return {
        "queues": queue_depths(client),
        "outboxes": outboxes,
        "parked": parked(client, now),
        "dead_letters": {"count": dead_letter_count(client), "latest": dead},
        "quota": quotas(client, list(outboxes), now),
        "deliveries": _deliveries(client, now),
        "last_tick": last_tick(client, now),
        "simulator_url": text(simulator) if (simulator := client.get(keys.SIMULATOR_URL)) else None,
        "workers": workers,
        "calendars": calendars(client),
    }


def _scored(reply: Any) -> list[tuple[Any, float]]:
    """ZRANGE ... WITHSCORES as (member, score) pairs."""
    return [(member, float(score)) for member, score in reply]
