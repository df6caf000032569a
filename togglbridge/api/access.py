"""Who may see the bridge from inside: the dashboard (``/ui``), ``/metrics`` and ``/api/*``.

The receiver faces the internet for its hooks; what it knows of people's time must not. All of it is off (404)
unless ``TOGGLBRIDGE_DASHBOARD_TOKEN`` is set. Then a request is let in with ``Authorization: Bearer <token>``
(scrapers, scripts) or with the session cookie the login page sets (people). The cookie is signed with a key
derived from the token, so changing the token ends every session; it is HttpOnly and SameSite=Strict, and each
session carries a CSRF token that every state-changing request must send back. Tokens are compared in constant
time, and failed logins are limited per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import SecretStr

SESSION_COOKIE = "togglbridge_session"
SESSION_SECONDS = 7 * 24 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
FAILED_LOGINS_PER_MINUTE = 10

# What every operator route answers besides its own statuses, for the OpenAPI document.
OPERATOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Neither the dashboard token (Bearer) nor a signed-in session"},
    404: {"description": "Off: TOGGLBRIDGE_DASHBOARD_TOKEN is not set"},
}

OFF_MESSAGE = "not found: the dashboard, /metrics and /api are off until TOGGLBRIDGE_DASHBOARD_TOKEN is set"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person: ``csrf`` is what their forms and scripts send back with each change."""

    csrf: str


class OperatorAccess:
    """The token, the sessions it signs, and the limit on guessing it."""

    def __init__(self, token: SecretStr | None) -> None:
        self._token = token.get_secret_value().encode() if token is not None else None
        # The cookie's key is derived, never the token itself: a cookie leaks nothing that opens /metrics.
        key = hmac.new(self._token or b"", b"togglbridge dashboard sessions", hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="togglbridge-session")
        self._failures = MovingWindowRateLimiter(MemoryStorage())
        self._failure_limit = RateLimitItemPerMinute(FAILED_LOGINS_PER_MINUTE)

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def token_matches(self, offered: str) -> bool:
        if self._token is None:
            return False
        return hmac.compare_digest(offered.encode(), self._token)

    def may_try_login(self, client: str) -> bool:
        """False while ``client`` has failed too often in the last minute."""
        return self._failures.test(self._failure_limit, client)

    def failed_login(self, client: str) -> None:
        self._failures.hit(self._failure_limit, client)

    def new_session(self) -> tuple[str, Session]:
        """A fresh session and its cookie value."""
        session = Session(csrf=secrets.token_urlsafe(24))
        return self._serializer.dumps({"csrf": session.csrf}), session

    def session(self, request: Request) -> Session | None:
        """The request's valid, unexpired session, if it has one."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie or self._token is None:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        csrf = data.get("csrf") if isinstance(data, dict) else None
        return Session(csrf=csrf) if isinstance(csrf, str) and csrf else None

    def bearer_matches(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(credentials.strip())

    def csrf_matches(self, session: Session, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), session.csrf.encode())


def operator_access(request: Request) -> OperatorAccess:
    access: OperatorAccess = request.app.state.access
    return access


def require_operator(request: Request, access: Annotated[OperatorAccess, Depends(operator_access)]) -> None:
    """For ``/metrics`` and ``/api/*``: the bearer token or a signed-in session, else 401 (404 while off)."""
    if not access.enabled:
        raise HTTPException(404, OFF_MESSAGE)
    if access.bearer_matches(request) or access.session(request) is not None:
        return
    raise HTTPException(
        401,
        "send Authorization: Bearer <TOGGLBRIDGE_DASHBOARD_TOKEN>, or sign in at /ui/login",
        headers={"WWW-Authenticate": 'Bearer realm="togglbridge"'},
    )


def same_origin(request: Request) -> bool:
    """A change must come from the dashboard's own pages: a browser names the page's origin in ``Origin`` (or at
    least ``Referer``) on every POST, and a page of another site cannot forge it. Hosts are compared, not schemes,
    since a TLS proxy in front turns https into http."""
    named = request.headers.get("origin") or request.headers.get("referer")
    if not named or named == "null":
        return False
    host = urlsplit(named).netloc.lower()
    own = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return bool(host) and host in {name.lower() for name in own if name}
