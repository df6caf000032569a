"""``uvicorn --factory togglbridge.api.factory:create_from_env``: the receiver built from the environment,
for running it in several uvicorn worker processes."""

from __future__ import annotations

from typing import Any

from togglbridge.api.app import create_app
from togglbridge.settings import load_settings


def create_from_env() -> Any:
    from workers.app import QUEUE_INGEST, app, configure

    settings = load_settings()
    if not settings.redis_url:
        raise RuntimeError("TOGGLBRIDGE_REDIS_URL must be set")
    configure(app, settings.redis_url)
    return create_app(
        settings,
        redis_url=settings.redis_url,
        celery_app=app,
        ingest_task="togglbridge.plan_events",
        ingest_queue=QUEUE_INGEST,
    )
