"""`Simulator`: the ASGI app that answers like Toggl Track API v9, directly or through the Maton gateway.

Paths: `/toggl-track/api/v9/...` (gateway: `Authorization: Bearer <key>`, optional `Maton-Connection`) and
`/api/v9/...` (direct: HTTP basic `<token>:api_token`). Admin routes for tests live under `/_sim/` (see admin.py).
The Webhooks API v1 answers under `/webhooks/api/v1/...` and `/toggl-track/webhooks/api/v1/...` through the same
pipeline (see webhooks.py); changes made through the API are sent to its subscribers (see delivery.py).

Each API request goes through these steps, in this order, and the first that answers wins:

1. latency: sleep `latency_ms` (+ jitter) before anything else, as a slow network would;
2. routing: an unknown route is 404, a known path with another method 405 (no credential needed for either);
3. auth: a missing or garbled credential is 403; a new credential becomes a new user with its workspace;
4. rate limit: the caller's leaky bucket overflows -> 429 with Retry-After. A 429 does not count against the quota;
5. injected 429: with probability `throttle_rate`, 429 with `Retry-After: 1`, uncharged and with no state change;
6. quota: the hourly quota (and for /me, /me/workspaces the /me quota) is used up -> 402 with
   X-Toggl-Quota-Remaining: 0 and X-Toggl-Quota-Resets-In. Otherwise the request is charged, and every later
   answer to it (including injected errors) carries both headers;
7. injected error: with probability `error_rate`, 500/502/503 and no state change;
8. the handler, under the simulator's lock.

A caller that hangs up before its body has arrived changes nothing and is not counted.

All time comes from `SimClock`, so tests move the clock instead of sleeping.

With a `state_file`, the simulator starts from the state saved there (if the file exists) and saves its whole state
after every request that may have changed it (any method but GET, or a first-seen credential); deleting the file
(or `reset()`) starts it afresh. Knobs, clock, counters and limit windows are not saved.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from togglbridge.toggl.sim import admin
from togglbridge.toggl.sim.delivery import Dispatcher
from togglbridge.toggl.sim.errors import SimError
from togglbridge.toggl.sim.handlers import ROUTES
from togglbridge.toggl.sim.identity import (
    DIRECT_PREFIX,
    GATEWAY_PREFIX,
    Credential,
    PathShape,
    credential_for,
    direct_credential,
    gateway_credential,
)
from togglbridge.toggl.sim.knobs import SimClock, SimKnobs
from togglbridge.toggl.sim.limits import HourlyQuotas, LeakyBuckets
from togglbridge.toggl.sim.models import User
from togglbridge.toggl.sim.persistence import load_state, save_state
from togglbridge.toggl.sim.routing import Reply, RequestContext, Route, Router
from togglbridge.toggl.sim.state import SimState
from togglbridge.toggl.sim.stats import UNMATCHED, SimStats
from togglbridge.toggl.sim.webhooks import WEBHOOK_ROUTES

AUTH_FAILED = "Incorrect username and/or password"
CLIENT_GONE = 499  # nginx's "client closed request": never seen by anyone, only returned to uvicorn
THROTTLE_RETRY_AFTER = "1"  # seconds an injected 429 asks the caller to wait
INJECTED = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
WEBHOOKS_DIRECT_PREFIX = "/webhooks/api/v1"
WEBHOOKS_GATEWAY_PREFIX = "/toggl-track/webhooks/api/v1"


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Toggl's error shape: a JSON-quoted string, not an object."""
    return Response(json_body(message), status, headers, media_type="application/json")


def text_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Infrastructure errors (429 from the bucket, injected 5xx) come as plain text, as proxies send them."""
    return Response(message, status, headers, media_type="text/plain")


class Simulator:
    """A Toggl v9 (and Maton gateway) simulator. `app` is the ASGI app; the rest is there to inspect and steer it."""

    def __init__(
        self, knobs: SimKnobs | None = None, clock: SimClock | None = None, state_file: Path | None = None
    ) -> None:
        """`state_file`: where the state is kept across restarts (see the module's doc); None keeps it in memory.

        Raises `StateFileError` when the file exists but cannot be read as a simulator's state.
        """
        self.knobs = knobs if knobs is not None else SimKnobs()
        self.clock = clock if clock is not None else SimClock()
        self.state_file = state_file
        self.state = load_state(state_file) if state_file is not None and state_file.exists() else SimState()
        self.stats = SimStats()
        self.lock = threading.RLock()
        """Held around every request's state work; take it to read or change `state` while a server runs."""
        self._buckets = LeakyBuckets()
        self._quotas = HourlyQuotas()
        self._me_quotas = HourlyQuotas()
        self._router = Router(ROUTES)
        self._webhook_router = Router(WEBHOOK_ROUTES)
        self.webhooks = Dispatcher(
            self.lock,
            state=lambda: self.state,
            knobs=lambda: self.knobs,
            now=self.clock.time,
            changed=self._save,
        )
        """Sends webhook deliveries; tests wait for them with `sim.webhooks.wait_idle(timeout)`."""
        self._seed = self.knobs.seed
        self._error_rng = random.Random(self._seed)
        self._jitter_rng = random.Random(self._seed)
        # Its own stream, so that turning throttling on or off does not change which requests get a 5xx.
        self._throttle_rng = random.Random(_throttle_seed(self._seed))
        self.app = Starlette(routes=[StarletteRoute("/{path:path}", self._endpoint, methods=_METHODS)])

    # -- steering -------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all users, entries, catalog, counters and limit windows. Knobs and clock stay as they are."""
        with self.lock:
            self.webhooks.close()
            self.state.clear()
            self.stats.reset()
            self._buckets.clear()
            self._quotas.clear()
            self._me_quotas.clear()
            self._reseed(self.knobs.seed)
            self._save()

    def user_for(
        self, *, token: str | None = None, api_key: str | None = None, connection: str | None = None
    ) -> User:
        """The simulated user of a direct `token`, or of a gateway `api_key` (+ `connection`); created if new."""
        if token is not None:
            credential = direct_credential(_basic(token))
        elif api_key is not None:
            credential = gateway_credential(f"Bearer {api_key}", connection)
        else:
            raise ValueError("pass token= (direct) or api_key= (gateway)")
        if credential is None:
            raise ValueError("that credential would be refused (empty or containing spaces)")
        with self.lock:
            known = len(self.state.users)
            user = self.state.user_for(credential, self.clock.time())
            if len(self.state.users) != known:
                self._save()
            return user

    def join_workspace(self, user: User, workspace_id: int, *, default: bool = True) -> None:
        """Make ``user`` a member of another user's workspace (a team sharing one), by default their default one:
        then ``GET /me`` names it, and the user's entries and the team's projects may live in it."""
        with self.lock:
            ws = self.state.workspaces.get(workspace_id)
            if ws is None:
                raise ValueError(f"no workspace {workspace_id}")
            self.state.join(self.state.users[user.id], ws, default=default)
            self._save()

    def save(self) -> None:
        """Write the state to `state_file` now (requests that change it do this themselves)."""
        with self.lock:
            self._save()

    def _save(self) -> None:
        if self.state_file is not None:
            save_state(self.state, self.state_file)

    def _reseed(self, seed: int) -> None:
        self._seed = seed
        self._error_rng.seed(seed)
        self._jitter_rng.seed(seed)
        self._throttle_rng.seed(_throttle_seed(seed))

    # -- the pipeline ---------------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        path: str = request.scope["path"]
        if path.startswith("/_sim"):
            return await admin.handle(self, request)
        await self._delay()
        router, v9 = self._router, True
        if path.startswith(GATEWAY_PREFIX):
            shape, rest = PathShape.GATEWAY, path[len(GATEWAY_PREFIX) :]
        elif path.startswith(DIRECT_PREFIX):
            shape, rest = PathShape.DIRECT, path[len(DIRECT_PREFIX) :]
        elif path.startswith(WEBHOOKS_GATEWAY_PREFIX):
            shape, rest = PathShape.GATEWAY, path[len(WEBHOOKS_GATEWAY_PREFIX) :]
            router, v9 = self._webhook_router, False
        elif path.startswith(WEBHOOKS_DIRECT_PREFIX):
            shape, rest = PathShape.DIRECT, path[len(WEBHOOKS_DIRECT_PREFIX) :]
            router, v9 = self._webhook_router, False
        else:
            return self._unmatched()
        if rest and not rest.startswith("/"):
            return self._unmatched()
        matched = router.match(request.method, rest)
        if matched is None:
            allowed = router.allowed_methods(rest)
            if allowed:
                self.stats.record(UNMATCHED, None, 405)
                return text_response(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})
            return self._unmatched()
        route, params = matched
        headers = request.headers
        credential = credential_for(shape, headers.get("authorization"), headers.get("maton-connection"))
        if credential is None:
            self.stats.record(route.label, None, 403)
            return error_response(403, AUTH_FAILED)
        try:
            body = await request.body()
        except ClientDisconnect:
            # The caller hung up before its body arrived (a worker killed mid-request): no one to answer, and
            # nothing was asked of us. Not counted: the stats count answered requests.
            return Response(status_code=CLIENT_GONE)
        with self.lock:
            known = len(self.state.users)
            # Events name the path Toggl itself saw: the gateway forwards to /api/v9.
            toggl_path = (DIRECT_PREFIX if v9 else WEBHOOKS_DIRECT_PREFIX) + rest
            response, user_id = self._answer(route, params, credential, request, body, toggl_path)
            if request.method != "GET" or len(self.state.users) != known:
                self._save()
        self.stats.record(route.label, user_id, response.status_code)
        return response

    def _answer(
        self,
        route: Route,
        params: dict[str, Any],
        credential: Credential,
        request: Request,
        body: bytes,
        toggl_path: str,
    ) -> tuple[Response, int]:
        """Steps 3-8 under the lock; returns the response and the caller's user id (for the counters)."""
        knobs = self.knobs
        if knobs.seed != self._seed:
            self._reseed(knobs.seed)
        t = self.clock.time()
        now = int(t)
        user = self.state.user_for(credential, t)
        if knobs.rate_limit is not None:
            wait = self._buckets.take(user.id, t, knobs.rate_limit, knobs.bucket_capacity)
            if wait:
                return text_response(429, "Too Many Requests", {"Retry-After": str(wait)}), user.id
        if knobs.throttle_rate > 0 and self._throttle_rng.random() < knobs.throttle_rate:
            return text_response(429, "Too Many Requests", {"Retry-After": THROTTLE_RETRY_AFTER}), user.id
        quota_headers, refusal = self._charge_quota(user.id, route, t)
        if refusal is not None:
            return refusal, user.id
        if knobs.error_rate > 0 and self._error_rng.random() < knobs.error_rate:
            status = self._error_rng.choice(tuple(INJECTED))
            return text_response(status, INJECTED[status], quota_headers), user.id
        ctx = RequestContext(
            state=self.state,
            knobs=knobs,
            user=user,
            params=params,
            query=request.query_params,
            body=body,
            now=now,
            hooks=self.webhooks,
            method=request.method,
            path=toggl_path,
        )
        try:
            reply = route.handler(ctx)
        except SimError as exc:
            return error_response(exc.status, exc.message, quota_headers), user.id
        return _reply_response(reply, quota_headers), user.id

    def _charge_quota(
        self, user_id: int, route: Route, t: float
    ) -> tuple[dict[str, str] | None, Response | None]:
        """Check then charge the hourly quota(s): (headers for the answer, None) or (None, the 402)."""
        knobs = self.knobs
        checks: list[tuple[HourlyQuotas, int]] = []
        if knobs.quota_per_hour is not None:
            checks.append((self._quotas, knobs.quota_per_hour))
        if route.me_quota and knobs.me_quota_per_hour is not None:
            checks.append((self._me_quotas, knobs.me_quota_per_hour))
        if not checks:
            return None, None
        for quotas, limit in checks:
            verdict = quotas.peek(user_id, t, limit)
            if not verdict.allowed:
                headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": str(verdict.resets_in)}
                message = f"Hourly API quota reached; it resets in {verdict.resets_in} seconds"
                return None, error_response(402, message, headers)
        tightest = min((q.charge(user_id, t, limit) for q, limit in checks), key=lambda v: v.remaining)
        return {
            "X-Toggl-Quota-Remaining": str(tightest.remaining),
            "X-Toggl-Quota-Resets-In": str(tightest.resets_in),
        }, None

    async def _delay(self) -> None:
        knobs = self.knobs
        delay_ms = knobs.latency_ms
        if knobs.latency_jitter_ms > 0:
            delay_ms += self._jitter_rng.uniform(0.0, knobs.latency_jitter_ms)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)

    def _unmatched(self) -> Response:
        self.stats.record(UNMATCHED, None, 404)
        return error_response(404, "Not Found")


def _reply_response(reply: Reply, headers: dict[str, str] | None) -> Response:
    if reply.empty:
        return Response(b"", reply.status, headers)
    return Response(json_body(reply.payload), reply.status, headers, media_type="application/json")


def _throttle_seed(seed: int) -> str:
    """The injected 429s' seed, derived from the run's seed (a str seed is hashed, so it is stable)."""
    return f"throttle:{seed}"


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"{token}:api_token".encode()).decode()
