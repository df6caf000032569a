"""Prometheus counters and histograms kept in Redis, so that every receiver and worker process, on every machine,
adds to the same numbers and any receiver's ``/metrics`` shows the totals.

(prometheus-client's own multiprocess mode keeps its numbers in files of one shared directory: one machine.)

Each metric family is a Redis hash (``keys.metric(name)``). A field names its label values (a JSON list): a
counter's field holds its count; a histogram has a field per bucket holding that bucket's own count (not the
running total: the exposition adds them up, so a bucket list changed later still reads right) and one holding
the sum of what was observed. Writers gather what they count in a ``Tally`` and put it on a pipeline they send
anyway: one command more in it (a short script), never a round trip of its own.

Gauges are not kept here: ``api/metrics.py`` reads them from the bridge's state when it is scraped.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from togglbridge.sources import REGISTRY, SOURCES
from togglbridge.store import keys, text

# The latency of one Toggl request: the simulator answers in milliseconds, Toggl in tens to hundreds of them,
# and the client gives up at TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS (20 s by default).
REQUEST_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
# From a delivery's acceptance to its action's Toggl request: well under a second when nothing waits; seconds
# behind a rate limit or a backlog; up to an hour when the hourly quota is spent; longer for bulk work held back.
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

INFINITY = "+Inf"
SUM = "sum"


class Request(Protocol):
    """What the Toggl client reports of each request it sent (``toggl.transport.RequestRecord``)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def status(self) -> int | None: ...

    @property
    def milliseconds(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: its name after ``togglbridge_`` (a counter's without ``_total``), what it means, its labels,
    and for a histogram its buckets' upper bounds (``+Inf`` implied)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def histogram(self) -> bool:
        return bool(self.buckets)

    @property
    def key(self) -> str:
        return keys.metric(self.name)


DELIVERIES = Family(
    "deliveries",
    "Requests to /hooks/<source>, by the HTTP status answered (a source not registered is 'unknown').",
    ("source", "status"),
)
EVENTS = Family(
    "events",
    "Events planned, by what planning decided (planned, no_identity, no_action, error); an event is counted "
    "once, the first time it is planned, however many deliveries carry it.",
    ("source", "kind", "outcome"),
)
ACTIONS = Family(
    "actions",
    "Actions the executor finished or put off, by its journal record: applied, skipped, dead (refused), "
    "retry, parked (the quota is spent), held (bulk work behind the reserve), healed (retried after "
    "forgetting ids).",
    ("type", "result"),
)
TOGGL_REQUESTS = Family(
    "toggl_requests",
    "Requests sent to Toggl (or the gateway, or the simulator) by the executor, by route and HTTP status "
    "('none' when no answer came).",
    ("method", "route", "status"),
)
TOGGL_REQUEST_SECONDS = Family(
    "toggl_request_duration_seconds",
    "How long each Toggl request took, by route.",
    ("method", "route"),
    REQUEST_BUCKETS,
)
DELIVERY_TO_TOGGL_SECONDS = Family(
    "delivery_to_toggl_seconds",
    "From the receiver accepting a delivery to the first Toggl request of the attempt that finished its "
    "action (applied or refused), by the action's priority.",
    ("priority",),
    DELIVERY_BUCKETS,
)

FAMILIES = (
    DELIVERIES,
    EVENTS,
    ACTIONS,
    TOGGL_REQUESTS,
    TOGGL_REQUEST_SECONDS,
    DELIVERY_TO_TOGGL_SECONDS,
)


# -- labels -----------------------------------------------------------------------------------------------------

_VERSION_PREFIX = re.compile(r"^/api/v\d+(?=/|$)")
_PATH_WORD = re.compile(r"[a-z_]+|v\d+")  # Toggl's path words: workspaces, time_entries, me, stop; v1
_ID_LIST = re.compile(r"\d+(,\d+)+")


def route_template(path: str) -> str:
    """A request's path with its ids taken out, so that a route is one label value however many entries there
    are: ``/api/v9/workspaces/7/time_entries/42`` is ``/workspaces/{id}/time_entries/{id}``; a bulk change's
    list of ids is ``{ids}``. Any segment that is not one of Toggl's path words counts as an id, so no value
    (a name, a token in a path) ever becomes a label."""
    path = _VERSION_PREFIX.sub("", path.split("?", 1)[0])
    segments = [
        segment if _PATH_WORD.fullmatch(segment) else "{ids}" if _ID_LIST.fullmatch(segment) else "{id}"
        for segment in path.split("/")
        if segment
    ]
    return "/" + "/".join(segments)


def source_label(source: str) -> str:
    """A registered source's name; anything else anyone can put in a URL is ``unknown`` (one label value)."""
    return source if source in SOURCES else "unknown"


def kind_label(kind: str) -> str:
    """A kind a source declares; a kind a generic webhook's sender made up is ``other``: a signed sender must not
    be able to add series without end."""
    return kind if kind in REGISTRY.kind_schemas else "other"


def event_outcome(identity: str | None, actions: int, errors: int) -> str:
    """What planning decided for an event, as the ``outcome`` label. A rule that failed wins over actions the
    others planned: it is the thing to look at."""
    if identity is None:
        return "no_identity"
    if errors:
        return "error"
    return "planned" if actions else "no_action"


def bucket_for(value: float, bounds: Sequence[float]) -> str:
    """The label of the bucket ``value`` falls in: the smallest upper bound at least ``value``, else ``+Inf``."""
    index = bisect.bisect_left(bounds, value)
    return bound_text(bounds[index]) if index < len(bounds) else INFINITY


def bound_text(bound: float) -> str:
    """A bucket's upper bound as the exposition's ``le`` label writes it."""
    return INFINITY if math.isinf(bound) else repr(float(bound))


def field(labels: Iterable[str]) -> str:
    """A hash field naming label values (any text, in order)."""
    return _field(tuple(str(label) for label in labels))


@functools.lru_cache(maxsize=4096)
def _field(labels: tuple[str, ...]) -> str:
    # Label sets repeat (a source and a status, a stage and a type): each is written once, then remembered.
    return json.dumps(list(labels), separators=(",", ":"), ensure_ascii=False)


def parse_field(raw: str) -> list[str] | None:
    """The label values a field names; None for a field this version cannot read."""
    try:
        values = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return None
    return values


# -- writing ----------------------------------------------------------------------------------------------------

# KEYS: the families' hashes. ARGV: (index of the hash in KEYS, field, amount) triples.
_ADD = """
for i = 1, #ARGV, 3 do
  redis.call('HINCRBYFLOAT', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
end
return 0
"""


class Tally:
    """Increments gathered by a process before they go to Redis on a pipeline it sends anyway."""

    def __init__(self) -> None:
        self._amounts: dict[tuple[str, str], float] = {}

    def __bool__(self) -> bool:
        return bool(self._amounts)

    def count(self, family: Family, *labels: str, amount: float = 1.0) -> None:
        self._add(family.key, field(labels), amount)

    def observe(self, family: Family, value: float, *labels: str) -> None:
        """One observation of a histogram."""
        self._add(family.key, field([*labels, bucket_for(value, family.buckets)]), 1.0)
        self._add(family.key, field([*labels, SUM]), value)

    def requests(self, records: Iterable[Request]) -> None:
        """Toggl requests, by route and status, and how long each took."""
        for record in records:
            route = route_template(record.path)
            status = str(record.status) if record.status is not None else "none"
            self.count(TOGGL_REQUESTS, record.method, route, status)
            self.observe(TOGGL_REQUEST_SECONDS, record.milliseconds / 1000, record.method, route)

    def merge(self, other: Tally) -> None:
        for (key, name), amount in other._amounts.items():
            self._add(key, name, amount)

    def clear(self) -> None:
        self._amounts.clear()

    def write(self, pipe: Any) -> None:
        """Queue the increments on ``pipe`` (sync or async, in a transaction or not): one command, or none."""
        if not self._amounts:
            return
        hashes: dict[str, int] = {}
        args: list[Any] = []
        for (key, name), amount in self._amounts.items():
            index = hashes.setdefault(key, len(hashes) + 1)
            args += [index, name, repr(amount)]
        # EVAL with the script's text, not EVALSHA: a transaction cannot recover from NOSCRIPT.
        pipe.eval(_ADD, len(hashes), *hashes, *args)

    def _add(self, key: str, name: str, amount: float) -> None:
        self._amounts[(key, name)] = self._amounts.get((key, name), 0.0) + amount


# Counted in the plan stage's transaction, after the journal's append for the same events: an event counts the
# first time it is planned, which its journal summary's `planned` counter (bumped by that append) tells. An event
# the journal no longer holds (a backlog longer than the journal) counts when its message's safety copy is still
# there, i.e. on this message's first planning; a Celery redelivery finds the copy gone.
# KEYS[1] the events hash, KEYS[2] the unplanned messages hash, then each event's journal summary.
# ARGV[1] the message id ('' for none), then per summary: how often this message carries the event, its field.
_COUNT_PLANNED = """
local first_planning = ARGV[1] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1
for i = 3, #KEYS do
  local planned = redis.call('HGET', KEYS[i], 'planned')
  if planned == ARGV[2 * i - 4] or (not planned and first_planning) then
    redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2 * i - 3], 1)
  end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    event_id: str
    source: str
    kind: str
    outcome: str


def count_planned(pipe: Any, message_id: str | None, events: Sequence[PlannedEvent]) -> None:
    """Queue on the plan stage's transaction, after its journal appends and before the message's safety copy
    is forgotten: count each event the first time it is planned (see ``_COUNT_PLANNED``)."""
    times: dict[str, int] = {}
    first: dict[str, PlannedEvent] = {}
    for event in events:
        times[event.event_id] = times.get(event.event_id, 0) + 1
        first.setdefault(event.event_id, event)
    if not first:
        return
    summaries = [keys.journal_summary(event_id) for event_id in first]
    args: list[Any] = [message_id or ""]
    for event_id, event in first.items():
        args += [times[event_id], field([event.source, event.kind, event.outcome])]
    pipe.eval(_COUNT_PLANNED, 2 + len(summaries), EVENTS.key, keys.UNPLANNED_MESSAGES, *summaries, *args)


# -- reading ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Histogram:
    """One label set's histogram: (upper bound, observations at most that) pairs ending with +Inf, and the sum."""

    buckets: list[tuple[float, float]]
    sum: float

    @property
    def count(self) -> float:
        return self.buckets[-1][1]


@dataclass(frozen=True, slots=True)
class Readings:
    """What the counters and histograms hold, by family name and label values."""

    counters: dict[str, dict[tuple[str, ...], float]]
    histograms: dict[str, dict[tuple[str, ...], Histogram]]


def read(client: Any) -> Readings:
    """Every family's values, in one round trip (synchronous client)."""
    pipe = client.pipeline(transaction=False)
    for family in FAMILIES:
        pipe.hgetall(family.key)
    replies = pipe.execute()
    counters: dict[str, dict[tuple[str, ...], float]] = {}
    histograms: dict[str, dict[tuple[str, ...], Histogram]] = {}
    for family, reply in zip(FAMILIES, replies, strict=True):
        values = {text(name): float(text(value)) for name, value in reply.items()}
        if family.histogram:
            histograms[family.name] = histograms_of(family, values)
        else:
            counters[family.name] = counters_of(family, values)
    return Readings(counters, histograms)


def counters_of(family: Family, values: dict[str, float]) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for name, value in values.items():
        labels = parse_field(name)
        if labels is not None and len(labels) == len(family.labels):
            found[tuple(labels)] = value
    return dict(sorted(found.items()))


def histograms_of(family: Family, values: dict[str, float]) -> dict[tuple[str, ...], Histogram]:
    """Each label set's buckets made cumulative, over the family's bounds and any others stored (from an
    earlier bucket list)."""
    per_bucket: dict[tuple[str, ...], dict[float, float]] = {}
    sums: dict[tuple[str, ...], float] = {}
    for name, value in values.items():
        parts = parse_field(name)
        if parts is None or len(parts) != len(family.labels) + 1:
            continue
        labels, last = tuple(parts[:-1]), parts[-1]
        if last == SUM:
            sums[labels] = value
            continue
        try:
            bound = math.inf if last == INFINITY else float(last)
        except ValueError:
            continue
        per_bucket.setdefault(labels, {})[bound] = value
    found: dict[tuple[str, ...], Histogram] = {}
    for labels in sorted(per_bucket.keys() | sums.keys()):
        counts = per_bucket.get(labels, {})
        running = 0.0
        buckets = []
        for bound in sorted({*family.buckets, *counts, math.inf}):
            running += counts.get(bound, 0.0)
            buckets.append((bound, running))
        found[labels] = Histogram(buckets, sums.get(labels, 0.0))
    return found
