"""``POST /hooks/{source}``: verify, parse, and durably enqueue, answering only once the events are in Redis.

Answers: 202 accepted; 200 for a redelivery (nothing enqueued) or a delivery without events (a ping); 401 bad
signature; 400 malformed body; 404 unknown or disabled source; 413 too large; 415 wrong content type; 503 when
Redis cannot take the events (the sender should retry; nothing was marked as seen).

Every request, whatever its answer, leaves a record in the deliveries log (``store/deliveries.py``): written by
the accept script itself when the delivery gets that far, else in the background so that the answer does not
wait on it.

The hooks are the receiver's hot path, so they are served as plain ASGI (``serve_hook``, which the app calls
before FastAPI's middleware, routing, dependency solving and response classes; see ``api/app.py``). The FastAPI
route below documents them in the OpenAPI schema and answers the same way through the same ``answer_delivery``
if it is ever reached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.exceptions
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from togglbridge.api.body import BodyTooLarge, ClientGone, read_limited, receive_limited
from togglbridge.settings import Settings
from togglbridge.sources import SOURCES, SourceError
from togglbridge.sources.base import Source, Verdict
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import replies
from togglbridge.store.deliveries import DeliveryRecorder, ScriptedRecord, delivery_record
from togglbridge.store.enqueue import EventQueue
from togglbridge.store.journal import iso

log = logging.getLogger(__name__)

PREFIX = "/hooks/"

router = APIRouter(tags=["receivers"])


def _json(content: object) -> bytes:
    """Our own answers: orjson; text it cannot write (a lone surrogate in an echoed value) goes escaped."""
    try:
        return orjson.dumps(content)
    except TypeError:
        return json.dumps(content, separators=(",", ":")).encode()


class Answer:
    """What we answer a delivery (status and JSON body), and what its record in the deliveries log says."""

    __slots__ = ("body", "events", "reason", "recorded", "status")

    def __init__(self, status: int, body: bytes, reason: str, events: list[str] | None = None):
        self.status = status
        self.body = body
        self.reason = reason
        self.events = events or []
        self.recorded = False  # the accept script wrote its record already


def _error(status: int, message: str) -> Answer:
    return Answer(status, _json({"error": message}), message)


def _delivery_id(spec: Source | None, headers: Mapping[str, str]) -> str | None:
    """The sender's delivery id, when the headers carry a usable one (a hostile header never breaks a record)."""
    if spec is None:
        return None
    try:
        found = spec.delivery_id(headers)
    except Exception:  # whatever a source's parser raises, the record goes without the id
        return None
    return found if isinstance(found, str) else None


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def hook_source(scope: Scope) -> str | None:
    """The source a ``POST /hooks/<source>`` names (one path segment, as the route's ``{source}``); else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(PREFIX):
        return None
    source = path[len(PREFIX) :]
    return source if source and "/" not in source else None


_PLAIN_500 = b"Internal Server Error"


async def serve_hook(state: State, source: str, scope: Scope, receive: Receive, send: Send) -> None:
    """One delivery, as plain ASGI: what the FastAPI route does, without a Request, a Response or the routing."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:  # names come lower-cased; the first of a repeated header counts
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    spec = SOURCES.get(source)
    settings: Settings = state.settings

    async def read_body() -> bytes:
        return await receive_limited(receive, headers.get("content-length"), settings.max_body_bytes)

    try:
        answer = await answer_delivery(state, source, spec, headers, read_body)
    except ClientGone:
        return
    except Exception:  # what starlette's error middleware would do: log it, answer a plain 500
        log.exception("the %s hook failed", source[:100])
        answer = Answer(500, _PLAIN_500, "internal error")
    _record(state, source, spec, headers, answer)
    content_type = b"text/plain; charset=utf-8" if answer.body is _PLAIN_500 else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(b"content-type", content_type), (b"content-length", b"%d" % len(answer.body))],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


def _record(
    state: State, source: str, spec: Source | None, headers: Mapping[str, str], answer: Answer
) -> None:
    if answer.recorded:
        return
    recorder: DeliveryRecorder = state.deliveries
    recorder.add(
        delivery_record(source, _delivery_id(spec, headers), answer.status, answer.reason, answer.events)
    )


@router.post(
    "/hooks/{source}",
    responses={
        200: {"description": "A redelivery, or a delivery that carries no events (a ping)"},
        202: {"description": "Accepted: the events are durably queued"},
        400: {"description": "Malformed body"},
        401: {"description": "Missing or wrong signature, or a stale timestamp"},
        404: {"description": "Unknown source, or one whose secret is not set"},
        413: {"description": "Body too large"},
        415: {"description": "Wrong content type"},
        503: {"description": "Redis is unavailable; retry later"},
    },
)
async def receive(source: str, request: Request) -> Response:
    """Receive one delivery from a source (github, generic, ...)."""
    spec = SOURCES.get(source)
    headers = dict(request.headers)
    state: State = request.app.state
    settings: Settings = state.settings

    async def read_body() -> bytes:
        return await read_limited(request, settings.max_body_bytes)

    answer = await answer_delivery(state, source, spec, headers, read_body)
    _record(state, source, spec, headers, answer)
    return Response(answer.body, status_code=answer.status, media_type="application/json")


async def answer_delivery(
    state: State,
    source: str,
    spec: Source | None,
    headers: dict[str, str],
    read_body: Callable[[], Awaitable[bytes]],
) -> Answer:
    """Everything between a delivery's headers and its answer: ``headers`` with lower-case names."""
    if spec is None:
        return _error(404, f"unknown source {source!r}; known sources: {', '.join(sorted(SOURCES))}")
    secrets: SourceSecrets = state.secrets
    secret = secrets.get(source)
    if secret is None:
        return _error(404, f"source {source!r} is not enabled: set {spec.variable} to enable it")
    if _media_type(headers) not in spec.content_types:
        return _error(415, f"content type must be {' or '.join(spec.content_types)}")
    try:
        body = await read_body()
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    try:
        received_at = datetime.now(UTC)
        spec.verify(headers, body, secret.get_secret_value(), received_at)
        events = spec.parse(headers, body, received_at)
    except SourceError as exc:
        return _error(exc.status, str(exc))
    queue: EventQueue = state.event_queue
    event_ids = [e.id for e in events]
    if events:  # before the events are queued: a fast worker's follow-up must find where to go
        await _keep_reply_channel(state, spec, headers, body, event_ids)
    # Both possible answers are known before the script runs, so that it records the one it gives (in the same
    # round trip as the events, instead of a write of the deliveries log's own).
    if events:
        fresh = Answer(
            202,
            _json({"status": "accepted", "accepted": len(events), "events": event_ids}),
            f"accepted {len(events)} event{'' if len(events) == 1 else 's'}",
            event_ids,
        )
    else:
        fresh = Answer(200, _NO_EVENTS, "no events")
    fresh = _shaped(spec, headers, body, "accepted" if events else "no events", fresh)
    duplicate = _shaped(spec, headers, body, "duplicate", Answer(200, _DUPLICATE, "duplicate"))
    delivery = spec.delivery_id(headers)
    at = iso(received_at)
    logged = ScriptedRecord.of(
        delivery_record(source, _checked_id(delivery), fresh.status, fresh.reason, fresh.events, at),
        delivery_record(source, _checked_id(delivery), duplicate.status, duplicate.reason, at=at),
    )
    try:
        accepted = await queue.accept(source, delivery, events, logged)
    except redis.exceptions.RedisError as exc:
        log.error("could not enqueue a %s delivery: %s", source, type(exc).__name__)
        return _error(503, "the queue is unavailable; retry later")
    answer = duplicate if accepted.duplicate else fresh
    answer.recorded = True
    return answer


def _checked_id(found: object) -> str | None:
    """The delivery id for the record only when it is text (a record never breaks on an odd header)."""
    return found if isinstance(found, str) else None


_DUPLICATE = _json({"status": "duplicate", "accepted": 0})
_NO_EVENTS = _json({"status": "no events", "accepted": 0})


async def _keep_reply_channel(
    state: State, spec: Source, headers: Mapping[str, str], body: bytes, event_ids: list[str]
) -> None:
    """Keep where the follow-up goes, for the worker; a failure costs the follow-up, never the accepted events."""
    try:
        channel = spec.reply_channel(headers, body)
        if channel is not None:
            await replies.keep(state.redis, event_ids, channel)
    except Exception as exc:  # the events are queued: the sender must not retry for a follow-up's sake
        log.warning("could not keep the %s follow-up address: %s", spec.name, type(exc).__name__)


def _reply_json(content: Any) -> bytes:
    """A source's own reply, written as starlette's JSONResponse would (refusing NaN and broken text)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _shaped(spec: Source, headers: Mapping[str, str], body: bytes, verdict: Verdict, usual: Answer) -> Answer:
    """The source's own reply when it asks for one (a handshake, a chat answer); else the usual one."""
    try:
        reply = spec.answer(headers, body, verdict)
        if reply is None:
            return usual
        return Answer(reply.status, _reply_json(reply.body), usual.reason, usual.events)
    except Exception:  # the events are queued: a failing answer (or one JSON cannot carry) must not be a 500
        log.exception("the %s source's answer failed; sending the usual reply", spec.name)
        return usual
