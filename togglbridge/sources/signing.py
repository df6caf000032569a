"""Every way a sender signs a delivery: one scheme each, its check (``verify``) beside the ``sign`` that makes
what the check accepts.

A source declares its scheme once (``SIGNATURE = HmacHex("X-Hub-Signature-256", prefix="sha256=")``) and uses its
``verify``; tests, benchmarks and example senders sign with the same object's ``sign``, so no one writes an HMAC
out again. Every ``verify`` takes ``(headers, body, secret, now)``, as ``Source.verify`` does, and raises
``SignatureError`` with a message safe to show the sender: it names headers, never the secret or the signature
expected. Every comparison of a signature or token is in constant time.

- ``HmacHex``: a hex HMAC of the body in one header, with an optional prefix (GitHub's ``X-Hub-Signature-256:
  sha256=...``, Gitea's ``X-Gitea-Signature``, Bitbucket Server's ``X-Hub-Signature``).
- ``SharedToken``: the secret itself in a header (GitLab's ``X-Gitlab-Token``); ``tokens_match`` for a token
  carried elsewhere (Mattermost's ``token`` form field).
- ``TimestampedHmac``: a hex HMAC of ``<version>:<timestamp>:<body>`` beside a timestamp header, within a
  tolerance (Slack's ``X-Slack-Signature: v0=...`` and ``X-Slack-Request-Timestamp``).
- ``StandardWebhooks``: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``, verified by the
  ``standardwebhooks`` library (5 minutes' tolerance).
- ``Ed25519Signature``: an Ed25519 signature of timestamp + body, checked with the sender's public key (Discord's
  ``X-Signature-Ed25519`` and ``X-Signature-Timestamp``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from standardwebhooks.webhooks import Webhook

from togglbridge.sources.base import SignatureError

Headers = Mapping[str, str]
FIVE_MINUTES = timedelta(minutes=5)


def tokens_match(given: str | bytes, expected: str | bytes) -> bool:
    """Whether two signatures or tokens are equal, in constant time.

    Compared as bytes: ``hmac.compare_digest`` refuses a str with non-ASCII characters, which a sender may put in
    a header (HTTP headers are latin-1), and a refusal must be a 401, not a crash."""
    as_bytes = [v.encode("utf-8", "replace") if isinstance(v, str) else v for v in (given, expected)]
    return hmac.compare_digest(as_bytes[0], as_bytes[1])


def _header(headers: Headers, name: str) -> str:
    """The header's value (names are case-insensitive); a missing one is refused, naming it."""
    wanted = name.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def _hex_hmac(secret: str, message: bytes, algorithm: str) -> str:
    return hmac.digest(secret.encode(), message, algorithm).hex()  # one call into OpenSSL, no HMAC object


def _within(timestamp: str, now: datetime, tolerance: timedelta, header: str) -> None:
    """Refuse a timestamp (unix seconds) further than ``tolerance`` from ``now``: an old delivery replayed."""
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureError(f"{header} is not a unix time")
    if abs(int(timestamp) - now.timestamp()) > tolerance.total_seconds():
        raise SignatureError(f"{header} is more than {tolerance.total_seconds():g} s from now")


@dataclass(frozen=True, slots=True)
class HmacHex:
    """``<header>: <prefix><hex HMAC(secret, body)>``. SHA-256 unless a sender only offers another
    (``algorithm`` is a ``hashlib`` name)."""

    header: str
    prefix: str = ""
    algorithm: str = "sha256"

    def sign(self, body: bytes, secret: str) -> dict[str, str]:
        return {self.header: self.prefix + _hex_hmac(secret, body, self.algorithm)}

    def verify(self, headers: Headers, body: bytes, secret: str, now: datetime | None = None) -> None:
        given = _header(headers, self.header)
        scheme_matches = given.startswith(self.prefix)
        digest = given.removeprefix(self.prefix).strip().lower()
        if not (tokens_match(digest, _hex_hmac(secret, body, self.algorithm)) and scheme_matches):
            raise SignatureError(f"{self.header} does not match the body")


@dataclass(frozen=True, slots=True)
class SharedToken:
    """``<header>: <the secret itself>``: the sender proves it knows the secret, the body is not covered."""

    header: str

    def sign(self, body: bytes, secret: str) -> dict[str, str]:
        return {self.header: secret}

    def verify(self, headers: Headers, body: bytes, secret: str, now: datetime | None = None) -> None:
        if not tokens_match(_header(headers, self.header), secret):
            raise SignatureError(f"{self.header} is not the shared token")


@dataclass(frozen=True, slots=True)
class TimestampedHmac:
    """``<signature_header>: <version>=<hex HMAC(secret, "<version>:<timestamp>:<body>")>`` with the timestamp
    (unix seconds) in ``timestamp_header``, refused outside ``tolerance`` of now. Slack's by default."""

    signature_header: str = "X-Slack-Signature"
    timestamp_header: str = "X-Slack-Request-Timestamp"
    version: str = "v0"
    tolerance: timedelta = FIVE_MINUTES

    def _digest(self, secret: str, timestamp: str, body: bytes) -> str:
        signed = f"{self.version}:{timestamp}:".encode() + body
        return f"{self.version}=" + _hex_hmac(secret, signed, "sha256")

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        timestamp = str(int(now.timestamp()))
        return {
            self.timestamp_header: timestamp,
            self.signature_header: self._digest(secret, timestamp, body),
        }

    def verify(self, headers: Headers, body: bytes, secret: str, now: datetime) -> None:
        timestamp = _header(headers, self.timestamp_header)
        given = _header(headers, self.signature_header)
        _within(timestamp, now, self.tolerance, self.timestamp_header)
        if not tokens_match(given.strip().lower(), self._digest(secret, timestamp, body)):
            raise SignatureError(f"{self.signature_header} does not match the body")


@dataclass(frozen=True, slots=True)
class StandardWebhooks:
    """The Standard Webhooks spec: a ``whsec_<base64>`` secret, ``webhook-signature: v1,<base64 HMAC-SHA256(key,
    "<id>.<timestamp>.<body>")>`` (several, space-separated, when a sender rotates its secret).

    Verified by the ``standardwebhooks`` library, which reads its own clock (5 minutes' tolerance): ``now`` is
    not used."""

    HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")

    def sign(self, body: bytes, secret: str, msg_id: str, now: datetime) -> dict[str, str]:
        """Signed over the raw bytes (the library signs text only), so a test can sign a body that is not
        UTF-8."""
        key = base64.b64decode(secret.removeprefix("whsec_") + "==")
        timestamp = str(int(now.timestamp()))
        mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        signature = "v1," + base64.b64encode(mac).decode()
        return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}

    def verify(self, headers: Headers, body: bytes, secret: str, now: datetime | None = None) -> None:
        lowered = {key.lower(): value for key, value in headers.items()}
        missing = [name for name in self.HEADERS if not lowered.get(name)]
        if missing:
            raise SignatureError(f"missing {', '.join(missing)} header" + ("s" if len(missing) > 1 else ""))
        try:
            Webhook(secret).verify(body, lowered, json_parse=False)
        except (
            Exception
        ) as exc:  # the library raises several types for malformed input; all mean "not verified"
            reason = (
                str(exc) if exc.__class__.__name__ == "WebhookVerificationError" else "malformed signature"
            )
            raise SignatureError(f"webhook signature: {reason}") from None


@dataclass(frozen=True, slots=True)
class Ed25519Signature:
    """``<signature_header>: <hex Ed25519 signature of timestamp + body>`` with the timestamp in
    ``timestamp_header``, checked with the sender's public key (hex): Discord's by default. The sender publishes
    no tolerance; set one to refuse old timestamps."""

    signature_header: str = "X-Signature-Ed25519"
    timestamp_header: str = "X-Signature-Timestamp"
    tolerance: timedelta | None = None

    def sign(self, body: bytes, private_key: Ed25519PrivateKey, now: datetime) -> dict[str, str]:
        timestamp = str(int(now.timestamp()))
        signature = private_key.sign(timestamp.encode() + body).hex()
        return {self.signature_header: signature, self.timestamp_header: timestamp}

    def verify(self, headers: Headers, body: bytes, public_key: str, now: datetime) -> None:
        """``public_key`` is the hex the sender shows (Discord's application "public key")."""
        given = _header(headers, self.signature_header)
        timestamp = _header(headers, self.timestamp_header)
        if self.tolerance is not None:
            _within(timestamp, now, self.tolerance, self.timestamp_header)
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        except ValueError:
            raise SignatureError("the configured public key is not 32 bytes of hex") from None
        try:
            key.verify(bytes.fromhex(given), timestamp.encode("utf-8", "replace") + body)
        except (ValueError, InvalidSignature):
            raise SignatureError(f"{self.signature_header} does not match the body") from None


def public_key_hex(private_key: Ed25519PrivateKey) -> str:
    """The hex of a private key's public half, as a sender shows it (the secret ``Ed25519Signature`` checks)."""
    return private_key.public_key().public_bytes_raw().hex()
