"""The Celery app: named queues, late acks, JSON messages, and a beat that runs once per deployment.

``celery -A workers.app ...`` finds the app here (flower in docker-compose does); ``togglbridge worker`` and
``togglbridge beat`` configure it with the Redis the settings name (or the embedded one) before starting it.
"""

from __future__ import annotations

import gc
import os

import kombu.pools
from celery import Celery, signals
from kombu.entity import Exchange, Queue

from togglbridge.queues import ALL_QUEUES, QUEUE_INGEST, QUEUE_MAINTENANCE, QUEUE_TOGGL, TASK_QUEUES

__all__ = ["ALL_QUEUES", "QUEUE_INGEST", "QUEUE_MAINTENANCE", "QUEUE_TOGGL", "app", "configure"]

# Waits longer than this never become Celery countdowns (Redis would redeliver them after the visibility
# timeout); they go into a sorted set that a beat tick drains.
VISIBILITY_TIMEOUT_SECONDS = int(os.environ.get("TOGGLBRIDGE_VISIBILITY_TIMEOUT", "3600"))

app = Celery("togglbridge", include=["workers.tasks"])


@signals.worker_init.connect
def _freeze_what_is_loaded(**_: object) -> None:
    """Keep the objects loaded at start (modules, schemas, the app) out of every later garbage collection, in
    this process and in the pool processes it forks: a full collection otherwise walks them all (about 70 ms
    in the middle of some task), and walking them in a forked child writes to pages it shares with its parent."""
    gc.freeze()


def _forget_connections(celery: Celery, redis_url: str) -> None:
    """Drop the connection pools made for an earlier broker URL (Celery builds them once and keeps them, so
    they would outlive a new ``broker_url``); a no-op before first use or when the URL is the same (the pools
    are kombu's, shared by URL: closing them under a caller of the same URL breaks its next publish). Celery
    has no public call for this."""
    pool = celery.__dict__.get("_pool")
    if pool is None or celery.conf.broker_url == redis_url:
        return
    # kombu keeps one pool per connection in process-wide registries: reset them, so that no producer pool
    # keeps pointing at a closed connection pool when this URL is configured again later.
    kombu.pools.reset()
    celery._pool = None
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def configure(celery: Celery, redis_url: str) -> Celery:
    """Point ``celery`` at ``redis_url`` with settings suited to slow, rate-limited, idempotent work."""
    _forget_connections(celery, redis_url)
    celery.conf.update(
        broker_url=redis_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # At-least-once: ack after the task ran, and give a task back when its worker process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per process: tasks wait on Toggl's rate limits, so prefetching would only
        # park work behind a slow identity while another worker sits idle.
        worker_prefetch_multiplier=1,
        # Each queue its own direct exchange and key: with defaults, kombu would bind all three to one key and
        # a message would be copied into every queue.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ALL_QUEUES],
        task_default_queue=QUEUE_INGEST,
        task_routes={task: {"queue": queue} for task, queue in TASK_QUEUES.items()},
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=redis_url,
        redbeat_key_prefix="togglbridge:redbeat",
        # The beat lock expires if a beat dies, so a standby takes over within this many seconds.
        redbeat_lock_timeout=30,
        beat_max_loop_interval=5,
        worker_hijack_root_logger=False,
        # No task events unless someone listens: each is a PUBLISH (about three round trips per event, and a
        # third of a worker's CPU, most of it kombu building a client per publish). Flower turns them on in the
        # workers while it runs (its enable_events option, on by default), and `celery control enable_events`
        # does it by hand.
        worker_send_task_events=False,
        task_send_sent_event=False,
        enable_utc=True,
        timezone="UTC",
    )
    return celery


if os.environ.get("TOGGLBRIDGE_REDIS_URL"):
    configure(app, os.environ["TOGGLBRIDGE_REDIS_URL"])
