"""``POST /hooks/{source}``: verify, parse, and durably enqueue, answering only once the events are in Redis.

Answers: 202 accepted; 200 for a redelivery (nothing enqueued) or a delivery without events (a ping); 401 bad
signature; 400 malformed body; 404 unknown or disabled source; 413 too large; 415 wrong content type; 503 when
Redis cannot take the events (the sender should retry; nothing was marked as seen).

Every request, whatever its answer, leaves a record in the deliveries log (``store/deliveries.py``), written in
the background so that the answer does not wait on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import redis.exceptions
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from togglbridge.api.body import BodyTooLarge, read_limited
from togglbridge.settings import Settings
from togglbridge.sources import SOURCES, SourceError
from togglbridge.sources.base import Source, Verdict
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import replies
from togglbridge.store.deliveries import DeliveryRecorder, delivery_record
from togglbridge.store.enqueue import EventQueue

log = logging.getLogger(__name__)

router = APIRouter(tags=["receivers"])


class Answer:
    """What we answer a delivery, and what its record in the deliveries log says."""

    def __init__(self, status: int, content: object, reason: str, events: list[str] | None = None):
        self.response = JSONResponse(content, status_code=status)
        self.reason = reason
        self.events = events or []


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message}, message)


def _delivery_id(spec: Source | None, headers: Mapping[str, str]) -> str | None:
    """The sender's delivery id, when the headers carry a usable one (a hostile header never breaks a record)."""
    if spec is None:
        return None
    try:
        found = spec.delivery_id(headers)
    except Exception:  # whatever a source's parser raises, the record goes without the id
        return None
    return found if isinstance(found, str) else None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


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
async def receive(source: str, request: Request) -> JSONResponse:
    """Receive one delivery from a source (github, generic, ...)."""
    spec = SOURCES.get(source)
    answer = await _answer(source, spec, request)
    recorder: DeliveryRecorder = request.app.state.deliveries
    delivery_id = _delivery_id(spec, request.headers)
    recorder.add(
        delivery_record(source, delivery_id, answer.response.status_code, answer.reason, answer.events)
    )
    return answer.response


async def _answer(source: str, spec: Source | None, request: Request) -> Answer:
    settings: Settings = request.app.state.settings
    if spec is None:
        return _error(404, f"unknown source {source!r}; known sources: {', '.join(sorted(SOURCES))}")
    secrets: SourceSecrets = request.app.state.secrets
    secret = secrets.get(source)
    if secret is None:
        return _error(404, f"source {source!r} is not enabled: set {spec.variable} to enable it")
    if _media_type(request) not in spec.content_types:
        return _error(415, f"content type must be {' or '.join(spec.content_types)}")
    try:
        body = await read_limited(request, settings.max_body_bytes)
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    headers = dict(request.headers)
    try:
        received_at = datetime.now(UTC)
        spec.verify(headers, body, secret.get_secret_value(), received_at)
        events = spec.parse(headers, body, received_at)
    except SourceError as exc:
        return _error(exc.status, str(exc))
    queue: EventQueue = request.app.state.event_queue
    event_ids = [e.id for e in events]
    if events:  # before the events are queued: a fast worker's follow-up must find where to go
        await _keep_reply_channel(request, spec, headers, body, event_ids)
    try:
        accepted = await queue.accept(source, spec.delivery_id(headers), events)
    except redis.exceptions.RedisError as exc:
        log.error("could not enqueue a %s delivery: %s", source, type(exc).__name__)
        return _error(503, "the queue is unavailable; retry later")
    if accepted.duplicate:
        answer = Answer(200, {"status": "duplicate", "accepted": 0}, "duplicate")
    elif not events:
        answer = Answer(200, {"status": "no events", "accepted": 0}, "no events")
    else:
        answer = Answer(
            202,
            {"status": "accepted", "accepted": accepted.events, "events": event_ids},
            f"accepted {accepted.events} event{'' if accepted.events == 1 else 's'}",
            event_ids,
        )
    verdict: Verdict = "duplicate" if accepted.duplicate else "accepted" if events else "no events"
    return _shaped(spec, headers, body, verdict, answer)


async def _keep_reply_channel(
    request: Request, spec: Source, headers: Mapping[str, str], body: bytes, event_ids: list[str]
) -> None:
    """Keep where the follow-up goes, for the worker; a failure costs the follow-up, never the accepted events."""
    try:
        channel = spec.reply_channel(headers, body)
        if channel is not None:
            await replies.keep(request.app.state.redis, event_ids, channel)
    except Exception as exc:  # the events are queued: the sender must not retry for a follow-up's sake
        log.warning("could not keep the %s follow-up address: %s", spec.name, type(exc).__name__)


def _shaped(spec: Source, headers: Mapping[str, str], body: bytes, verdict: Verdict, usual: Answer) -> Answer:
    """The source's own reply when it asks for one (a handshake, a chat answer); else the usual one."""
    try:
        reply = spec.answer(headers, body, verdict)
        if reply is None:
            return usual
        return Answer(reply.status, reply.body, usual.reason, usual.events)
    except Exception:  # the events are queued: a failing answer (or one JSON cannot carry) must not be a 500
        log.exception("the %s source's answer failed; sending the usual reply", spec.name)
        return usual
