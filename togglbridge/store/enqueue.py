"""Accepting events: dedupe the delivery, put the events on the Celery queue, journal them; atomically.

One Lua script does all three, so an accepted delivery is queued and journalled, or nothing happened at all (a
refused or failed request leaves no "seen" mark that would make the sender's retry look like a duplicate).

The message is a Celery protocol-2 task message built with the app's own ``amqp.as_task_v2`` and pushed the way
kombu's Redis transport does (LPUSH of its JSON envelope onto the queue's list): a real worker consumes it like any
``apply_async``, at a fraction of the cost (one Redis round-trip, no producer or connection checkout per request).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from celery import Celery

from togglbridge.events import Event
from togglbridge.store import keys, text
from togglbridge.store.deliveries import DELIVERIES_COUNT_KEY, ScriptedRecord
from togglbridge.store.group_commit import ScriptGroup
from togglbridge.store.journal import JOURNAL_PREFIX, SUMMARY_PREFIX, iso_now

SEEN_TTL_SECONDS = 14 * 24 * 3600  # senders redeliver within days, not weeks
# A message header: when the receiver accepted the delivery (unix time), which the planning task reads as
# ``request.togglbridge_received_at`` and its actions carry on (for the delivery-to-Toggl latency). A header, not
# an argument, so that a worker of any version plans any message: Celery passes unknown headers over.
RECEIVED_AT_HEADER = "togglbridge_received_at"

_ACCEPT = """
-- KEYS[1] seen key, KEYS[2] queue list, KEYS[3] journal index, KEYS[4] unplanned messages, KEYS[5] their times,
-- KEYS[6] deliveries log, KEYS[7] its counts
-- ARGV[1] seen ttl (0: no delivery id, no dedupe), ARGV[2] message ('' for none), ARGV[3] journal cap,
-- ARGV[4] journal key prefix, ARGV[5] message id, ARGV[6] now, ARGV[7] journal summary key prefix,
-- ARGV[8] deliveries kept (0: record nothing), ARGV[9] record and ARGV[10] count field if fresh, ARGV[11] and
-- ARGV[12] if a duplicate; then (event id, journal record) pairs
local function logged(fresh)
  if ARGV[8] == '0' then return end
  local record, field = ARGV[9], ARGV[10]
  if not fresh then record, field = ARGV[11], ARGV[12] end
  redis.call('LPUSH', KEYS[6], record)
  redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[8]) - 1)
  redis.call('HINCRBYFLOAT', KEYS[7], field, 1)
end
if ARGV[1] ~= '0' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
    logged(false)
    return 0
  end
end
logged(true)
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[5], ARGV[2])
  redis.call('ZADD', KEYS[5], ARGV[6], ARGV[5])
end
for i = 13, #ARGV, 2 do
  local key = ARGV[4] .. ARGV[i]
  if redis.call('EXISTS', key) == 0 then redis.call('LPUSH', KEYS[3], ARGV[i]) end
  redis.call('RPUSH', key, ARGV[i + 1])
end
local cap = tonumber(ARGV[3])
while redis.call('LLEN', KEYS[3]) > cap do
  local trimmed = redis.call('RPOP', KEYS[3])
  redis.call('DEL', ARGV[4] .. trimmed, ARGV[7] .. trimmed)
end
return 1
"""


class TaskMessages:
    """Builds the JSON envelope kombu's Redis transport would LPUSH for ``apply_async(args, queue=queue)``.

    The envelope's fixed parts come from the app's own ``amqp.as_task_v2`` once; each message then only gets
    its ids and body (rebuilding the whole message per request cost a third of the receiver's time).
    """

    def __init__(self, app: Celery, task: str, queue: str) -> None:
        template = app.amqp.as_task_v2("", task, args=[], kwargs={}, argsrepr="<events>")
        self._headers = dict(template.headers)
        self._properties = {
            **template.properties,
            "body_encoding": "base64",
            "delivery_info": {"exchange": "", "routing_key": queue},
            "delivery_mode": 2,
            "priority": 0,
        }
        self._embed = template.body[2]
        self._embed_json = orjson.dumps(self._embed)

    def build(self, args: Sequence[Any], received_at: float | None = None) -> tuple[str, str]:
        """(the task's id, the envelope); ``received_at``: see ``RECEIVED_AT_HEADER``."""
        return self._envelope(orjson.dumps([list(args), {}, self._embed]), received_at)

    def build_for_events(self, events: Sequence[Event], received_at: float | None = None) -> tuple[str, str]:
        """``build([events as JSON data])``, with each event written by pydantic's own JSON serializer: the same
        JSON, without the Python objects in between."""
        listed = b",".join(event.__pydantic_serializer__.to_json(event) for event in events)
        return self._envelope(b"[[[" + listed + b"]],{}," + self._embed_json + b"]", received_at)

    def _envelope(self, body: bytes, received_at: float | None) -> tuple[str, str]:
        task_id = str(uuid.uuid4())
        headers = {**self._headers, "id": task_id, "root_id": task_id}
        if received_at is not None:
            headers[RECEIVED_AT_HEADER] = received_at
        envelope = {
            "body": base64.b64encode(body).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {**self._properties, "correlation_id": task_id, "delivery_tag": str(uuid.uuid4())},
        }
        return task_id, orjson.dumps(envelope).decode()


def task_message(app: Celery, task: str, args: Sequence[Any], queue: str) -> str:
    """One message (see ``TaskMessages``), for callers that send few."""
    return TaskMessages(app, task, queue).build(args)[1]


def requeue_unplanned(client: Any, queue: str, *, older_than: float, now: float | None = None) -> int:
    """Put back on the queue the accepted messages no planning task finished after ``older_than`` seconds.

    kombu's Redis transport takes a message off the queue before it records it as taken, so a worker killed (or
    Redis restarted) in between loses it; the accept script kept a copy, which planning deletes. Planning a
    message twice changes nothing, so putting back one that was only slow is harmless.
    """
    now = time.time() if now is None else now
    if client.llen(queue):
        return 0  # messages still wait in the queue: an old copy may be one of them, not a lost one
    stale = [text(member) for member in client.zrangebyscore(keys.UNPLANNED_AT, 0, now - older_than)]
    if not stale:
        return 0
    messages = client.hmget(keys.UNPLANNED_MESSAGES, stale)
    pipe = client.pipeline(transaction=True)
    for message_id, message in zip(stale, messages, strict=True):
        if message is None:
            pipe.zrem(keys.UNPLANNED_AT, message_id)
            continue
        pipe.lpush(queue, message)
        pipe.zadd(keys.UNPLANNED_AT, {message_id: now})
    pipe.execute()
    return sum(1 for message in messages if message is not None)


def forget_planned(pipe: Any, message_id: str) -> None:
    """On ``pipe``: the message was planned; its copy is no longer needed."""
    pipe.hdel(keys.UNPLANNED_MESSAGES, message_id)
    pipe.zrem(keys.UNPLANNED_AT, message_id)


def _received(event: Event, at: str) -> bytes:
    """The event's ``received`` journal record (``journal.record``'s fields), written by orjson: the standard
    library's encoder cost a tenth of a delivery's handling."""
    return orjson.dumps(
        {
            "stage": "received",
            "at": at,
            "source": event.source,
            "kind": event.kind,
            "actor": event.actor,
            "event_id": event.id,
            "delivery_id": event.delivery_id,
            "occurred_at": event.occurred_at.isoformat(),
        }
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    duplicate: bool
    events: int


class EventQueue:
    """Puts events on the ingest queue; the receiver holds one, built with an async Redis client."""

    def __init__(self, client: Any, app: Celery, *, task: str, queue: str, journal_cap: int) -> None:
        self._script = client.register_script(_ACCEPT)
        self._group = ScriptGroup(client, _ACCEPT)
        self._messages = TaskMessages(app, task, queue)
        self._queue = queue
        self._journal_cap = journal_cap

    def _arguments(
        self, source: str, delivery_id: str | None, events: list[Event], logged: ScriptedRecord | None = None
    ) -> tuple[list[str], list[Any]]:
        # The moment of acceptance: the message copy's time, and the message's header.
        now = round(time.time(), 3)
        message_id, message = self._messages.build_for_events(events, now) if events else ("", "")
        at = iso_now()
        pairs: list[Any] = []
        for event in events:
            pairs += [event.id, _received(event, at)]
        ttl = SEEN_TTL_SECONDS if delivery_id else 0
        script_keys = [
            keys.seen(source, delivery_id or "-"), self._queue, keys.JOURNAL_INDEX, keys.UNPLANNED_MESSAGES,
            keys.UNPLANNED_AT, keys.DELIVERIES, DELIVERIES_COUNT_KEY,
        ]  # fmt: skip
        record: list[Any] = (
            [logged.kept, logged.fresh, logged.fresh_count, logged.duplicate, logged.duplicate_count]
            if logged is not None
            else [0, "", "", "", ""]
        )
        args = [
            ttl, message, self._journal_cap, JOURNAL_PREFIX, message_id, now, SUMMARY_PREFIX, *record,
            *pairs,
        ]  # fmt: skip
        return script_keys, args

    async def accept(
        self, source: str, delivery_id: str | None, events: list[Event], logged: ScriptedRecord | None = None
    ) -> Accepted:
        """Queue the events of one delivery; ``duplicate`` when the delivery was accepted before. ``logged``: the
        delivery's record for the deliveries log, written by the same script (see ``ScriptedRecord``)."""
        script_keys, args = self._arguments(source, delivery_id, events, logged)
        fresh = await self._group(script_keys, args)
        return Accepted(duplicate=not fresh, events=len(events) if fresh else 0)

    def accept_sync(self, source: str, delivery_id: str | None, events: list[Event]) -> Accepted:
        """The same with a synchronous Redis client (the CLI's ``send``, tests, beat's calendar polls)."""
        script_keys, args = self._arguments(source, delivery_id, events)
        fresh = self._script(keys=script_keys, args=args)
        return Accepted(duplicate=not fresh, events=len(events) if fresh else 0)
