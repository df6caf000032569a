"""Discord interactions (the ``/toggl`` application command) at ``POST /hooks/discord``.

Discord signs each interaction with Ed25519 over ``X-Signature-Timestamp`` + the body (``X-Signature-Ed25519``),
checked with the application's public key, ``TOGGLBRIDGE_DISCORD_PUBLIC_KEY``. A bad signature is a 401: Discord
sends some on purpose when the endpoint is saved, and refuses an endpoint that accepts them.

- A PING (type 1) is answered with a PONG (``{"type": 1}``) and makes no event.
- An APPLICATION_COMMAND (type 2) is ``/toggl <subcommand> [text]`` (``COMMAND``, what ``togglbridge discord
  register`` registers): the text is rebuilt as ``<subcommand> <text>`` and read with the grammar, as Slack's and
  Mattermost's text is. ``help``, or text that is not a command, is answered at once with the help or the usage
  (type 4) and makes no event. Anything else makes one ``chat.command`` event and is answered "deferred" (type 5):
  Discord shows "thinking…" until a worker edits that answer with what became of the command, through the
  interaction's webhook (``follow_ups.deliver``).

Every answer is ephemeral (flags 64): only the person who typed sees it. The interaction token, which opens that
webhook for 15 minutes, is a secret of the moment: it is kept for the worker (``reply_channel``), never in the
event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from togglbridge.chat_text import Verb
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
)
from togglbridge.sources.signing import Ed25519Signature

PLATFORM = "discord"
SIGNATURE = Ed25519Signature(tolerance=timedelta(minutes=5))  # a captured request cannot be replayed later
"""``X-Signature-Ed25519`` (hex) over ``X-Signature-Timestamp`` + body, with the application's public key."""

PING, APPLICATION_COMMAND = 1, 2  # interaction types
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE = 1, 4, 5  # interaction callback types
EPHEMERAL = 64  # message flag: only the user who invoked the interaction sees it
SUB_COMMAND, SUB_COMMAND_GROUP, STRING = 1, 2, 3  # application command option types

COMMAND_NAME = "toggl"
TEXT_OPTION = "text"

# The subcommands, one per verb of the grammar, in the order /toggl help lists them; the ones that take text have
# one string option, ``text``, read as what follows the verb ("start" + "Write report @Acme #docs").
_SUBCOMMANDS: dict[Verb, tuple[str, str | None, bool]] = {
    # verb: (its description, its text option's description or None, whether the text is required)
    "start": ("Start an entry", "What you work on: Write report @project #tag $ ($: billable)", False),
    "stop": ("Stop your running entry", None, False),
    "resume": ("Start again what you ran last", None, False),
    "log": ("Log time already spent", "1h30m Review @project #tag [yesterday|YYYY-MM-DD] [at HH:MM]", True),
    "tag": ("Add tags to your running entry", "#tag #another", True),
    "untag": ("Remove tags from your running entry", "#tag #another", True),
    "status": ("Your running entry and today's total", None, False),
    "today": ("Today's entries and total", None, False),
    "week": ("This week's totals per project", None, False),
    "undo": ("Revert the last thing togglbridge did for you", None, False),
    "help": ("The commands, or one in detail", "A command, like: log", False),
}


def _subcommand(verb: Verb) -> dict[str, Any]:
    description, text, required = _SUBCOMMANDS[verb]
    option: dict[str, Any] = {"type": SUB_COMMAND, "name": verb, "description": description}
    if text is not None:
        option["options"] = [{"type": STRING, "name": TEXT_OPTION, "description": text, "required": required}]
    return option


COMMAND: dict[str, Any] = {
    "name": COMMAND_NAME,
    "type": 1,  # CHAT_INPUT: a slash command
    "description": "Track time in Toggl",
    "options": [_subcommand(verb) for verb in _SUBCOMMANDS],
    # in servers and in the bot's DMs
    "contexts": [0, 1],
    "integration_types": [0],
}
"""The ``/toggl`` command as Discord's API takes it (``PUT /applications/{id}/commands``, a list of these)."""


def verify(headers: Headers, body: bytes, public_key: str, now: datetime) -> None:
    SIGNATURE.verify(headers, body, public_key, now)


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """What Discord does, with the private key's 32 bytes in hex: the receiver checks with ``public_key_hex`` of
    that key (``signing.public_key_hex``)."""
    private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    return {**headers, **SIGNATURE.sign(body, private_key, now)}


def check_secret(secret: str) -> str | None:
    """The public key Discord shows is 32 bytes in hex (64 characters)."""
    try:
        if len(bytes.fromhex(secret)) == 32:
            return None
    except ValueError:
        pass
    return "expected the application's public key: 64 hexadecimal characters (the Developer Portal shows it)"


def delivery_id(headers: Headers) -> str | None:
    """Discord sends no delivery header; the interaction id (the event's id) keeps a command once."""
    return None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be text, not {type(value).__name__}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object, not {type(value).__name__}")
    return value


def _options(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where} must be a list, not {type(value).__name__}")
    return [_object(option, f"{where}[{index}]") for index, option in enumerate(value)]


def command_text(payload: dict[str, Any]) -> str:
    """The text after ``/toggl``: a subcommand's name followed by its options' values (``start`` + ``Write report
    @Acme``), or the values of plain string options."""
    data = _object(payload.get("data"), "data")
    words: list[str] = []
    options = _options(data.get("options"), "data.options")
    while options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
        words.append(_text(options[0].get("name"), "a subcommand's name"))
        options = _options(options[0].get("options"), "a subcommand's options")
    for option in options:
        value = option.get("value")
        words.append(_text(value, f"option {str(option.get('name'))[:40]!r}"))
    return " ".join(word.strip() for word in words if word.strip())


def _user(payload: dict[str, Any]) -> dict[str, Any]:
    """Who typed it: ``member.user`` in a server, ``user`` in a DM."""
    member = payload.get("member")
    if member is not None:
        return _object(_object(member, "member").get("user"), "member.user")
    return _object(payload.get("user"), "user")


def _interaction_type(payload: dict[str, Any]) -> int:
    kind = payload.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool):
        raise PayloadError("missing or non-integer field 'type'")
    return kind


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """One ``chat.command`` event for a ``/toggl`` command to carry out; none for a PING, ``help``, text that is
    not a command, or another kind of interaction."""
    payload = json_object(body)
    if _interaction_type(payload) != APPLICATION_COMMAND:
        return []
    text = command_text(payload)
    reading = chat.read(text)
    if reading.command is None:
        return []
    interaction = _text(payload.get("id"), "field 'id'")
    user = _user(payload)
    user_id = _text(user.get("id"), "the user's id")
    if not interaction or not user_id:
        raise PayloadError("the interaction's id and the user's id must not be empty")
    channel_id = payload.get("channel_id")
    if channel_id is None and isinstance(payload.get("channel"), dict):
        channel_id = payload["channel"].get("id")
    fields = {
        "guild_id": payload.get("guild_id"),
        "channel_id": channel_id,
        "user_id": user_id,
        "user_name": user.get("username"),
    }
    return [
        chat.command_event(
            platform=PLATFORM,
            event_id=f"{PLATFORM}:{interaction}",
            actor=user_id,
            text=text,
            command=reading.command,
            fields={
                name: _text(value, f"field {name!r}") for name, value in fields.items() if value is not None
            },
            received_at=received_at,
        )
    ]


def _message(content: str) -> Reply:
    return Reply(200, {"type": CHANNEL_MESSAGE, "data": {"content": content, "flags": EPHEMERAL}})


def answer(headers: Headers, body: bytes, verdict: Verdict) -> Reply | None:
    """PONG to a PING; "deferred" to a command on its way (the worker edits it later); the help or the usage at
    once to what makes no event. Ephemeral, all of them."""
    payload = json_object(body)
    kind = _interaction_type(payload)
    if kind == PING:
        return Reply(200, {"type": PONG})
    if kind != APPLICATION_COMMAND:
        return None
    if verdict == "duplicate":
        return _message("That command was received already.")
    if verdict == "accepted":
        return Reply(200, {"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}})
    return _message(chat.read(command_text(payload)).answer)


def reply_channel(headers: Headers, body: bytes) -> ReplyChannel | None:
    """The interaction's token and application: the worker edits the deferred answer through its webhook."""
    payload = json_object(body)
    token, application = payload.get("token"), payload.get("application_id")
    if not (isinstance(token, str) and token and isinstance(application, str) and application):
        return None
    return ReplyChannel(PLATFORM, token=token, application_id=application)


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    return {}


def recognizes(payload: dict[str, Any]) -> bool:
    """An interaction: its type, its application, and the token Discord gives every one."""
    return {"type", "application_id", "token"} <= set(payload) and (
        payload.get("type") == PING or isinstance(payload.get("data"), dict)
    )


SOURCE = Source(
    name=PLATFORM,
    secret_env="DISCORD_PUBLIC_KEY",  # noqa: S106 (the name of a variable, not a secret)
    verify=verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=chat.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    check_secret=check_secret,
    handle=Handle(PLATFORM, "Discord user ids (snowflakes, like 80351110224678912).", chat=True),
    answer=answer,
    reply_channel=reply_channel,
)
