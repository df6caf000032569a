"""The simulator's runtime switches (`SimKnobs`) and its movable clock (`SimClock`).

Both are plain mutable objects on purpose: tests flip a knob or move the clock between two requests and the very
next request sees the change, with no restart and no sleeping.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass
class SimKnobs:
    """How the simulated Toggl misbehaves. Every field may be changed while the simulator runs.

    The defaults give a well-behaved Toggl: no limits, no errors, no latency, auto-stop on.
    """

    rate_limit: float | None = None
    """Leaky-bucket drain rate in requests/second per credential (Toggl's 429). None: no bucket."""
    bucket_capacity: int = 2
    """Requests the bucket holds before it overflows: the burst allowed on top of `rate_limit`."""
    quota_per_hour: int | None = None
    """Requests per credential per sliding hour on the sim clock (Toggl's 402). None: no quota."""
    me_quota_per_hour: int | None = None
    """A separate hourly quota for `GET /me` and `GET /me/workspaces` (Toggl: 30/h on every plan)."""
    error_rate: float = 0.0
    """Fraction (0..1) of requests answered 500/502/503 before any state change."""
    throttle_rate: float = 0.0
    """Fraction (0..1) of requests answered 429 with `Retry-After: 1`, at random, whatever the bucket holds
    (the gateway's own limit, or Toggl shedding load): nothing is charged or changed."""
    seed: int = 0
    """Seed of the random draws (injected errors and 429s, latency jitter), so a run can be replayed."""
    latency_ms: float = 0.0
    """Delay added to every API response."""
    latency_jitter_ms: float = 0.0
    """Uniform random extra delay in [0, latency_jitter_ms] on top of `latency_ms`."""
    autostop: bool = True
    """Creating a running entry stops the one already running (undocumented in v9, so both are modelled)."""
    running_duration_minus_one: bool = False
    """Running entries report `duration: -1`, the form of Toggl's older examples, instead of minus the start's
    unix time (what Toggl answers today). Requests may send -1 either way."""
    admin: bool = True
    """The caller is a workspace admin. When False, creating/updating/deleting projects and tags is 403."""
    webhook_delay_seconds: float = 0.0
    """Real seconds a webhook delivery (or ping) waits before it is sent, as Toggl's queue lags behind the API."""
    webhook_redeliver: bool = False
    """Send every event delivery twice, the second a redelivery with the same body (so the same event_id), as
    an at-least-once sender does; receivers must deduplicate."""
    webhook_max_attempts: int = 4
    """Tries per delivery before it is marked failed (a non-2xx answer or a connection error fails a try)."""
    webhook_retry_seconds: float = 1.0
    """Real seconds before the first retry; each later retry waits twice as long. Tests set it near 0."""
    webhook_timeout_seconds: float = 10.0
    """How long one try waits for the receiver's answer."""

    def update(self, values: Mapping[str, Any]) -> None:
        """Set several knobs from JSON-ish values, all or none, so a bad admin request changes nothing."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name not in fields:
                raise ValueError(f"unknown knob {name!r}; known knobs: {', '.join(sorted(fields))}")
            checked[name] = _coerce_knob(name, value)
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """The knobs as a JSON-serializable dict (what `GET /_sim/knobs` answers)."""
        return dataclasses.asdict(self)


_BOOL_KNOBS = frozenset({"autostop", "running_duration_minus_one", "admin", "webhook_redeliver"})
_OPTIONAL_INT_KNOBS = frozenset({"quota_per_hour", "me_quota_per_hour"})
_INT_KNOBS = frozenset({"bucket_capacity", "seed", "webhook_max_attempts"})
_FLOAT_KNOBS = frozenset(
    {
        "error_rate",
        "throttle_rate",
        "latency_ms",
        "latency_jitter_ms",
        "webhook_delay_seconds",
        "webhook_retry_seconds",
        "webhook_timeout_seconds",
    }
)
_POSITIVE_KNOBS = frozenset({"webhook_max_attempts", "webhook_timeout_seconds"})
_FRACTION_KNOBS = frozenset({"error_rate", "throttle_rate"})


def _coerce_knob(name: str, value: Any) -> Any:
    """Validate one knob value from JSON; raise ValueError naming the knob and what it accepts."""
    if name in _BOOL_KNOBS:
        if not isinstance(value, bool):
            raise ValueError(f"knob {name} takes true or false, got {value!r}")
        return value
    if value is None and (name in _OPTIONAL_INT_KNOBS or name == "rate_limit"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"knob {name} takes a number, got {value!r}")
    if value < 0:
        raise ValueError(f"knob {name} must not be negative, got {value!r}")
    if name in _POSITIVE_KNOBS and value == 0:
        raise ValueError(f"knob {name} must be positive, got {value!r}")
    if name in _INT_KNOBS or name in _OPTIONAL_INT_KNOBS:
        if value != int(value):
            raise ValueError(f"knob {name} takes a whole number, got {value!r}")
        return int(value)
    if name in _FRACTION_KNOBS and value > 1:
        raise ValueError(f"knob {name} is a fraction between 0 and 1, got {value!r}")
    if name == "rate_limit" and value == 0:
        raise ValueError("knob rate_limit must be positive (use null to switch the bucket off)")
    return float(value)


class SimClock:
    """The simulator's notion of "now": real time (or a frozen start) plus an offset that `advance` grows.

    `SimClock()` follows the wall clock, so an embedded simulator behaves like the real service.
    `SimClock(start)` is frozen at `start` and moves only through `advance`, which makes duration arithmetic,
    the leaky bucket and the hourly quota fully deterministic in tests. Pass `frozen=` to override either default.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError(
                "SimClock start must be timezone-aware (UTC), e.g. datetime(2024, 1, 1, tzinfo=UTC)"
            )
        self._frozen = (start is not None) if frozen is None else frozen
        base = start.timestamp() if start is not None else time.time()
        # A following clock keeps the distance between `start` and the wall clock; a frozen one ignores the wall.
        self._anchor_wall = time.time()
        self._anchor_sim = base
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch on the sim clock (the hot path: no datetime allocation)."""
        if self._frozen:
            return self._anchor_sim + self._offset
        return self._anchor_sim + (time.time() - self._anchor_wall) + self._offset

    def now(self) -> datetime:
        """The sim clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (a negative value moves it back; tests should not need that)."""
        with self._lock:
            self._offset += float(seconds)

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still between `advance` calls."""
        return self._frozen
