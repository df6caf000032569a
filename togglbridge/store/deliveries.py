"""The deliveries log: one record per request to a source endpoint, whatever we answered, newest first, capped.

A record says when, which source, the sender's delivery id (when its headers carry one), the HTTP status, a
short reason (the error we answered, or "accepted 3 events", "duplicate", "no events") and the event ids. Never
a body, another header's value, or a secret.

A delivery that reaches the accept script (accepted, a duplicate, or without events) is recorded by that script,
in the same round trip (``ScriptedRecord``). Every other one (refused, or Redis away) goes this way, which the
receiver must not wait on: ``DeliveryRecorder.add`` only queues the record in memory, and a background
flush, started at most every ``FLUSH_DELAY_SECONDS``, pushes whatever queued meanwhile with one LPUSH and LTRIM
(under load, one round-trip for many requests; none on a request's path). Records that could not be written
(Redis away: the very moment 503s are answered) stay queued, up to the cap, and go with the next flush. A reader
in the same process (``GET /api/deliveries``, ``/metrics``) first waits for the flush, so it sees what was answered
before.

The same write adds each request to the ``togglbridge_deliveries_total`` counter (``store/metrics.py``). Counts
are not capped like records: while Redis is away they wait, one number per source and status, so none is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.exceptions

from togglbridge.store import keys
from togglbridge.store.journal import iso_now, parse_time
from togglbridge.store.metrics import DELIVERIES, Tally, field, source_label

log = logging.getLogger(__name__)

DELIVERIES_KEPT = 1000
DELIVERIES_KEY = keys.DELIVERIES
FLUSH_DELAY_SECONDS = 0.05  # records gather this long before a flush: a round-trip per batch, not per request
DELIVERY_ID_CHARS = 200  # a hostile sender's header can be long; an id never is


def delivery_record(
    source: str,
    delivery_id: str | None,
    status: int,
    reason: str,
    event_ids: Iterable[str] = (),
    at: str | None = None,
) -> dict[str, Any]:
    """A delivery's record; ``at`` (ISO 8601, the journal's way) defaults to now."""
    return {
        "at": at or iso_now(),
        "source": source[:100],
        "delivery_id": delivery_id[:DELIVERY_ID_CHARS] if delivery_id else None,
        "status": status,
        "reason": reason,
        "events": list(event_ids),
    }


@dataclass(frozen=True, slots=True)
class ScriptedRecord:
    """A delivery's record and count, prepared for the accept script (``store/enqueue.py``), which writes one of
    two in the same round trip as the events: the one for a fresh delivery or the one for a duplicate, as it
    finds. A delivery that reaches the script needs no write of its own, and no wake-up to make one."""

    fresh: bytes
    fresh_count: str  # the counter's field (source and status labels)
    duplicate: bytes
    duplicate_count: str
    kept: int = DELIVERIES_KEPT

    @classmethod
    def of(
        cls, fresh: dict[str, Any], duplicate: dict[str, Any], kept: int = DELIVERIES_KEPT
    ) -> ScriptedRecord:
        return cls(
            orjson.dumps(fresh), _count_field(fresh), orjson.dumps(duplicate), _count_field(duplicate), kept
        )


def _count_labels(record: dict[str, Any]) -> tuple[str, str]:
    """The deliveries counter's labels of a record: its source (as the metrics name it) and its status."""
    return source_label(str(record.get("source"))), str(record.get("status"))


def _count_field(record: dict[str, Any]) -> str:
    return field(_count_labels(record))


DELIVERIES_COUNT_KEY = DELIVERIES.key


class DeliveryRecorder:
    """Writes delivery records in the background, batched; the receiver holds one (async Redis client)."""

    def __init__(self, client: Any, *, kept: int = DELIVERIES_KEPT) -> None:
        self._redis = client
        self._kept = kept
        self._pending: list[bytes] = []
        # (source label, status) -> requests: a plain dict on the request's path, a Tally once per write
        self._counts: dict[tuple[str, str], int] = {}
        self._flushing: asyncio.Task[None] | None = None

    def add(self, record: dict[str, Any]) -> None:
        """Queue a record to be written; returns at once."""
        self._pending.append(orjson.dumps(record))
        labels = _count_labels(record)
        self._counts[labels] = self._counts.get(labels, 0) + 1
        if len(self._pending) > self._kept:  # while Redis is away, only the newest are worth keeping
            del self._pending[: -self._kept]
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush(FLUSH_DELAY_SECONDS))

    async def flush(self) -> None:
        """Write what was added so far (or fail to): a reader in this process calls it first."""
        if self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)
        if self._pending:
            await self._write()

    async def _flush(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if await self._write() and self._pending:
            # What arrived during the write waits for the next batch: writing it at once would turn a busy
            # receiver's flushes into one round-trip per request again.
            self._flushing = asyncio.get_running_loop().create_task(self._flush(delay))

    async def _write(self) -> bool:
        batch, self._pending = self._pending, []
        counts, self._counts = self._counts, {}
        if not batch:
            return True
        pipe = self._redis.pipeline(transaction=False)
        pipe.lpush(keys.DELIVERIES, *batch)
        pipe.ltrim(keys.DELIVERIES, 0, self._kept - 1)
        tally = Tally()
        for labels, amount in counts.items():
            tally.count(DELIVERIES, *labels, amount=amount)
        tally.write(pipe)
        try:
            await pipe.execute()
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("could not record %d deliveries: %s", len(batch), type(exc).__name__)
            self._pending = (batch + self._pending)[-self._kept :]
            for labels, amount in self._counts.items():
                counts[labels] = counts.get(labels, 0) + amount
            self._counts = counts
            return False
        return True


def parse_status_filter(value: str | None) -> tuple[int, int] | None:
    """``401`` or ``4xx`` as an inclusive range of statuses; ``ValueError`` for anything else."""
    if value is None or value == "":
        return None
    value = value.strip().lower()
    if len(value) == 3 and value[0] in "12345" and value[1:] == "xx":
        low = int(value[0]) * 100
        return low, low + 99
    if value.isdigit() and 100 <= int(value) <= 599:
        return int(value), int(value)
    raise ValueError(f"status must be an HTTP status like 401 or a class like 4xx, not {value!r}")


def matching(
    raw_records: Iterable[Any], *, limit: int, status: str | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    """The records (as read from Redis, newest first) that match, up to ``limit``."""
    statuses = parse_status_filter(status)
    found = []
    for raw in raw_records:
        record = json.loads(raw)
        if statuses is not None and not statuses[0] <= int(record.get("status", 0)) <= statuses[1]:
            continue
        if source is not None and record.get("source") != source:
            continue
        found.append(record)
        if len(found) >= limit:
            break
    return found


def counts_since(raw_records: Iterable[Any], since: datetime) -> dict[str, int]:
    """How many deliveries got each status since ``since`` (status as text, for JSON), from newest-first records."""
    counts: dict[str, int] = {}
    for raw in raw_records:
        record = json.loads(raw)
        try:
            if parse_time(str(record.get("at"))) < since:
                break
        except ValueError:
            continue
        status = str(record.get("status"))
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def read_all(client: Any) -> list[Any]:
    """Every kept record, newest first (synchronous client)."""
    return list(client.lrange(keys.DELIVERIES, 0, -1))
