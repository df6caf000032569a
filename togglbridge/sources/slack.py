"""Slack: the ``/toggl`` slash command and the Stop and Resume buttons of its replies, at ``POST /hooks/slack``.

Slack posts a form (``application/x-www-form-urlencoded``) signed with the app's signing secret:
``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>`` beside ``X-Slack-Request-Timestamp``,
refused more than five minutes from now. Three kinds of request come to the one Request URL:

- ``ssl_check=1``: Slack checking the certificate; no events, an empty 200.
- a slash command (``command``, ``text``, ``user_id``, ``response_url``, ``trigger_id`` …): the text read with
  ``chat_text``'s grammar into one ``chat.command`` event, whose actor is the Slack user id (the rule file's
  ``slack: [U…]`` lists). ``help`` and text that is not a command make no event: their immediate answer is the help.
- an interaction (``payload=<JSON>``, type ``block_actions``): a click on the Stop (``toggl_stop``) or Resume
  (``toggl_resume``) button becomes the ``chat.command`` it stands for.

Slack waits three seconds for the immediate answer (``answer``), which says what will happen, privately; a worker
then posts what did happen to the request's ``response_url`` (``reply_channel``). The response URL and the trigger
id are secrets of the moment: neither is put in an event, an error message or a log line (the event id holds a
hash of the trigger id, which makes a replayed request the same event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from togglbridge.chat_text import ChatCommand, Verb, describe
from togglbridge.events import Event
from togglbridge.sources import chat
from togglbridge.sources.base import (
    Handle,
    Headers,
    PayloadError,
    Reply,
    ReplyChannel,
    Source,
    Verdict,
    json_object,
    lower_keys,
)
from togglbridge.sources.signing import TimestampedHmac

FORM = "application/x-www-form-urlencoded"
STOP_ACTION = "toggl_stop"
RESUME_ACTION = "toggl_resume"
BUTTON_VERBS: dict[str, Verb] = {STOP_ACTION: "stop", RESUME_ACTION: "resume"}

COMMAND_FIELDS = (
    "command",
    "team_id",
    "team_domain",
    "enterprise_id",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "api_app_id",
)
"""The slash command's fields an event carries: every one Slack sends but ``response_url`` and ``trigger_id``
(secrets of the moment), ``token`` (the deprecated verification token) and ``text`` (read by the grammar)."""

MAX_FIELDS = 100  # Slack sends about fifteen; a form of thousands is not Slack

SIGNATURE = TimestampedHmac()
"""``X-Slack-Signature: v0=<hex>`` over ``v0:<X-Slack-Request-Timestamp>:<raw body>``, five minutes' tolerance."""


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret, now)}


def delivery_id(headers: Headers) -> str | None:
    """Slack names no delivery: a hash of the signature stands for one, so the same signed request replayed within
    the five minutes is a duplicate. (The signature covers the timestamp and the body; the hash keeps it out of
    the deliveries log.)"""
    signature = lower_keys(headers).get(SIGNATURE.signature_header.lower(), "").strip()
    if not signature:
        return None
    return "sig-" + hashlib.sha256(signature.encode("utf-8", "replace")).hexdigest()[:32]


def check_secret(secret: str) -> str | None:
    if secret != secret.strip() or any(char.isspace() for char in secret):
        return "holds spaces or line breaks: paste the Signing Secret alone"
    if len(secret) < 16:
        return "is too short for a Slack signing secret (Basic Information shows 32 characters)"
    return None


# -- reading the request ------------------------------------------------------------------------------------------


def form(body: bytes) -> dict[str, str]:
    """The form's fields; a field given twice, a body that is not UTF-8 or not a form, is a PayloadError."""
    try:
        decoded = body.decode("utf-8")
        pairs = parse_qsl(
            decoded,
            keep_blank_values=True,
            strict_parsing=bool(decoded),
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8 (nor its percent-escapes)") from None
    except ValueError as exc:  # a field without "=", or too many fields
        reason = "too many fields" if "Max number" in str(exc) else "a field without '='"
        raise PayloadError(f"body is not a form: {reason}") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise PayloadError(f"field {name[:40]!r} is given twice")
        fields[name] = value
    return fields


def _interaction(fields: Mapping[str, str]) -> dict[str, Any]:
    """The JSON object of an interactive request's ``payload`` field."""
    try:
        return json_object(fields["payload"].encode("utf-8"))
    except PayloadError as exc:
        raise PayloadError(f"the payload field: {exc}") from None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _text_field(value: Any, name: str) -> str | None:
    """A string field of the interaction payload; None when absent, a PayloadError when of another type."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _object(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{name} must be an object, not {type(value).__name__}")
    return value


# -- events -------------------------------------------------------------------------------------------------------


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A slash command or a button click as a ``chat.command`` event; none for an SSL check, help, text that is
    not a command and clicks on buttons not ours."""
    fields = form(body)
    if fields.get("ssl_check") == "1":
        return []
    if "payload" in fields:
        return _button_events(_interaction(fields), body, received_at)
    if "command" not in fields:
        raise PayloadError("not a Slack slash command: missing field 'command'")
    if not fields.get("user_id"):
        raise PayloadError("not a Slack slash command: missing field 'user_id'")
    text = fields.get("text", "")
    command = chat.read(text).command
    if command is None:
        return []  # help, or text that is not a command: the immediate answer is all there is to say
    data = {name: fields[name] for name in COMMAND_FIELDS if fields.get(name)}
    trigger = fields.get("trigger_id")
    key = _digest("trigger", trigger) if trigger else _digest("body", body.decode("utf-8"))
    return [_event(key, fields["user_id"], command, text, data, received_at)]


def _clicked(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], Verb] | None:
    """The first of our buttons a ``block_actions`` payload reports clicked, with the verb it stands for."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list):
        raise PayloadError("a block_actions payload must list its actions")
    for action in actions:
        action_id = action.get("action_id") if isinstance(action, dict) else None
        if isinstance(action_id, str) and action_id in BUTTON_VERBS:
            return action, BUTTON_VERBS[action_id]
    return None  # a button of another app's message, or one we no longer send


def _button_events(payload: Mapping[str, Any], body: bytes, received_at: datetime | None) -> list[Event]:
    found = _clicked(payload)
    if found is None:
        return []
    clicked, verb = found
    user = _object(payload, "user")
    user_id = _text_field(user.get("id"), "user.id")
    if not user_id:
        raise PayloadError("a block_actions payload must name its user: missing field 'user.id'")
    team = _object(payload, "team")
    channel = _object(payload, "channel")
    enterprise = _object(payload, "enterprise")
    given = {
        "team_id": _text_field(team.get("id"), "team.id") or _text_field(user.get("team_id"), "user.team_id"),
        "team_domain": _text_field(team.get("domain"), "team.domain"),
        "enterprise_id": _text_field(enterprise.get("id"), "enterprise.id"),
        "channel_id": _text_field(channel.get("id"), "channel.id"),
        "channel_name": _text_field(channel.get("name"), "channel.name"),
        "user_id": user_id,
        "user_name": _text_field(user.get("username") or user.get("name"), "user.username"),
        "api_app_id": _text_field(payload.get("api_app_id"), "api_app_id"),
    }
    data = {name: value for name, value in given.items() if value}
    trigger = _text_field(payload.get("trigger_id"), "trigger_id")
    action_ts = _text_field(clicked.get("action_ts"), "action_ts")
    if trigger:
        key = _digest("trigger", trigger)
    elif action_ts:
        key = _digest("action", user_id, action_ts)
    else:
        key = _digest("body", body.decode("utf-8"))
    return [_event(key, user_id, ChatCommand(verb=verb), verb, data, received_at)]


def _event(
    key: str,
    user_id: str,
    command: ChatCommand,
    text: str,
    fields: dict[str, str],
    received_at: datetime | None,
) -> Event:
    return chat.command_event(
        platform="slack",
        event_id=f"slack:{key}",
        actor=user_id,
        text=text,
        command=command,
        fields=fields,
        received_at=received_at,
    )


# -- the immediate answer and the follow-up's address ---------------------------------------------------------


def escape(text: str) -> str:
    """Slack reads ``<``, ``>`` and ``&`` in message text as its markup (``<description>`` would be a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def private(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": escape(text)}


def with_button(line: str, label: str, action_id: str) -> dict[str, Any]:
    """``line`` with one button under it (Block Kit), and the line as the notification's text."""
    return {
        **private(line),
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": line, "emoji": False}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "text": {"type": "plain_text", "text": label},
                        "value": BUTTON_VERBS[action_id],
                    }
                ],
            },
        ],
    }


def command_answer(command: ChatCommand) -> dict[str, Any]:
    """What a command will do, privately; ``start`` offers to stop, ``stop`` to resume."""
    line = describe(command)
    if command.verb == "start":
        return with_button(line, "Stop", STOP_ACTION)
    if command.verb == "stop":
        return with_button(line, "Resume", RESUME_ACTION)
    return private(line)


def answer(headers: Headers, body: bytes, verdict: Verdict) -> Reply | None:
    """The immediate answer Slack shows the person (the request was verified and parsed already)."""
    fields = form(body)
    if fields.get("ssl_check") == "1":
        return Reply(200, {})
    if "payload" in fields:
        found = _clicked(_interaction(fields))
        if found is None:
            return Reply(200, {})
        return Reply(200, private(describe(ChatCommand(verb=found[1]))))
    reading = chat.read(fields.get("text", ""))
    if reading.command is None:
        return Reply(200, private(reading.answer))  # the help, or what to type instead
    return Reply(200, command_answer(reading.command))


def reply_channel(headers: Headers, body: bytes) -> ReplyChannel | None:
    """The request's ``response_url``, where the worker posts what became of the command."""
    fields = form(body)
    url: Any = fields.get("response_url")
    if "payload" in fields:
        url = _interaction(fields).get("response_url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    return ReplyChannel("slack", url=url)


SOURCE = Source(
    name="slack",
    secret_env="SLACK_SIGNING_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    content_types=(FORM,),
    kinds=chat.KINDS,
    check_secret=check_secret,
    handle=Handle("slack", "Slack user ids (U024BE7LH).", chat=True),
    answer=answer,
    reply_channel=reply_channel,
)
