"""Toggl Track's own webhooks (Webhooks API v1) at ``POST /hooks/toggl``: a change to a time entry or a project
becomes a ``toggl.*`` event for the identity whose Toggl user made it.

A delivery is ``{event_id, created_at, creator_id, metadata: {action, model, path, workspace_id, ...}, payload,
subscription_id, timestamp, url_callback}``, signed ``X-Webhook-Signature-256: sha256=<hex HMAC-SHA256(secret,
body)>`` with the subscription's secret. The subscriptions the bridge creates all use one secret,
``TOGGLBRIDGE_TOGGL_WEBHOOK_SECRET``.

- Validation: when a subscription is created (or pinged), Toggl posts ``payload: "ping"``, with a
  ``validation_code`` while the subscription is not validated yet. It is signed like any delivery (Toggl's own
  example of checking a signature is a ping), so it goes through ``verify`` as every delivery does; it makes no
  event, and ``answer`` echoes ``{"validation_code": ...}``, which validates the subscription.
- ``metadata.model`` ``time_entry`` and ``project`` with ``metadata.action`` ``created``, ``updated`` or
  ``deleted`` make one event each; other models (client, tag, task, workspace...) and actions make none.
- An update made through v9's stop endpoint (``PATCH .../time_entries/{id}/stop``, the ``metadata.path``) is
  ``toggl.entry_stopped``. One delivery shows the entry after the change only, so a stop made another way (a
  ``PUT`` that sets ``stop``) cannot be told from any other edit of a stopped entry: it is ``toggl.entry_updated``
  with ``data.running`` false.

Toggl sends no delivery header. Its ``event_id`` is the change's, kept across retries, so it is the event's id
(``toggl:<event_id>``): a redelivered change is queued again but plans to the same idempotency keys, and is
applied once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from togglbridge.events import Event
from togglbridge.sources.base import (
    READING_ERRORS,
    Handle,
    Headers,
    PayloadError,
    Reply,
    Source,
    Verdict,
    json_object,
    payload_problem,
)
from togglbridge.sources.kinds import KindSchema
from togglbridge.sources.signing import HmacHex

PLATFORM = "toggl_user"
SIGNATURE = HmacHex("X-Webhook-Signature-256", prefix="sha256=")
"""``X-Webhook-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``."""

PING = "ping"
MAX_VALIDATION_CODE = 200  # Toggl's codes are UUID-sized; a longer one is not echoed
INT64 = 2**63  # event data holds 64-bit integers (events.py)

ENTRY_FIELDS = (
    "entry_id",
    "workspace_id",
    "description",
    "project_id",
    "project",
    "tags",
    "billable",
    "start",
    "stop",
    "duration",
    "running",
    "created_with",
    "user_id",
    "at",
)
PROJECT_FIELDS = ("project_id", "name", "workspace_id", "active", "client_id")

KINDS: dict[str, KindSchema] = {
    **{
        f"toggl.entry_{change}": KindSchema.of(*ENTRY_FIELDS)
        for change in ("created", "updated", "stopped", "deleted")
    },
    **{
        f"toggl.project_{action}": KindSchema.of(*PROJECT_FIELDS)
        for action in ("created", "updated", "deleted")
    },
}

ACTIONS = frozenset({"created", "updated", "deleted"})
MODELS = frozenset({"time_entry", "project"})
OBJECT_FIELDS = "metadata, payload"


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret)}


def delivery_id(headers: Headers) -> str | None:
    """Toggl names no delivery in its headers; the event id (``toggl:<event_id>``) carries the dedupe."""
    return None


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """One event for a created, updated or deleted time entry or project; none for a ping or anything else.

    ``received_at`` is the change's time when the delivery gives none."""
    payload = json_object(body)
    try:
        return _events(payload, received_at)
    except READING_ERRORS as exc:
        raise PayloadError(f"not a Toggl webhook delivery: {payload_problem(exc, OBJECT_FIELDS)}") from None


def _events(delivery: dict[str, Any], received_at: datetime | None) -> list[Event]:
    entity = delivery["payload"]
    if entity == PING:
        return []
    metadata = _object(delivery["metadata"], "metadata")
    model, action = metadata.get("model"), metadata.get("action")
    if model not in MODELS or action not in ACTIONS:
        return []  # a model or action the bridge does not read (client, tag, task...)
    entity = _object(entity, "payload")
    event_id = _id(delivery["event_id"], "event_id")
    creator = _id(delivery["creator_id"], "creator_id")
    occurred_at = _occurred_at(delivery, received_at)
    if model == "project":
        project_id = _id(_first(entity.get("id"), metadata.get("project_id")), "payload.id")
        kind, subject, data = (
            f"toggl.project_{action}",
            f"toggl-project:{project_id}",
            _project(entity, project_id),
        )
    else:
        entry_id = _id(_first(entity.get("id"), metadata.get("time_entry_id")), "payload.id")
        data = _entry(entity, entry_id, metadata)
        kind, subject = f"toggl.entry_{_entry_change(action, metadata, data)}", f"toggl-entry:{entry_id}"
    return [
        Event(
            id=f"toggl:{event_id}",
            source="toggl",
            kind=kind,
            occurred_at=occurred_at,
            actor=creator,
            data=data,
            subject=subject,
            # Toggl's event id is the change's, the same in every retry: it names the delivery too
            delivery_id=event_id,
        )
    ]


def _entry_change(action: str, metadata: dict[str, Any], data: dict[str, Any]) -> str:
    """``stopped`` for an update through v9's stop endpoint that left the entry stopped; else the action."""
    if action != "updated" or data["running"]:
        return action
    path = metadata.get("path")
    stop_endpoint = isinstance(path, str) and path.split("?")[0].rstrip("/").endswith("/stop")
    return "stopped" if stop_endpoint else "updated"


def _entry(entity: dict[str, Any], entry_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The entry's fields as v9 shows them (``workspace_id``/``wid``, ``project_id``/``pid``, ``user_id``/``uid``)."""
    duration = _int(entity.get("duration"), "payload.duration")
    stop = _time(entity.get("stop"), "payload.stop")
    # v9 shows a running entry with a negative duration and no stop
    running = duration < 0 if duration is not None else stop is None
    tags = entity.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise TypeError("payload.tags must be a list of names")
    return {
        "entry_id": int(entry_id),
        "workspace_id": _int(
            _first(entity.get("workspace_id"), entity.get("wid"), metadata.get("workspace_id")),
            "payload.workspace_id",
        ),
        "description": _text(entity.get("description"), "payload.description"),
        "project_id": _int(_first(entity.get("project_id"), entity.get("pid")), "payload.project_id"),
        "project": _text(entity.get("project_name"), "payload.project_name"),
        "tags": list(tags or []),
        "billable": _bool(entity.get("billable"), "payload.billable"),
        "start": _time(entity.get("start"), "payload.start"),
        "stop": stop,
        "duration": duration,
        "running": running,
        "created_with": _text(entity.get("created_with"), "payload.created_with"),
        "user_id": _int(_first(entity.get("user_id"), entity.get("uid")), "payload.user_id"),
        "at": _time(entity.get("at"), "payload.at"),
    }


def _project(entity: dict[str, Any], project_id: str) -> dict[str, Any]:
    return {
        "project_id": int(project_id),
        "name": _text(entity.get("name"), "payload.name"),
        "workspace_id": _int(_first(entity.get("workspace_id"), entity.get("wid")), "payload.workspace_id"),
        "active": _bool(entity.get("active"), "payload.active"),
        "client_id": _int(_first(entity.get("client_id"), entity.get("cid")), "payload.client_id"),
    }


# -- reading values ----------------------------------------------------------------------------------------------


def _first(*values: Any) -> Any:
    """The first value that is not None (an id of 0 is a value)."""
    return next((value for value in values if value is not None), None)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be an object, not {type(value).__name__}")
    return value


def _id(value: Any, where: str) -> str:
    """A Toggl id (an integer; digits in text are taken too) as text."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < INT64:
        return str(value)
    raise ValueError(f"{where} must be a Toggl id (a non-negative integer), got {_shown(value)}")


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit() and len(value) <= 19:
        value = int(value)  # v9's metadata gives the workspace id as text
    if isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64:
        return value
    raise ValueError(f"{where} must be an integer, got {_shown(value)}")


def _text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where} must be text, got {_shown(value)}")


def _bool(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{where} must be true or false, got {_shown(value)}")


def _time(value: Any, where: str) -> str | None:
    """An ISO 8601 time with its offset, as UTC ISO text (rules compare and format it)."""
    if value is None:
        return None
    return _when(value, where).isoformat()


def _when(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be an ISO 8601 time, got {_shown(value)}")
    try:
        # Toggl writes nanoseconds; fromisoformat keeps microseconds (it drops the rest in 3.11+)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where} must be an ISO 8601 time, got {_shown(value)}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{where} must have a time zone, got {_shown(value)}")
    return parsed.astimezone(UTC)


def _occurred_at(delivery: dict[str, Any], received_at: datetime | None) -> datetime:
    """When Toggl recorded the change (``created_at``, else ``timestamp``); else when it reached us."""
    for field in ("created_at", "timestamp"):
        if delivery.get(field) is not None:
            return _when(delivery[field], field)
    return received_at if received_at is not None else datetime.now(UTC)


def _shown(value: Any) -> str:
    """A value as an error message may show it: short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the validation ping, explain, recognizes --------------------------------------------------------------------


def answer(headers: Headers, body: bytes, verdict: Verdict) -> Reply | None:
    """Toggl's validation ping (``payload: "ping"`` with a ``validation_code``) is answered with the code, which
    validates the subscription. Called only once the delivery's signature verified."""
    if verdict != "no events":
        return None
    delivery = json_object(body)
    code = delivery.get("validation_code")
    if delivery.get("payload") != PING or not isinstance(code, str) or not code:
        return None
    if len(code) > MAX_VALIDATION_CODE:
        return None
    return Reply(200, {"validation_code": code})


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """Toggl puts everything parse needs in the body: no headers to make up."""
    return {}


def recognizes(payload: dict[str, Any]) -> bool:
    return {"event_id", "creator_id", "metadata", "payload"} <= set(payload) and "subscription_id" in payload


SOURCE = Source(
    name="toggl",
    secret_env="TOGGL_WEBHOOK_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle(PLATFORM, "Toggl user ids, for Toggl's own webhooks."),
    answer=answer,
)
