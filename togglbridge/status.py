"""What ``togglbridge status`` and ``GET /api/status`` show: queues, outboxes, parked work, dead letters, quota."""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from rich.console import Console
from rich.table import Table

from togglbridge.queues import ALL_QUEUES
from togglbridge.store import keys, text
from togglbridge.store.outbox import Outbox


def collect_status(client: redis.Redis, *, dead_shown: int = 20) -> dict[str, Any]:
    now = time.time()
    pipe = client.pipeline(transaction=False)
    for queue in ALL_QUEUES:
        pipe.llen(queue)
    depths = pipe.execute()
    outboxes = Outbox(client).depths()
    parked = [
        {
            "identity": text(member),
            "until": float(score),
            "resumes_in_seconds": max(0.0, round(float(score) - now, 1)),
        }
        for member, score in _scored(client.zrange(keys.PARKED, 0, -1, withscores=True))
    ]
    dead = [json.loads(raw) for raw in client.lrange(keys.DEAD_LETTERS, 0, dead_shown - 1)]
    quota: dict[str, Any] = {}
    for identity in outboxes:
        fields = {text(k): text(v) for k, v in client.hgetall(keys.state(identity)).items()}
        if "quota_remaining" in fields:
            reset_at = float(fields.get("quota_reset_at", "0") or 0)
            quota[identity] = {
                "remaining": int(fields["quota_remaining"]),
                "resets_in_seconds": max(0.0, round(reset_at - now, 1)) if reset_at else None,
            }
    return {
        "queues": dict(zip(ALL_QUEUES, (int(d) for d in depths), strict=True)),
        "outboxes": outboxes,
        "parked": parked,
        "dead_letters": {"count": int(client.llen(keys.DEAD_LETTERS)), "latest": dead},
        "quota": quota,
    }


def _scored(reply: Any) -> list[tuple[Any, float]]:
    """ZRANGE ... WITHSCORES as (member, score) pairs."""
    return [(member, float(score)) for member, score in reply]


def render_status(snapshot: dict[str, Any], console: Console) -> None:
    """The status as tables a person reads at a glance."""
    queues = Table(title="Celery queues", show_header=True)
    queues.add_column("queue")
    queues.add_column("messages", justify="right")
    for name, depth in snapshot["queues"].items():
        queues.add_row(name, str(depth))
    console.print(queues)

    identities = Table(title="Identities", show_header=True)
    for column in ("identity", "waiting actions", "parked for", "quota left", "quota resets in"):
        identities.add_column(column, justify="left" if column == "identity" else "right")
    parked = {p["identity"]: p["resumes_in_seconds"] for p in snapshot["parked"]}
    for name, depth in snapshot["outboxes"].items():
        quota = snapshot["quota"].get(name, {})
        identities.add_row(
            name,
            str(depth),
            f"{parked[name]:g} s" if name in parked else "-",
            str(quota.get("remaining", "-")),
            f"{quota['resets_in_seconds']:g} s" if quota.get("resets_in_seconds") is not None else "-",
        )
    console.print(identities)

    dead = snapshot["dead_letters"]
    console.print(
        f"Dead letters: {dead['count']}"
        + (" (togglbridge retry-dead re-drives them)" if dead["count"] else "")
    )
    for letter in dead["latest"]:
        console.print(
            f"  {letter['identity']}: {letter['action']['type']} {letter['key']}: {letter['status']} {letter['message']}",
            highlight=False,
        )
