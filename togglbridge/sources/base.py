"""What every source is: a name, the setting that holds its secret, ``verify`` and ``parse``.

Sources are sans-I/O (as gidgethub's ``sansio``): they read the raw headers and body and return events or raise
one of the errors below, whose message is safe to show the sender (it never contains the secret).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson
from pydantic import ValidationError

from togglbridge.events import Event
from togglbridge.sources.kinds import KindSchema

Headers = Mapping[str, str]


class SourceError(Exception):
    """A request a source refuses; ``status`` is the HTTP status the receiver answers with."""

    status = 400


class SignatureError(SourceError):
    """The signature (or token, or timestamp) does not verify: nothing is enqueued."""

    status = 401


class PayloadError(SourceError):
    """The body is not what the sender's documentation says it is."""

    status = 400


class Parser(Protocol):
    """Turns one delivery into events; pure. ``received_at`` is when the delivery arrived: a source uses it only
    for a time the payload does not give (without it, such a source reads the clock)."""

    def __call__(self, headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class Handle:
    """An identity list of the rule file, named after a platform (``github``), and the actors it holds."""

    platform: str
    description: str
    chat: bool = False  # a chat platform, where the built-in /toggl commands apply


Verdict = Literal["accepted", "duplicate", "no events"]
"""What the receiver did with a verified delivery, for ``Source.answer``."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP answer a source asks for: its status and JSON body."""

    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class ReplyChannel:
    """Where a chat command's follow-up goes once a worker knows what became of it: a secret of the moment (a
    response URL, an interaction token), kept in Redis for minutes, never in the event, the journal or a log."""

    platform: str  # slack, mattermost, discord
    url: str | None = None  # Slack's and Mattermost's response_url
    token: str | None = None  # Discord's interaction token
    application_id: str | None = None  # Discord's application, whose webhook the token opens

    def to_json(self) -> str:
        return json.dumps(
            {
                "platform": self.platform,
                "url": self.url,
                "token": self.token,
                "application_id": self.application_id,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ReplyChannel:
        return cls(**json.loads(raw))


@dataclass(frozen=True, slots=True)
class Source:
    """One sender of events. ``verify(headers, body, secret, now)`` raises or returns; ``parse`` is pure (given
    ``received_at``); ``sign`` is what the sender does, so tests, benchmarks and example senders sign as it
    does."""

    name: str
    secret_env: str
    """The variable holding the source's secret, after the ``TOGGLBRIDGE_`` prefix (``GITHUB_SECRET``): set,
    the source is enabled; unset or empty, ``POST /hooks/<name>`` answers 404 naming it."""
    verify: Callable[[Headers, bytes, str, datetime], None]
    parse: Parser
    delivery_id: Callable[[Headers], str | None]  # the sender's id of this delivery, stable on redelivery
    sign: Callable[[Headers, bytes, str, datetime], dict[str, str]]
    """``sign(headers, body, secret, now)``: ``headers`` with the signature headers ``verify`` accepts added (a
    signature may cover one of them, such as Standard Webhooks' ``webhook-id``)."""
    content_types: tuple[str, ...] = ("application/json",)
    kinds: Mapping[str, KindSchema] = field(default_factory=dict)
    """The kinds of event this source sends, each with the data fields it carries."""
    other_kinds: KindSchema | None = None
    """Set when the sender chooses the kind (generic webhooks): any kind outside the other sources' namespaces,
    with data of this schema."""
    explain_headers: Callable[[dict[str, Any]], dict[str, str]] = lambda payload: {}
    """The headers a delivery of ``payload`` would carry that ``parse`` needs (an event type read from the payload,
    a made-up delivery id), so ``togglbridge explain --source`` can parse a payload saved without its headers."""
    recognizes: Callable[[dict[str, Any]], bool] = lambda payload: False
    """Whether a JSON object looks like this source's payload (to tell a user which ``--source`` to use)."""
    check_secret: Callable[[str], str | None] = lambda secret: None
    """What is wrong with a secret of the wrong shape (None: nothing), so a bad one stops the process at start."""
    handle: Handle | None = None
    """The identity list the rule file maps this source's actors with (``github: [login]``); None: emails and
    aliases only."""
    answer: Callable[[Headers, bytes, Verdict], Reply | None] = lambda headers, body, verdict: None
    """Shapes the HTTP reply when the sender expects one (a handshake such as a PING or a validation code, a
    chat command's immediate answer); None: the receiver's usual JSON."""
    reply_channel: Callable[[Headers, bytes], ReplyChannel | None] = lambda headers, body: None
    """Where the follow-up of an accepted delivery goes (a chat platform's response URL or interaction token):
    the receiver keeps it in Redis for the worker (``store/replies.py``); None: no follow-up."""

    @property
    def variable(self) -> str:
        """The full name of the variable that enables the source."""
        return f"TOGGLBRIDGE_{self.secret_env}"


READING_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, ValidationError)
"""What reading a payload raises when it is not what its sender documents: caught and said as a PayloadError."""


def payload_problem(exc: Exception, objects: str = "") -> str:
    """What is wrong with a payload, from what reading it raised, in words safe to show the sender. ``objects``
    names the fields that must be objects (for an AttributeError)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, AttributeError):
        return f"a field that must be an object{f' ({objects})' if objects else ''} is not one"
    if isinstance(exc, OverflowError):
        return "a timestamp is out of range"
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc)


def lower_keys(headers: Headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


_DIGITS = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_NUMBER = b"0" * 19
"""Digits enough for an integer beyond 64 bits, which orjson would read as a float (the standard library keeps it
an integer, which an event then refuses by name). Looked for with ``translate`` and ``find``, several times faster
than a regular expression over a body full of hex shas."""


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a PayloadError that says what is wrong with it."""
    decoded: Any
    try:
        # orjson reads a body several times faster, and reads what it accepts as the standard library does but
        # for integers beyond 64 bits (hence the look for long numbers first); anything it refuses (broken UTF-8,
        # NaN, lone surrogates, too deep) is read again by the standard library, which says what is wrong or
        # accepts it as before.
        if body.translate(_DIGITS).find(_LONG_NUMBER) >= 0:
            raise ValueError("read it with the standard library")
        decoded = orjson.loads(body)
    except ValueError:
        decoded = _stdlib_json(body)
    if not isinstance(decoded, dict):
        raise PayloadError(f"body must be a JSON object, not {type(decoded).__name__}")
    return decoded


def _stdlib_json(body: bytes) -> Any:
    try:
        # Decode explicitly: json.loads would guess UTF-16 or UTF-32 from a byte order mark.
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts (4300 digits)
        raise PayloadError(f"body is not acceptable JSON: {str(exc)[:200]}") from None
