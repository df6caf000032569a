"""Pacing requests to Toggl across every worker process and machine: a moving window per key, in Redis.

Toggl's leaky bucket allows about one request a second per token (its safe window), and the
gateway about ten a second per account. Celery's own ``rate_limit`` is per worker process, so it cannot keep
four processes on two machines under Toggl's limit; a shared window in Redis can (the ``limits`` library's
moving window, updated atomically by a Lua script).

A caller that would have to wait longer than a blink is told how long instead (``Paced``), so the worker can
serve other identities meanwhile and come back when the window has room.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from togglbridge.settings import parse_rate

NAMESPACE = "togglbridge-toggl"
SHORT_WAIT_SECONDS = 0.05  # waits this short are slept through; longer ones are handed back to the caller


class Paced(Exception):
    """The request was not sent: the shared window is full for ``retry_after`` more seconds.

    Local pacing, not an answer from Toggl: nothing reached Toggl, so it is no ``TogglError``."""

    retryable = True  # always: the window has room again after ``retry_after``

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def credential_key(*parts: str) -> str:
    """A key naming a credential without containing it."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class TogglRateLimiter:
    def __init__(
        self,
        redis_url: str,
        *,
        per_credential: str = "1/second",
        per_gateway_account: str = "10/second",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url))
        self._per_credential = parse_rate(per_credential)
        self._per_account = parse_rate(per_gateway_account)
        self._sleep = sleep

    def pace(self, credential: str, account: str | None = None) -> None:
        """Take a slot for one request by ``credential`` (and its gateway ``account``), or raise ``Paced``."""
        windows = [(self._per_credential, f"credential:{credential}")]
        if account is not None:
            windows.append((self._per_account, f"account:{account}"))
        limited = [(item, key) for item, key in windows if item is not None]
        while True:
            if len(limited) == 1:
                # One window: a refused hit takes no slot, so take it straight away (one round trip) and ask how
                # long to wait only when refused.
                item, key = limited[0]
                if self._limiter.hit(item, NAMESPACE, key):
                    return
                wait = self._wait(item, key)
            else:
                # Several: look into all first, so that a slot is not taken in one window for a request another
                # window refuses.
                wait = max((self._wait(item, key) for item, key in limited), default=0.0)
                if wait <= 0 and all(self._limiter.hit(item, NAMESPACE, key) for item, key in limited):
                    return
            wait = max(wait, 0.001)
            if wait > SHORT_WAIT_SECONDS:
                raise Paced(f"paced: the shared request window is full for {wait:.2f}s", retry_after=wait)
            self._sleep(wait)

    def _wait(self, item: RateLimitItem, key: str) -> float:
        if self._limiter.test(item, NAMESPACE, key):
            return 0.0
        reset_time, _ = self._limiter.get_window_stats(item, NAMESPACE, key)
        return max(0.0, reset_time - time.time())
