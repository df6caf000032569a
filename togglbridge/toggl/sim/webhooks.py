"""Toggl's Webhooks API v1: subscriptions per workspace, their validation ping, and the event filters.

Served under `/webhooks/api/v1` (direct, basic auth like v9) and `/toggl-track/webhooks/api/v1` (the gateway, which
proxies the same host), with the v9 API's auth, limits and knobs. Templates here are relative to that root.

    GET    /event_filters                           the entities and actions a filter may name
    GET    /subscriptions/{wid}                     the workspace's subscriptions
    POST   /subscriptions/{wid}                     create; the ping with the validation code is queued
    GET    /subscriptions/{wid}/{sid}               one subscription
    PUT    /subscriptions/{wid}/{sid}               replace (a new url_callback must be validated again)
    PATCH  /subscriptions/{wid}/{sid}               {"enabled": bool} only
    DELETE /subscriptions/{wid}/{sid}               delete; queued deliveries are dropped
    POST   /subscriptions/{wid}/{sid}/ping          send the ping again (also POST /ping/{wid}/{sid}, the old docs' form)
    GET    /validate/{wid}/{sid}/{code}             asynchronous validation: the code from a ping

Deliveries themselves are queued by the v9 handlers (`RequestContext.emit`) and sent by `delivery.Dispatcher`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from togglbridge.toggl.sim.errors import Invalid, NotFound
from togglbridge.toggl.sim.models import Subscription, Workspace, render_subscription
from togglbridge.toggl.sim.routing import Reply, RequestContext, Route

ENTITIES = (
    "client",
    "project",
    "project_group",
    "project_user",
    "tag",
    "task",
    "time_entry",
    "workspace_user",
)
"""What Toggl lets a filter name; the simulator sends events for time entries and projects only."""
ACTIONS = ("created", "updated", "deleted")
WILDCARD = "*"
SUBSCRIPTION_NOT_FOUND = "Subscription not found"
MAX_DESCRIPTION = 255


def _ws(ctx: RequestContext) -> Workspace:
    return ctx.state.workspace_for(ctx.user, ctx.params["wid"])


def _subscription(ctx: RequestContext) -> Subscription:
    ws = _ws(ctx)
    sub = ctx.state.subscriptions.get(ctx.params["sid"])
    if sub is None or sub.workspace_id != ws.id:
        raise NotFound(SUBSCRIPTION_NOT_FOUND)
    return sub


def _render(ctx: RequestContext, sub: Subscription) -> dict[str, Any]:
    pending = ctx.hooks.pending(sub.id) if ctx.hooks is not None else False
    return render_subscription(sub, pending=pending)


def _ping(ctx: RequestContext, sub: Subscription) -> None:
    if ctx.hooks is not None:
        ctx.hooks.ping(sub, ctx.user.id)


# -- validation -------------------------------------------------------------------------------------------


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("url_callback is required")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url_callback must be a valid http or https URL")
    return value


def _filters(value: object) -> list[dict[str, str]]:
    if value is None:
        raise Invalid("event_filters is required")
    if not isinstance(value, list) or not value:
        raise Invalid("event_filters must be a non-empty list")
    filters: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"entity", "action"}:
            raise Invalid('each event filter must be an object with exactly "entity" and "action"')
        entity, action = item["entity"], item["action"]
        if entity != WILDCARD and entity not in ENTITIES:
            raise Invalid(f"event filter entity {entity!r} is not supported")
        if action != WILDCARD and action not in ACTIONS:
            raise Invalid(f"event filter action {action!r} is not supported")
        if {"entity": entity, "action": action} not in filters:
            filters.append({"entity": entity, "action": action})
    return filters


def _description(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("description is required")
    if len(value) > MAX_DESCRIPTION:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION} characters")
    return value


def _enabled(value: object, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid("enabled must be a boolean")
    return value


def _secret(value: object, current: str | None) -> str:
    """The given secret; when omitted, the current one (update) or a generated one (create), as Toggl does."""
    if value is None or value == "":
        return current if current is not None else secrets.token_urlsafe(24)
    if not isinstance(value, str):
        raise Invalid("secret must be a string")
    return value


def _check_fields(body: Mapping[str, Any]) -> None:
    unknown = set(body) - {"url_callback", "event_filters", "secret", "enabled", "description"}
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")


# -- handlers ---------------------------------------------------------------------------------------------


def get_event_filters(ctx: RequestContext) -> Reply:
    return Reply({entity: [*ACTIONS, WILDCARD] for entity in ENTITIES})


def list_subscriptions(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    return Reply([_render(ctx, s) for s in ctx.state.subscriptions_of(ws.id)])


def create_subscription(ctx: RequestContext) -> Reply:
    ws = _ws(ctx)
    body = ctx.json_object()
    _check_fields(body)
    sub = Subscription(
        id=0,
        workspace_id=ws.id,
        user_id=ctx.user.id,
        url_callback=_url(body.get("url_callback")),
        event_filters=_filters(body.get("event_filters")),
        secret=_secret(body.get("secret"), None),
        description=_description(body.get("description")),
        enabled=_enabled(body.get("enabled"), True),
        validation_code=secrets.token_hex(16),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    sub.id = ctx.state.new_subscription_id()
    ctx.state.subscriptions[sub.id] = sub
    _ping(ctx, sub)
    return Reply(_render(ctx, sub))


def get_subscription(ctx: RequestContext) -> Reply:
    return Reply(_render(ctx, _subscription(ctx)))


def update_subscription(ctx: RequestContext) -> Reply:
    sub = _subscription(ctx)
    body = ctx.json_object()
    _check_fields(body)
    url = _url(body.get("url_callback"))
    filters = _filters(body.get("event_filters"))
    description = _description(body.get("description"))
    enabled = _enabled(body.get("enabled"), sub.enabled)
    secret = _secret(body.get("secret"), sub.secret)
    revalidate = url != sub.url_callback
    sub.url_callback, sub.event_filters, sub.description = url, filters, description
    sub.enabled, sub.secret, sub.updated_at = enabled, secret, ctx.now
    if revalidate:
        # Validation proves access to one URL; a new one has to prove it again.
        sub.validated_at = None
        sub.validation_code = secrets.token_hex(16)
        _ping(ctx, sub)
    return Reply(_render(ctx, sub))


def patch_subscription(ctx: RequestContext) -> Reply:
    sub = _subscription(ctx)
    body = ctx.json_object()
    if set(body) != {"enabled"} or not isinstance(body["enabled"], bool):
        raise Invalid('send {"enabled": true} or {"enabled": false}')
    sub.enabled = body["enabled"]
    sub.updated_at = ctx.now
    return Reply(_render(ctx, sub))


def delete_subscription(ctx: RequestContext) -> Reply:
    sub = _subscription(ctx)
    del ctx.state.subscriptions[sub.id]
    if ctx.hooks is not None:
        ctx.hooks.forget(sub.id)
    return Reply(render_subscription(sub))


def ping_subscription(ctx: RequestContext) -> Reply:
    sub = _subscription(ctx)
    _ping(ctx, sub)
    return Reply({"status": "ok"})


def validate_subscription(ctx: RequestContext) -> Reply:
    sub = _subscription(ctx)
    if sub.validated_at is None:
        if not secrets.compare_digest(ctx.params["code"], sub.validation_code):
            raise Invalid("Invalid validation code")
        sub.validated_at = ctx.now
    return Reply("OK")


_S = "/subscriptions/{wid}"

WEBHOOK_ROUTES: tuple[Route, ...] = (
    Route("GET", "/event_filters", get_event_filters),
    Route("GET", _S, list_subscriptions),
    Route("POST", _S, create_subscription),
    Route("GET", f"{_S}/{{sid}}", get_subscription),
    Route("PUT", f"{_S}/{{sid}}", update_subscription),
    Route("PATCH", f"{_S}/{{sid}}", patch_subscription),
    Route("DELETE", f"{_S}/{{sid}}", delete_subscription),
    Route("POST", f"{_S}/{{sid}}/ping", ping_subscription),
    Route("POST", "/ping/{wid}/{sid}", ping_subscription),
    Route("GET", "/validate/{wid}/{sid}/{code}", validate_subscription),
)
