"""The receiver, built in one place: for `togglbridge up` and `togglbridge api`, for tests and benchmarks, and
for ``uvicorn --factory togglbridge.api.factory:create_from_env`` (several uvicorn worker processes)."""

from __future__ import annotations

from fastapi import FastAPI

from togglbridge.api.app import create_app
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.settings import NoRedisURL, Settings, load_settings
from togglbridge.sources import SOURCES
from togglbridge.sources.secrets import SourceSecrets


def build_receiver(settings: Settings, redis_url: str, secrets: SourceSecrets | None = None) -> FastAPI:
    """The receiver app writing plan tasks to the workers' Celery app on ``redis_url``; the sources' secrets
    from the environment unless given."""
    from workers.app import app, configure

    configure(app, redis_url)
    return create_app(
        settings,
        secrets=secrets if secrets is not None else SourceSecrets.load(SOURCES.values()),
        redis_url=redis_url,
        celery_app=app,
        ingest_task=TASK_PLAN,
        ingest_queue=QUEUE_INGEST,
    )


def create_from_env() -> FastAPI:
    settings = load_settings()
    if not settings.redis_url:
        raise NoRedisURL("TOGGLBRIDGE_REDIS_URL must name the Redis the workers read")
    return build_receiver(settings, settings.redis_url)
