"""Planning messages still waiting on the ingest queue, taken off it by a planning task that is already running.

Most of what a planning task costs is Celery's own work around a few milliseconds of planning: taking the message,
decoding it, handing it to a pool process, acknowledging it. When more planning messages wait, the running task
takes the next ones off the queue itself, plans them all in its one transaction and drains each identity once, so
Celery's part is paid once per batch instead of once per delivery.

Safe against a crash: every accepted message has a safety copy (``store.enqueue``) that only the transaction
that plans it deletes, and the beat's tick queues again a copy left unplanned. A message taken here whose task
dies before planning it is queued again, exactly as one lost between kombu's queue and a worker is.

Nothing is reordered and nothing else is taken: messages are taken from the end kombu's transport takes next
(it BRPOPs), one at a time, and only while the next one is a planning message to run now, in the envelope the
receiver writes. A chat's follow-up, a message with an ETA, or anything unexpected stops the taking right there.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import orjson

from togglbridge.store import keys

_TAKE = """
-- KEYS[1] the queue, KEYS[2] the safety copies' times
-- ARGV[1] at most this many, ARGV[2] the planning task's name, ARGV[3] now
local taken = {}
local limit = tonumber(ARGV[1])
while #taken < limit do
  local message = redis.call('LINDEX', KEYS[1], -1)
  if not message then break end
  local ok, envelope = pcall(cjson.decode, message)
  if not ok or type(envelope) ~= 'table' then break end
  local headers, properties = envelope['headers'], envelope['properties']
  if type(headers) ~= 'table' or type(properties) ~= 'table' then break end
  if headers['task'] ~= ARGV[2] or type(headers['id']) ~= 'string' then break end
  if headers['eta'] ~= nil and headers['eta'] ~= cjson.null then break end
  if properties['body_encoding'] ~= 'base64' or envelope['content-type'] ~= 'application/json' then break end
  redis.call('RPOP', KEYS[1])
  -- Taken now: the tick must not queue its copy again while this batch plans it.
  redis.call('ZADD', KEYS[2], 'XX', ARGV[3], headers['id'])
  taken[#taken + 1] = message
end
return taken
"""


@dataclass(frozen=True, slots=True)
class PlanMessage:
    """One accepted delivery's planning message: its id (its safety copy's), its events as JSON data, and when the
    receiver accepted it (unix time; None for messages sent before the header existed)."""

    message_id: str
    events: list[dict[str, Any]]
    received_at: float | None
    envelope: bytes = b""  # as it was on the queue, to give it back untouched


class WaitingPlans:
    """Takes waiting planning messages off ``queue`` (see the module's docstring)."""

    def __init__(self, client: Any, *, queue: str, task: str, received_at_header: str) -> None:
        self._client = client
        self._queue = queue
        self._task = task
        self._received_at_header = received_at_header

    def queue_take(self, pipe: Any, limit: int, now: float | None = None) -> int:
        """Take up to ``limit`` planning messages, oldest first, in ``pipe`` (the planning transaction of the task's
        own message: no round trip of its own when nothing waits), as EVAL with the text, which a transaction can
        always run; returns the index of its reply, which ``read`` reads."""
        position = len(pipe.command_stack)
        pipe.eval(_TAKE, 2, *self._keys(), *self._args(limit, now))
        return position

    def read(self, reply: Any) -> list[PlanMessage]:
        """The messages the script took. One whose body cannot be read is given back, with those behind it, for a
        task of its own, where it fails the way it would have without this."""
        envelopes = [item if isinstance(item, bytes) else str(item).encode() for item in reply or []]
        taken: list[PlanMessage] = []
        for position, envelope in enumerate(envelopes):
            message = self._read(envelope)
            if message is None:
                self._give_back(envelopes[position:])
                break
            taken.append(message)
        return taken

    def _keys(self) -> list[str]:
        return [self._queue, keys.UNPLANNED_AT]

    def _args(self, limit: int, now: float | None) -> list[Any]:
        return [max(0, limit), self._task, time.time() if now is None else now]

    def give_back(self, messages: list[PlanMessage]) -> None:
        """Put taken messages back where they were, next to be taken, in their order: they were not planned."""
        self._give_back([message.envelope for message in messages])

    def _give_back(self, envelopes: list[bytes]) -> None:
        if envelopes:
            # RPUSH of the newest first leaves the oldest at the right end, which is taken next.
            self._client.rpush(self._queue, *reversed(envelopes))

    def _read(self, envelope: bytes) -> PlanMessage | None:
        try:
            data = orjson.loads(envelope)
            headers = data["headers"]
            args, kwargs, _ = orjson.loads(base64.b64decode(data["body"], validate=True))
            events = args[0] if args else kwargs["events"]
            if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
                return None
            sent_at = headers.get(self._received_at_header)
            received_at = (
                float(sent_at) if isinstance(sent_at, int | float) and not isinstance(sent_at, bool) else None
            )
            return PlanMessage(str(headers["id"]), events, received_at, envelope)
        except (ValueError, KeyError, TypeError, IndexError):
            return None
