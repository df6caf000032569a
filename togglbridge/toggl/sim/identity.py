"""Who is calling: credentials from request headers, and the stable ids they map to.

Each distinct credential is its own simulated user, created on first sight, so tests and benchmarks need no set-up.
Ids come from a SHA-256 of the credential: the same credential has the same user, workspace and organization ids in
every run. Only that digest is kept; the secret itself is never stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import Enum


class PathShape(Enum):
    """The two ways in: through the Maton gateway or straight to Toggl."""

    GATEWAY = "gateway"
    DIRECT = "direct"


GATEWAY_PREFIX = "/toggl-track/api/v9"
DIRECT_PREFIX = "/api/v9"
DEFAULT_CONNECTION = "default"
API_TOKEN_MARKER = "api_token"  # noqa: S105 - the literal Toggl expects as the basic-auth password

USER_ID_BASE = 10_000_000
WORKSPACE_ID_BASE = 1_000_000
ORGANIZATION_ID_BASE = 100_000
_ID_SPAN = 89_000_000


@dataclass(frozen=True, slots=True)
class Credential:
    """A caller's identity: a digest of the secret (never the secret) and a label safe to print."""

    digest: bytes
    label: str
    """'gateway:<connection id>' or 'direct': says which way in, never the key or token."""


def gateway_credential(authorization: str | None, connection: str | None) -> Credential | None:
    """`Authorization: Bearer <key>` plus optional `Maton-Connection`; None when missing or garbled."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    conn = (connection or "").strip() or DEFAULT_CONNECTION
    digest = hashlib.sha256(b"gateway\0" + key.encode() + b"\0" + conn.encode()).digest()
    return Credential(digest=digest, label=f"gateway:{conn}")


def direct_credential(authorization: str | None) -> Credential | None:
    """HTTP basic `<token>:api_token`; None when missing or garbled (including email/password logins)."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    token, sep, marker = decoded.partition(":")
    if not sep or marker != API_TOKEN_MARKER or not token:
        return None
    digest = hashlib.sha256(b"direct\0" + token.encode()).digest()
    return Credential(digest=digest, label="direct")


def credential_for(
    shape: PathShape, authorization: str | None, connection: str | None = None
) -> Credential | None:
    """The credential a request carries for its path shape, or None (the caller answers 403)."""
    if shape is PathShape.GATEWAY:
        return gateway_credential(authorization, connection)
    return direct_credential(authorization)


@dataclass(frozen=True, slots=True)
class DerivedIds:
    """The preferred ids for a credential; the state probes upwards on the (unlikely) collision."""

    user_id: int
    workspace_id: int
    organization_id: int


def derive_ids(digest: bytes) -> DerivedIds:
    """Stable, realistic-looking (8-digit) ids from a credential digest."""
    return DerivedIds(
        user_id=USER_ID_BASE + int.from_bytes(digest[0:6], "big") % _ID_SPAN,
        workspace_id=WORKSPACE_ID_BASE + int.from_bytes(digest[6:12], "big") % _ID_SPAN,
        organization_id=ORGANIZATION_ID_BASE + int.from_bytes(digest[12:18], "big") % _ID_SPAN,
    )
