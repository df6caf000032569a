"""Mattermost slash commands (``/toggl start Write report @Acme``) at ``POST /hooks/mattermost``.

Mattermost posts a form (``application/x-www-form-urlencoded``): ``channel_id``, ``channel_name``, ``command``,
``response_url``, ``team_domain``, ``team_id``, ``text``, ``token``, ``trigger_id``, ``user_id``, ``user_name``. The
command's token comes both as the ``token`` field and as ``Authorization: Token <token>``; either is accepted,
compared in constant time with ``TOGGLBRIDGE_MATTERMOST_TOKEN``. A JSON body with the same fields is read too (a
proxy or a test may send one, and ``togglbridge explain`` reads saved payloads as JSON).

The immediate answer is ephemeral (only the person who typed sees it) and says what will happen; the follow-up
goes to ``response_url`` once a worker knows what did. The response URL, the trigger id and the token are never in
the event: the URL is a secret of the moment (``store/replies.py``), the others are of no use to a rule.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from togglbridge.events import Event
from togglbridge.sources import chat
from togglbridge.sources.base import (
    Handle,
    Headers,
    PayloadError,
    Reply,
    ReplyChannel,
    SignatureError,
    Source,
    Verdict,
    json_object,
    lower_keys,
)
from togglbridge.sources.signing import tokens_match

PLATFORM = "mattermost"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
PASSED_ON = ("channel_id", "channel_name", "command", "team_domain", "team_id", "user_id", "user_name")
"""The request's fields an event carries; never ``response_url``, ``trigger_id`` or ``token``."""
AUTHORIZATION_SCHEME = "token "


def _is_json(headers: Headers) -> bool:
    return lower_keys(headers).get("content-type", "").split(";")[0].strip().lower() == JSON


def fields(headers: Headers, body: bytes) -> dict[str, Any]:
    """The request's fields: the form's (the first value of each), or the JSON object's."""
    if _is_json(headers):
        return json_object(body)
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    try:
        form = parse_qs(decoded, keep_blank_values=True, max_num_fields=100)
    except ValueError as exc:  # more fields than any Mattermost request has
        raise PayloadError(f"body is not a usable form: {exc}") from None
    return {name: values[0] for name, values in form.items()}


def _given_token(headers: Headers, body: bytes) -> str | None:
    authorization = lower_keys(headers).get("authorization", "")
    if authorization[: len(AUTHORIZATION_SCHEME)].lower() == AUTHORIZATION_SCHEME:
        return authorization[len(AUTHORIZATION_SCHEME) :].strip()
    try:
        token = fields(headers, body).get("token")
    except PayloadError:
        return None  # an unreadable body carries no token: refused as unsigned, before it is read again
    return token if isinstance(token, str) and token else None


def verify(headers: Headers, body: bytes, secret: str, now: datetime | None = None) -> None:
    """``Authorization: Token <token>``, else the form's ``token``, must be the command's token."""
    given = _given_token(headers, body)
    if given is None:
        raise SignatureError("missing the command's token (Authorization: Token … or the token field)")
    if not tokens_match(given, secret):
        raise SignatureError("the token is not this command's token")


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """What Mattermost adds: the token in ``Authorization`` (the form's ``token`` field is in the body already)."""
    return {**headers, "Authorization": f"Token {secret}"}


def delivery_id(headers: Headers) -> str | None:
    """Mattermost sends no delivery header; the event's id (the trigger id) is what keeps a command once."""
    return None


def _text_field(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"field {name!r} must be text, not {type(value).__name__}")
    return value


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """One ``chat.command`` event for a command to carry out; none for ``help`` or text that is not a command
    (the immediate answer says what to type)."""
    payload = fields(headers, body)
    text = _text_field(payload, "text") or ""
    reading = chat.read(text)
    if reading.command is None:
        return []
    user_id = _text_field(payload, "user_id")
    if not user_id:
        raise PayloadError("missing field 'user_id'")
    passed_on = {name: value for name in PASSED_ON if (value := _text_field(payload, name)) is not None}
    trigger = _text_field(payload, "trigger_id")
    # The trigger id opens dialogs for a while: the id holds its hash, stable on a redelivery, never the id.
    key = hashlib.sha256(trigger.encode("utf-8", "surrogatepass") if trigger else body).hexdigest()[:32]
    return [
        chat.command_event(
            platform=PLATFORM,
            event_id=f"{PLATFORM}:{key}",
            actor=user_id,
            text=text,
            command=reading.command,
            fields=passed_on,
            received_at=received_at,
        )
    ]


def _ephemeral(text: str) -> Reply:
    return Reply(200, {"response_type": "ephemeral", "text": text})


def answer(headers: Headers, body: bytes, verdict: Verdict) -> Reply:
    """Only to the person who typed it: what will happen, the help, or the usage of what they mistyped."""
    if verdict == "duplicate":
        return _ephemeral("That command was received already.")
    text = fields(headers, body).get("text")
    return _ephemeral(chat.read(text if isinstance(text, str) else "").answer)


def reply_channel(headers: Headers, body: bytes) -> ReplyChannel | None:
    url = fields(headers, body).get("response_url")
    return (
        ReplyChannel(PLATFORM, url=url)
        if isinstance(url, str) and url.startswith(("https://", "http://"))
        else None
    )


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """A saved request is read as JSON."""
    return {"Content-Type": JSON}


def recognizes(payload: dict[str, Any]) -> bool:
    """A slash command's fields, with Mattermost's ``team_domain`` and no Slack-only ``api_app_id``."""
    return {"command", "text", "user_id", "team_domain", "trigger_id"} <= set(payload) and (
        "api_app_id" not in payload
    )


def form_body(values: dict[str, str]) -> bytes:
    """A request's body as Mattermost encodes it (for tests and example senders)."""
    return urlencode(values).encode()


SOURCE = Source(
    name=PLATFORM,
    secret_env="MATTERMOST_TOKEN",  # noqa: S106 (the name of a variable, not a secret)
    verify=verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    content_types=(FORM, JSON),
    kinds=chat.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle(PLATFORM, "Mattermost user ids (the slash command's user_id).", chat=True),
    answer=answer,
    reply_channel=reply_channel,
)
