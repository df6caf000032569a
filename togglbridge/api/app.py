"""The receiver's FastAPI application: hooks, health, and the journal and status for people and tools."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio
from celery import Celery
from fastapi import Depends, FastAPI, Query
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from togglbridge import __version__
from togglbridge.api.access import OPERATOR_RESPONSES, OperatorAccess, require_operator
from togglbridge.api.hooks import hook_source, serve_hook
from togglbridge.api.hooks import router as hooks_router
from togglbridge.api.journal import router as journal_router
from togglbridge.api.metrics import router as metrics_router
from togglbridge.api.ui import mount_dashboard
from togglbridge.settings import Settings
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.status import collect_status, ping_workers
from togglbridge.store import deliveries
from togglbridge.store.deliveries import DeliveryRecorder
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.packing import pack_with_hiredis

PING_REUSE_SECONDS = 10.0


class Receiver(FastAPI):
    """The FastAPI app, with the hooks served first as plain ASGI (``api/hooks.py``): a delivery skips the
    middleware stack, the router, dependency solving and the response classes, which cost as much as the
    delivery's own work. Every other request goes through FastAPI as usual."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = hook_source(scope)
        if source is None:
            await super().__call__(scope, receive, send)
        else:
            await serve_hook(self.state, source, scope, receive, send)


def create_app(
    settings: Settings,
    *,
    secrets: SourceSecrets,
    redis_url: str,
    celery_app: Celery,
    ingest_task: str,
    ingest_queue: str,
) -> FastAPI:
    """The receiver; ``secrets`` holds the enabled sources' secrets (the others answer 404 naming their
    variable)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = pack_with_hiredis(redis.asyncio.Redis.from_url(redis_url))
        app.state.sync_redis = redis.Redis.from_url(redis_url)
        app.state.event_queue = EventQueue(
            app.state.redis,
            celery_app,
            task=ingest_task,
            queue=ingest_queue,
            journal_cap=settings.journal_max_events,
        )
        app.state.deliveries = DeliveryRecorder(app.state.redis)
        yield
        await app.state.deliveries.flush()
        await app.state.redis.aclose()
        app.state.sync_redis.close()

    app = Receiver(title="togglbridge", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.secrets = secrets
    app.state.access = OperatorAccess(settings.dashboard_token)
    operators_only = [Depends(require_operator)]
    app.include_router(hooks_router)
    app.include_router(journal_router, dependencies=operators_only, responses=OPERATOR_RESPONSES)
    app.include_router(metrics_router)
    app.state.celery_app = celery_app
    mount_dashboard(app, settings)

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

    @app.get(
        "/api/deliveries",
        tags=["journal"],
        dependencies=operators_only,
        responses={400: {"description": "A status filter it cannot use"}, **OPERATOR_RESPONSES},
    )
    async def recent_deliveries(
        limit: int = Query(50, ge=1, le=deliveries.DELIVERIES_KEPT),
        status: str | None = Query(None, description="An HTTP status (401) or a class (4xx)."),
        source: str | None = Query(None, description="Only this source's deliveries."),
    ) -> JSONResponse:
        """Every request to a source endpoint, newest first: time, source, delivery id, status, reason, events."""
        try:
            deliveries.parse_status_filter(status)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        await app.state.deliveries.flush()  # what this process answered before is in the list
        kept = await app.state.redis.lrange(deliveries.DELIVERIES_KEY, 0, -1)
        return JSONResponse(
            {"deliveries": deliveries.matching(kept, limit=limit, status=status, source=source)}
        )

    @app.get("/api/status", tags=["journal"], dependencies=operators_only, responses=OPERATOR_RESPONSES)
    def status(
        workers: bool = Query(False, description="Also ping the Celery workers (waits about 1.5 s)."),
    ) -> dict[str, Any]:
        """Queue depths, parked work, dead letters, each identity's remaining quota, the deliveries of the last
        hour, the beat's last tick, the simulator's URL, and, when asked, which workers answer a ping."""
        return collect_status(app.state.sync_redis, workers=recent_ping() if workers else None)

    last_ping: list[tuple[float, dict[str, Any]]] = []

    def recent_ping() -> dict[str, Any]:
        """A ping waits its whole timeout, so a dashboard polling the status shares one every few seconds."""
        if not last_ping or time.monotonic() - last_ping[0][0] > PING_REUSE_SECONDS:
            last_ping[:] = [(time.monotonic(), ping_workers(celery_app))]
        return last_ping[0][1]

    app.state.recent_ping = recent_ping
    return app
