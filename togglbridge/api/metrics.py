"""``GET /metrics``: Prometheus' exposition of the whole bridge, for operators only.

Counters and histograms are read from Redis, where every receiver and worker process adds to them
(``store/metrics.py``); gauges are computed at each scrape from the bridge's state in Redis, with the same reads as
``togglbridge status`` (``togglbridge.status``). So every receiver answers for all of them: scrape any one. A
scrape reads Redis and nothing else; it never talks to Toggl.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import redis
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from togglbridge import status
from togglbridge.api.access import require_operator
from togglbridge.store import metrics
from togglbridge.store.journal import parse_time
from togglbridge.store.outbox import Outbox

PREFIX = "togglbridge_"

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_operator)])


class BridgeCollector(Collector):
    """Everything ``/metrics`` shows, read from Redis at each scrape."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def collect(self) -> Iterator[Metric]:
        yield from self._kept()
        yield from self._gauges(time.time())

    def _kept(self) -> Iterator[Metric]:
        """The counters and histograms every process adds to."""
        readings = metrics.read(self._redis)
        for family in metrics.FAMILIES:
            name = PREFIX + family.name
            if family.histogram:
                histogram = HistogramMetricFamily(name, family.documentation, labels=family.labels)
                for labels, values in readings.histograms[family.name].items():
                    buckets = [(metrics.bound_text(bound), count) for bound, count in values.buckets]
                    histogram.add_metric(list(labels), buckets, values.sum)
                yield histogram
            else:
                counter = CounterMetricFamily(name, family.documentation, labels=family.labels)
                for labels, value in readings.counters[family.name].items():
                    counter.add_metric(list(labels), value)
                yield counter

    def _gauges(self, now: float) -> Iterator[Metric]:
        """The bridge's state as it is now."""
        client = self._redis
        queues = GaugeMetricFamily(
            PREFIX + "queue_messages", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        for queue, depth in status.queue_depths(client).items():
            queues.add_metric([queue], depth)
        yield queues

        outboxes = Outbox(client).depths()
        waiting = GaugeMetricFamily(
            PREFIX + "outbox_actions",
            "Planned actions waiting to be applied, per identity (both lanes).",
            labels=["identity"],
        )
        for identity, depth in outboxes.items():
            waiting.add_metric([identity], depth)
        yield waiting

        parked = [entry for entry in status.parked(client, now) if entry["until"] > now]
        yield GaugeMetricFamily(
            PREFIX + "parked_identities",
            "Identities whose work waits for a time (the quota's reset, a backoff, a pacing window).",
            value=len(parked),
        )
        yield GaugeMetricFamily(
            PREFIX + "dead_letters",
            "Actions Toggl refused, kept until retried (togglbridge retry-dead).",
            value=status.dead_letter_count(client),
        )

        remaining = GaugeMetricFamily(
            PREFIX + "toggl_quota_remaining",
            "Requests left in the identity's hourly Toggl quota, as Toggl last said (absent once the reset "
            "has passed, until the next request says again).",
            labels=["identity"],
        )
        resets = GaugeMetricFamily(
            PREFIX + "toggl_quota_reset_seconds",
            "Seconds until the identity's hourly Toggl quota resets.",
            labels=["identity"],
        )
        for identity, quota in status.quotas(client, list(outboxes), now).items():
            resets_in = quota["resets_in_seconds"]
            if resets_in is not None and resets_in <= 0:
                continue  # the count has been refilled since Toggl said it
            remaining.add_metric([identity], quota["remaining"])
            if resets_in is not None:
                resets.add_metric([identity], resets_in)
        yield remaining
        yield resets

        failures = GaugeMetricFamily(
            PREFIX + "calendar_feed_failures",
            "Consecutive failed polls of each calendar feed (0: its last poll succeeded).",
            labels=["calendar"],
        )
        success = GaugeMetricFamily(
            PREFIX + "calendar_feed_last_success_timestamp_seconds",
            "When each calendar feed was last read successfully (unix time).",
            labels=["calendar"],
        )
        for calendar, health in status.calendars(client).items():
            failures.add_metric([calendar], health["failures"])
            if (at := _timestamp(health["last_success"])) is not None:
                success.add_metric([calendar], at)
        yield failures
        yield success

        beat = GaugeMetricFamily(
            PREFIX + "beat_last_tick_timestamp_seconds",
            "When the beat last ticked (unix time): triggers fire and parked work resumes on its ticks.",
            labels=[],
        )
        tick = status.last_tick(client, now)
        if tick is not None and (at := _timestamp(tick["at"])) is not None:
            beat.add_metric([], at)
        yield beat


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        at = parse_time(value).timestamp()
    except ValueError:
        return None
    return at if math.isfinite(at) else None


def _registry(app: FastAPI) -> CollectorRegistry:
    """The app's own registry (never the process-wide default, which another app in the process would share),
    made at the first scrape, once the lifespan has opened Redis."""
    registry: CollectorRegistry | None = getattr(app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(BridgeCollector(app.state.sync_redis))
        app.state.metrics_registry = registry
    return registry


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        401: {"description": "No token, or not the token"},
        404: {"description": "Off: TOGGLBRIDGE_DASHBOARD_TOKEN is not set"},
        503: {"description": "Redis is unavailable"},
    },
)
async def scrape(request: Request) -> Response:
    """The bridge's counters, histograms and gauges in Prometheus' text format."""
    await request.app.state.deliveries.flush()  # what this receiver answered so far is counted
    registry = _registry(request.app)
    try:
        body = await run_in_threadpool(generate_latest, registry)
    except redis.RedisError as exc:
        return PlainTextResponse(f"redis is unavailable: {type(exc).__name__}\n", status_code=503)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
