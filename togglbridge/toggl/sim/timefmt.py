"""Timestamps as Toggl writes and reads them.

The state keeps whole unix seconds (ints): Toggl's precision, cheap to compare and to subtract.
Toggl v9 writes timestamps in three forms, and recorded answers show which field gets which:

- `2024-04-21T10:35:28+00:00` (`format_ts`): entries as read back (`GET /me/time_entries...`), every entry's
  `at`, and projects, clients, tags and workspaces;
- `2024-04-21T10:35:28Z` (`format_z`): an entry's `start` and `stop` in the answer to a write (create, update,
  stop), which echoes the request's form;
- `2024-07-24T09:42:55.391879Z` (`format_precise`): the user's own timestamps (`GET /me`), kept to the microsecond.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

from togglbridge.toggl.sim.errors import Invalid

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Date, 'T' (or space), time, optional fraction, then Z or an offset. fromisoformat alone would accept naive times.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})$")


@lru_cache(maxsize=65536)
def format_ts(ts: int) -> str:
    """Unix seconds -> '2024-01-02T09:00:00+00:00'. Cached: the same instants are rendered again and again."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


@lru_cache(maxsize=65536)
def format_z(ts: int) -> str:
    """Unix seconds -> '2024-01-02T09:00:00Z'."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise(ts: float) -> str:
    """Unix seconds with a fraction -> '2024-07-24T09:42:55.391879Z'."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_date(ts: int) -> str:
    """Unix seconds -> the UTC date, '2024-04-21' (a project's `start_date`)."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def format_optional(ts: int | None) -> str | None:
    """`format_ts`, passing None through (stop of a running entry, server_deleted_at of a live one)."""
    return None if ts is None else format_ts(ts)


def parse_timestamp(value: object, field: str) -> int:
    """An ISO 8601 / RFC 3339 timestamp with a time zone -> unix seconds (fraction dropped, as Toggl does)."""
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise Invalid(
            f"Invalid {field}: {value!r}; use ISO 8601 (RFC 3339) with a time zone, e.g. 2006-01-02T15:04:05Z"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise Invalid(f"Invalid {field}: {value!r} is not a valid date and time") from None
    return int(parsed.timestamp() // 1)


def parse_date_or_timestamp(value: str, field: str) -> int:
    """A query bound: 'YYYY-MM-DD' (meaning 00:00 UTC that day) or an RFC 3339 timestamp -> unix seconds."""
    if _DATE_ONLY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise Invalid(f"Invalid {field}: {value!r} is not a valid date") from None
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return parse_timestamp(value, field)
