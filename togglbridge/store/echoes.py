"""Echoes: Toggl's webhooks report every change, the bridge's own too. The executor notes each time it writes an
entry (every write of the last hour, not only the latest: a webhook may come after a later write of the same
entry), whether the action it wrote for went on to succeed or not; a delivery about an entry the bridge wrote
around the time the change happened is its echo, which no rule sees, so a rule's own change never triggers it
again. Changes that keep coming for one entry (two tools, or two rules with another tool between them, undoing
each other) are counted, and past a bound rules stop seeing them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from togglbridge.store import keys

ECHO_WINDOW_SECONDS = 30.0  # between the bridge's request and the change time Toggl reports for it
MEMORY_SECONDS = 3600.0
MAX_CHANGES_PER_HOUR = 20
_WRITE = re.compile(r"/time_entries/(\d+)(?:/stop)?$")


def written_entries(requests: Iterable[Any], created: Iterable[int | None] = ()) -> set[int]:
    """The entries a list of Toggl requests (``RequestRecord``s) changed: PUT, PATCH or DELETE of one entry, and
    the ids of entries created."""
    ids = {int(match.group(1)) for r in requests if r.method in ("PUT", "PATCH", "DELETE") and r.status and
           r.status < 400 and (match := _WRITE.search(r.path))}  # fmt: skip
    return ids | {entry_id for entry_id in created if entry_id is not None}


def note_writes(pipe: Any, entry_ids: Iterable[int], now: float | None = None) -> None:
    """Remember, in the caller's transaction, that the bridge wrote these entries now."""
    now = time.time() if now is None else now
    for entry_id in set(entry_ids):
        name = keys.echo_writes(entry_id)
        pipe.zadd(name, {repr(now): now})
        pipe.zremrangebyscore(name, "-inf", now - MEMORY_SECONDS)
        pipe.expire(name, int(MEMORY_SECONDS))


def is_echo(client: Any, entry_id: int, changed_at: float) -> bool:
    """Whether a change Toggl reports at ``changed_at`` of ``entry_id`` was the bridge's own: it wrote the entry
    within the window of that time."""
    window = (changed_at - ECHO_WINDOW_SECONDS, changed_at + ECHO_WINDOW_SECONDS)
    return bool(client.zcount(keys.echo_writes(entry_id), *window))


def too_many_changes(client: Any, entry_id: int) -> bool:
    """Count a change rules will see; True once the entry changed more than the bound this hour."""
    name = keys.entry_changes(entry_id)
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, int(MEMORY_SECONDS), nx=True)
    count, _ = pipe.execute()
    return int(count) > MAX_CHANGES_PER_HOUR
