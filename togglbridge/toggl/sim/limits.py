"""Toggl's two limits, per credential, measured on the sim clock so tests never sleep.

- `LeakyBuckets`: the short-term limit (429 + Retry-After). Each request pours one unit into the caller's bucket;
  the bucket drains at `rate` units/s and holds `capacity` units. O(1) per request.
- `HourlyQuotas`: the sliding-hour quota (402 + X-Toggl-Quota-* headers). A deque of request times per caller,
  pruned from the left; amortized O(1) per request.

Both take the current time as an argument instead of reading a clock: they stay pure and trivially testable.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

QUOTA_WINDOW_SECONDS = 3600.0


class LeakyBuckets:
    """One leaky bucket per key (the simulated user id)."""

    def __init__(self) -> None:
        # key -> (level, time of last update)
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, key: int, now: float, rate: float, capacity: int) -> int:
        """Pour one request in. Returns 0 when accepted, else the whole seconds to wait (Retry-After, >= 1)."""
        level, last = self._buckets.get(key, (0.0, now))
        level = max(0.0, level - max(0.0, now - last) * rate)
        if level + 1.0 > max(capacity, 1) + 1e-9:
            self._buckets[key] = (level, now)
            return max(1, math.ceil((level + 1.0 - max(capacity, 1)) / rate - 1e-9))
        self._buckets[key] = (level + 1.0, now)
        return 0

    def clear(self) -> None:
        """Forget every bucket (simulator reset)."""
        self._buckets.clear()


@dataclass(frozen=True, slots=True)
class QuotaVerdict:
    """The outcome of charging one request to a quota."""

    allowed: bool
    remaining: int
    resets_in: int
    """Whole seconds until the oldest counted request leaves the window (so `remaining` grows again)."""


class HourlyQuotas:
    """A sliding one-hour request quota per key."""

    def __init__(self) -> None:
        self._windows: dict[int, deque[float]] = {}

    def _window(self, key: int, now: float) -> deque[float]:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        horizon = now - QUOTA_WINDOW_SECONDS
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def peek(self, key: int, now: float, limit: int) -> QuotaVerdict:
        """Whether one more request would fit, without charging it."""
        window = self._window(key, now)
        resets_in = _resets_in(window, now)
        if len(window) >= limit:
            return QuotaVerdict(False, 0, resets_in)
        return QuotaVerdict(True, limit - len(window), resets_in)

    def charge(self, key: int, now: float, limit: int) -> QuotaVerdict:
        """Count one request (call after `peek` allowed it); returns what is left afterwards."""
        window = self._window(key, now)
        window.append(now)
        return QuotaVerdict(True, max(0, limit - len(window)), _resets_in(window, now))

    def clear(self) -> None:
        """Forget every window (simulator reset)."""
        self._windows.clear()


def _resets_in(window: deque[float], now: float) -> int:
    if not window:
        return int(QUOTA_WINDOW_SECONDS)
    return max(1, math.ceil(window[0] + QUOTA_WINDOW_SECONDS - now - 1e-9))
