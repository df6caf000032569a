"""Request counters, so tests and benchmarks can assert how many Toggl calls something cost.

Every API request is counted once, when it is answered (admin `/_sim/` requests are not): in total, by route
("GET /me/time_entries/{id}"; unknown routes count as "<unmatched>"), by caller (simulated user id; unauthenticated
requests have none) and by status code.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

UNMATCHED = "<unmatched>"


class SimStats:
    """Counters; `reset()` zeroes them. Reads from another thread see a consistent-enough snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.by_credential: Counter[int] = Counter()
        self.by_status: Counter[int] = Counter()

    def record(self, route: str, user_id: int | None, status: int) -> None:
        with self._lock:
            self.total += 1
            self.by_route[route] += 1
            if user_id is not None:
                self.by_credential[user_id] += 1
            self.by_status[status] += 1

    def count(self, method: str, template: str) -> int:
        """Requests answered for one route, e.g. `stats.count("POST", "/workspaces/{wid}/time_entries")`."""
        return self.by_route[f"{method} {template}"]

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route.clear()
            self.by_credential.clear()
            self.by_status.clear()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serializable snapshot (`GET /_sim/stats`); JSON object keys are strings."""
        with self._lock:
            return {
                "total": self.total,
                "by_route": dict(self.by_route),
                "by_credential": {str(k): v for k, v in self.by_credential.items()},
                "by_status": {str(k): v for k, v in self.by_status.items()},
            }
