"""The journal: every event's fate (received, matched rules, actions, Toggl requests, outcome), capped.

Each event has a list of JSON records; an index lists event ids newest first and is trimmed to the cap (by the
receiver's accept script, which is what adds to it), the trimmed events' records going with them. Records hold what a user needs to debug, never a secret.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from togglbridge.store import keys, text

JOURNAL_PREFIX = keys.journal("")


def record(stage: str, **fields: Any) -> str:
    """One journal record as JSON: the stage, when, and what happened."""
    return json.dumps(
        {"stage": stage, "at": round(time.time(), 3), **fields}, default=str, separators=(",", ":")
    )


class Journal:
    def __init__(self, client: redis.Redis, *, cap: int) -> None:
        self._redis = client
        self._cap = cap

    def append(self, event_id: str, *records: str, pipe: Any = None) -> None:
        """Add records to an event the journal still holds (an event trimmed away stays away)."""
        if records:
            (pipe if pipe is not None else self._redis).rpushx(keys.journal(event_id), *records)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events first, each with its records in order."""
        shown = max(1, min(limit, self._cap))  # never more than the journal keeps
        event_ids = [text(i) for i in self._redis.lrange(keys.JOURNAL_INDEX, 0, shown - 1)]
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.lrange(keys.journal(event_id), 0, -1)
        result = []
        for event_id, raw_records in zip(event_ids, pipe.execute(), strict=True):
            records = [json.loads(r) for r in raw_records]
            result.append({"event_id": event_id, "outcome": outcome(records), "records": records})
        return result

    def event(self, event_id: str) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self._redis.lrange(keys.journal(event_id), 0, -1)]


def outcome(records: list[dict[str, Any]]) -> str:
    """A one-word summary of an event's fate, from its records."""
    stages = [r.get("stage") for r in records]
    if "dead" in stages:
        return "failed"
    if "planned" not in stages:
        return "queued"
    planned = [r for r in records if r.get("stage") == "planned"][-1]
    if planned.get("identity") is None:
        return "no identity"
    expected = len(planned.get("actions", []))
    if expected == 0:
        return "no action"
    finished = sum(1 for s in stages if s in ("applied", "skipped"))
    if "parked" in stages and finished < expected:
        return "parked"
    return "applied" if finished >= expected else "pending"
