"""The receiver's FastAPI application: hooks, health, and the journal and status for people and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio
from celery import Celery
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

from togglbridge import __version__
from togglbridge.api.hooks import router as hooks_router
from togglbridge.settings import Settings
from togglbridge.status import collect_status
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.journal import Journal


def create_app(
    settings: Settings, *, redis_url: str, celery_app: Celery, ingest_task: str, ingest_queue: str
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = redis.asyncio.Redis.from_url(redis_url)
        app.state.sync_redis = redis.Redis.from_url(redis_url)
        app.state.event_queue = EventQueue(
            app.state.redis,
            celery_app,
            task=ingest_task,
            queue=ingest_queue,
            journal_cap=settings.journal_max_events,
        )
        yield
        await app.state.redis.aclose()
        app.state.sync_redis.close()

    app = FastAPI(title="togglbridge", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.include_router(hooks_router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process lives."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Redis answers, so deliveries can be accepted."""
        try:
            await app.state.redis.ping()
        except redis.RedisError as exc:
            return JSONResponse({"status": "unavailable", "redis": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/api/journal", tags=["journal"])
    def journal(limit: int = Query(50, ge=1, le=1000)) -> dict[str, Any]:
        """The most recent events, newest first, each with what happened to it."""
        events = Journal(app.state.sync_redis, cap=settings.journal_max_events).recent(limit)
        return {"events": events}

    @app.get("/api/status", tags=["journal"])
    def status() -> dict[str, Any]:
        """Queue depths, parked work, dead letters and each identity's remaining quota."""
        return collect_status(app.state.sync_redis)

    return app
