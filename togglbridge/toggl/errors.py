"""Exceptions for Toggl's answers, one class per thing a caller does differently.

Toggl's error bodies are plain strings (sometimes JSON-quoted), never objects; the message is kept as Toggl
wrote it so that users see Toggl's own words. Secrets never appear: requests are described by method and path.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    """Toggl's hourly quota as the last response reported it (None: the response did not say)."""

    remaining: int | None = None
    resets_in: float | None = None

    @classmethod
    def from_headers(cls, headers: object) -> Quota:
        get = getattr(headers, "get", None)
        if get is None:
            return cls()
        return cls(
            remaining=_int_or_none(get("X-Toggl-Quota-Remaining")),
            resets_in=_float_or_none(get("X-Toggl-Quota-Resets-In")),
        )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class TogglError(Exception):
    """An answer from Toggl (or the gateway) that is not a success.

    ``retry_after`` is the wait the answer asked for, in seconds, when it asked for one
    (``Retry-After`` on a 429, ``X-Toggl-Quota-Resets-In`` on a 402).
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
        quota: Quota | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.quota = quota or Quota()
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.message}" + (f" ({where})" if where else "")


class AuthenticationError(TogglError):
    """401 (the gateway refused its key) or 403 (Toggl refused the credential or the resource)."""


class NotFoundError(TogglError):
    """404: the entry, project, client, tag or workspace does not exist (or is not visible)."""


class ConflictError(TogglError):
    """409: e.g. stopping an entry that is already stopped."""


class BadRequestError(TogglError):
    """400 or another 4xx: Toggl rejected the payload; ``message`` is Toggl's own plain-string reason."""


class RateLimitedError(TogglError):
    """429: the leaky bucket (Toggl) or the gateway's per-account limit; wait ``retry_after`` seconds."""

    retryable = True


class QuotaExhaustedError(TogglError):
    """402: the hourly quota is spent; work must wait ``resets_in`` seconds instead of failing."""

    @property
    def resets_in(self) -> float | None:
        return self.quota.resets_in


class UpstreamError(TogglError):
    """5xx, a timeout or a broken connection: worth retrying with backoff."""

    retryable = True
