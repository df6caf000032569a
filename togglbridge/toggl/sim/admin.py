"""Admin routes under `/_sim/`, for tests and benchmarks that drive a simulator in another process.

No auth, not counted in the stats, not subject to knobs:

    GET   /_sim/stats            counters (total, by_route, by_credential, by_status)
    POST  /_sim/stats/reset      zero the counters
    GET   /_sim/state            every user, workspace, entry (deleted too), project, client and tag; webhook
                                 subscriptions (no secrets) and the deliveries queued or sent, with their status
    POST  /_sim/reset            forget all state, counters and limit windows (knobs and clock stay)
    GET   /_sim/knobs            current knobs
    PATCH /_sim/knobs            set knobs from a JSON object, e.g. {"autostop": false}; 400 on unknown/bad ones
    GET   /_sim/clock            {"now": RFC 3339, "time": unix seconds}
    POST  /_sim/clock/advance    {"seconds": n} moves the sim clock forward
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from togglbridge.toggl.sim.simulator import Simulator


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status, media_type="application/json")


def _clock(sim: Simulator) -> dict[str, Any]:
    return {"now": sim.clock.now().isoformat(), "time": sim.clock.time()}


async def handle(sim: Simulator, request: Request) -> Response:
    """Answer one admin request."""
    key = (request.method, request.scope["path"].rstrip("/"))
    body = await request.body()
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return _json("JSON is not valid", 400)
    if key == ("GET", "/_sim/stats"):
        return _json(sim.stats.as_dict())
    if key == ("POST", "/_sim/stats/reset"):
        sim.stats.reset()
        return _json(sim.stats.as_dict())
    if key == ("GET", "/_sim/state"):
        with sim.lock:
            dump = sim.state.dump(
                running_minus_one=sim.knobs.running_duration_minus_one, admin=sim.knobs.admin
            )
        return _json({**dump, "webhook_deliveries": sim.webhooks.deliveries(), "clock": _clock(sim)})
    if key == ("POST", "/_sim/reset"):
        sim.reset()
        return _json({"ok": True})
    if key == ("GET", "/_sim/knobs"):
        return _json(sim.knobs.as_dict())
    if key == ("PATCH", "/_sim/knobs"):
        if not isinstance(data, dict):
            return _json("send a JSON object of knob values", 400)
        try:
            with sim.lock:
                sim.knobs.update(data)
        except ValueError as exc:
            return _json(str(exc), 400)
        return _json(sim.knobs.as_dict())
    if key == ("GET", "/_sim/clock"):
        return _json(_clock(sim))
    if key == ("POST", "/_sim/clock/advance"):
        seconds = data.get("seconds") if isinstance(data, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return _json('send {"seconds": <number>}', 400)
        sim.clock.advance(seconds)
        return _json(_clock(sim))
    return _json("Not Found", 404)
