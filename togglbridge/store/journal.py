"""The journal: every event's fate (received, matched rules, actions, Toggl requests, outcome), capped.

Each event has a list of JSON records; an index lists event ids newest first and is trimmed to the cap (by the
receiver's accept script, which is what adds to it), the trimmed events' records and summaries going with them.
Records hold what a user needs to debug, never a secret. Their ``at`` is ISO 8601 UTC with milliseconds.

Listing and filtering (``Journal.query``) must not read every record of up to ``JOURNAL_MAX_EVENTS`` events: a
record of a planned event holds each rule's trace, an applied one every Toggl request. So each event also has a
small summary hash, updated in the same atomic step that appends its records (a Lua script that appends and
summarizes only while the event is still journalled, so a trimmed event never comes back as a stray summary):
the identity, how many actions were planned, how many finished, were parked or died, and one line per action.
A query walks the index in pipelined pages, reading per event only its first record (source, kind, times) and
that hash; a ``since`` filter stops the walk at the first older event. Only ``Journal.event`` reads all records.
Events journalled before summaries existed (no hash, more than one record) are summarized from their records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from togglbridge.store import keys, text

JOURNAL_PREFIX = keys.journal("")
SUMMARY_PREFIX = keys.journal_summary("")

OUTCOMES = ("queued", "applied", "pending", "parked", "failed", "no identity", "no action")
PAGE_SIZE = 200  # events read per Redis round-trip while a query walks the index
FAILED_PREFIX = "failed: "  # how the summary line of an action that died begins
RESULT_LINE_CHARS = 200  # an action's one-line result is cut here (a Toggl message can be long)

# KEYS[1] the event's records, KEYS[2] its summary; ARGV[1] how many records, then the records, then
# (op, field, value) triples: op 'i' adds to a counter, 's' sets a field.
_APPEND = """
local n = tonumber(ARGV[1])
if redis.call('RPUSHX', KEYS[1], unpack(ARGV, 2, n + 1)) == 0 then return 0 end
for i = n + 2, #ARGV, 3 do
  if ARGV[i] == 'i' then
    redis.call('HINCRBY', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
  end
end
return 1
"""


def iso_now() -> str:
    """Now as ISO 8601 UTC with milliseconds, the way every time in the journal is written."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(stage: str, **fields: Any) -> str:
    """One journal record as JSON: the stage, when, and what happened."""
    return json.dumps({"stage": stage, "at": iso_now(), **fields}, default=str, separators=(",", ":"))


def parse_time(value: str) -> datetime:
    """An ISO 8601 time (UTC when it names no zone) or unix seconds; ``ValueError`` otherwise."""
    value = value.strip()
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record_time(value: Any) -> str | None:
    """A record's ``at`` as ISO 8601: records written before it was ISO carry unix seconds."""
    if isinstance(value, int | float):
        return iso(datetime.fromtimestamp(value, UTC))
    return value if isinstance(value, str) else None


def _summary_changes(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """What one record changes in its event's summary, as (op, field, value)."""
    stage = data.get("stage")
    changes: list[tuple[str, str, Any]] = [("s", "updated_at", _record_time(data.get("at")) or "")]
    action = str(data.get("action", ""))
    if stage == "planned":
        note = data.get("note") or "; ".join(str(e) for e in data.get("errors") or [])
        changes += [
            ("i", "planned", 1),
            ("s", "identity", json.dumps(data.get("identity"))),
            ("s", "expected", len(data.get("actions") or [])),
            ("s", "note", note or ""),
        ]
    elif stage == "applied":
        entry = f" entry {data['entry_id']}" if data.get("entry_id") is not None else ""
        described = f" {data['description']!r}" if data.get("description") else ""  # when the record has it
        changes += [
            ("i", "finished", 1),
            ("s", f"r:{action}", f"{data.get('result', 'applied')}{entry}{described}"),
        ]
    elif stage == "skipped":
        changes += [("i", "finished", 1), ("s", f"r:{action}", f"skipped: {data.get('reason', '')}")]
    elif stage == "dead":
        status = f"{data['status']} " if data.get("status") is not None else ""
        changes += [
            ("i", "dead", 1),
            ("s", f"r:{action}", f"{FAILED_PREFIX}{status}{data.get('message', '')}"),
        ]
    elif stage == "parked":
        changes += [("i", "parked", 1), ("s", f"r:{action}", f"parked: {data.get('reason', '')}")]
    elif stage == "held":
        changes += [("s", f"r:{action}", f"held: {data.get('reason', '')}")]
    elif stage == "retry":
        changes += [("s", f"r:{action}", f"retrying: {data.get('error', '')}")]
    return [(op, name, _one_line(value) if isinstance(value, str) else value) for op, name, value in changes]


def _one_line(value: str) -> str:
    line = " ".join(value.split())
    return line if len(line) <= RESULT_LINE_CHARS else line[: RESULT_LINE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which events a query returns; ``None`` matches anything."""

    outcome: str | None = None
    identity: str | None = None
    source: str | None = None
    kind: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of: {', '.join(OUTCOMES)}")

    def matches(self, summary: dict[str, Any]) -> bool:
        return (
            (self.outcome is None or summary["outcome"] == self.outcome)
            and (self.identity is None or summary["identity"] == self.identity)
            and (self.source is None or summary["source"] == self.source)
            and (self.kind is None or summary["kind"] == self.kind)
        )


class Journal:
    def __init__(self, client: redis.Redis, *, cap: int) -> None:
        self._redis = client
        self._cap = cap

    def append(self, event_id: str, *records: str, pipe: Any = None) -> None:
        """Add records to an event the journal still holds (an event trimmed away stays away), and update its
        summary in the same step."""
        if not records:
            return
        changes = [part for raw in records for change in _summary_changes(json.loads(raw)) for part in change]
        target = pipe if pipe is not None else self._redis
        # EVAL with the script's text, not EVALSHA: the callers' transactions cannot recover from NOSCRIPT.
        target.eval(
            _APPEND,
            2,
            keys.journal(event_id),
            keys.journal_summary(event_id),
            len(records),
            *records,
            *changes,
        )

    def query(
        self, where: JournalFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Summaries of the events matching ``where``, newest first, and the cursor of the next page (``None``
        when there is none). ``cursor`` is the last event of the previous page."""
        where = where or JournalFilter()
        limit = max(1, min(limit, self._cap))
        start = 0
        if cursor is not None:
            position = self._redis.lpos(keys.JOURNAL_INDEX, cursor)
            if not isinstance(position, int):
                return [], None  # the cursor's event was trimmed away, and everything older with it
            start = position + 1
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            event_ids = [
                text(i) for i in self._redis.lrange(keys.JOURNAL_INDEX, start, start + PAGE_SIZE - 1)
            ]
            if not event_ids:
                return found, None
            for summary in self._summaries([i for i in event_ids if i not in seen]):
                seen.add(summary["event_id"])
                if where.since is not None and _before(summary["received_at"], where.since):
                    return found, None  # the index is newest first: everything after this is older too
                if not where.matches(summary):
                    continue
                found.append(summary)
                if len(found) == limit:
                    after = start + event_ids.index(summary["event_id"]) + 1
                    more = self._redis.lrange(keys.JOURNAL_INDEX, after, after)
                    return found, (summary["event_id"] if more else None)
            # New events pushed at the head meanwhile only move old ones further down: never skipped, and the
            # ones seen twice are left out by ``seen``.
            start += len(event_ids)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest events' summaries, newest first."""
        return self.query(limit=limit)[0]

    def summary(self, event_id: str) -> dict[str, Any] | None:
        """One event's summary, or ``None`` when the journal does not hold it."""
        found = self._summaries([event_id])
        return found[0] if found else None

    def event(self, event_id: str) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self._redis.lrange(keys.journal(event_id), 0, -1)]

    def _summaries(self, event_ids: list[str]) -> list[dict[str, Any]]:
        pipe = self._redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.lindex(keys.journal(event_id), 0)
            pipe.llen(keys.journal(event_id))
            pipe.hgetall(keys.journal_summary(event_id))
        replies = pipe.execute()
        result = []
        for position, event_id in enumerate(event_ids):
            first, length, fields = replies[3 * position : 3 * position + 3]
            if first is None:
                continue  # trimmed between reading the index and now
            summary_fields = {text(k): text(v) for k, v in fields.items()}
            if not summary_fields and int(length) > 1:
                summary_fields = self._legacy_summary(event_id)
            result.append(_summarize(event_id, json.loads(first), summary_fields))
        return result

    def _legacy_summary(self, event_id: str) -> dict[str, str]:
        """The summary of an event journalled before summaries were kept, from its records."""
        fields: dict[str, str] = {}
        for data in self.event(event_id)[1:]:
            for op, name, value in _summary_changes(data):
                fields[name] = str(int(fields.get(name, "0")) + int(value)) if op == "i" else str(value)
        return fields


def _before(received_at: str | None, since: datetime) -> bool:
    if not received_at:
        return False
    try:
        return parse_time(received_at) < since
    except ValueError:
        return False


def _summarize(event_id: str, received: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """An event in brief: what it was, whose, its outcome, and one line saying what became of it."""
    planned = int(fields.get("planned", "0"))
    identity = json.loads(fields["identity"]) if "identity" in fields else None
    expected = int(fields.get("expected", "0"))
    finished = int(fields.get("finished", "0"))
    results = [fields[name] for name in sorted(fields) if name.startswith("r:")]
    # An action's line holds its latest result: one that died and then, retried, succeeded is no failure.
    if any(result.startswith(FAILED_PREFIX) for result in results):
        state = "failed"
    elif not planned:
        state = "queued"
    elif identity is None:
        state = "no identity"
    elif expected == 0:
        state = "no action"
    elif int(fields.get("parked", "0")) and finished < expected:
        state = "parked"
    else:
        state = "applied" if finished >= expected else "pending"
    if state == "queued":
        line = "waiting to be planned"
    elif state == "no identity":
        line = fields.get("note") or f"no identity for actor {received.get('actor')!r}"
    elif state == "no action":
        line = fields.get("note") or "no rule matched"
    else:
        line = "; ".join(results) or f"{expected} action(s) waiting"
    received_at = _record_time(received.get("at"))
    return {
        "event_id": event_id,
        "source": received.get("source"),
        "kind": received.get("kind"),
        "actor": received.get("actor"),
        "identity": identity,
        "outcome": state,
        "occurred_at": received.get("occurred_at"),
        "received_at": received_at,
        "updated_at": fields.get("updated_at") or received_at,
        "actions": expected,
        "summary": line,
    }


def with_iso_times(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as shown: every ``at`` ISO 8601 (older records carry unix seconds)."""
    return [{**r, "at": _record_time(r.get("at"))} if "at" in r else r for r in records]


def outcome(records: list[dict[str, Any]]) -> str:
    """A one-word summary of an event's fate, from its records."""
    fields: dict[str, str] = {}
    for data in records[1:]:
        for op, name, value in _summary_changes(data):
            fields[name] = str(int(fields.get(name, "0")) + int(value)) if op == "i" else str(value)
    return str(_summarize("", records[0] if records else {}, fields)["outcome"])
