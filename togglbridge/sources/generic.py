"""Any JSON event, signed per the Standard Webhooks spec (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC>``, a ``whsec_`` secret, 5 minutes' tolerance).

Body: ``{"kind": "...", "actor": "...", "occurred_at": "...", "data": {...}, "subject": "..."}``;
``webhook-id`` is the event's id, so a redelivery is the same event.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from togglbridge.events import Event
from togglbridge.sources.base import Headers, PayloadError, Source, json_object, lower_keys
from togglbridge.sources.kinds import OPEN_DATA
from togglbridge.sources.signing import StandardWebhooks

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
REQUIRED = ("kind", "actor", "occurred_at")
ALLOWED = {*REQUIRED, "data", "subject"}


SIGNATURE = StandardWebhooks()


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """Signed for the ``webhook-id`` in ``headers`` (the signature covers it)."""
    msg_id = lower_keys(headers)["webhook-id"]
    return {**headers, **SIGNATURE.sign(body, secret, msg_id, now)}


def delivery_id(headers: Headers) -> str | None:
    return lower_keys(headers).get("webhook-id")


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """One event, as the body says; ``occurred_at`` is required, so ``received_at`` is not needed."""
    payload = json_object(body)
    missing = [field for field in REQUIRED if field not in payload]
    if missing:
        raise PayloadError(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = sorted(set(payload) - ALLOWED)
    if unknown:
        raise PayloadError(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    kind = payload["kind"]
    if not isinstance(kind, str) or not KIND_PATTERN.fullmatch(kind):
        raise PayloadError("kind must be dotted lower-case words, like 'build.finished'")
    data: Any = payload.get("data", {})
    if not isinstance(data, dict):
        raise PayloadError("data must be a JSON object")
    event_id = delivery_id(headers)
    if not event_id:
        raise PayloadError("missing webhook-id header")
    try:
        return [
            Event(
                id=f"generic:{event_id}",
                source="generic",
                kind=kind,
                occurred_at=payload["occurred_at"],
                actor=payload["actor"],
                data=data,
                subject=payload.get("subject"),
                delivery_id=event_id,
            )
        ]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise PayloadError(problems) from None


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """The event's id comes from ``webhook-id``: made up from the payload, so the same file has the same id."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {"webhook-id": f"msg_explain_{digest[:24]}"}


def recognizes(payload: dict[str, Any]) -> bool:
    """The body's fields, and not an Event's own id and source (an Event file is explained as it is)."""
    return set(REQUIRED) <= set(payload) <= ALLOWED


def standard_webhooks_secret_problem(secret: str) -> str | None:
    return None if secret.startswith("whsec_") else "expected a Standard Webhooks secret starting with whsec_"


SOURCE = Source(
    name="generic",
    secret_env="WEBHOOK_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    # the senders choose the kind and the data; webhook.received is the kind for those with nothing better to say
    kinds={"webhook.received": OPEN_DATA},
    other_kinds=OPEN_DATA,
    explain_headers=explain_headers,
    recognizes=recognizes,
    check_secret=standard_webhooks_secret_problem,
)
