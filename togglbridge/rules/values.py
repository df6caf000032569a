"""An event's value as a rule writer means it: text, a number, a local date-time, equality, a timezone's name.

Reading never raises: a value of the wrong kind reads as None (and so passes no test).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:6])
        return f"a mapping (keys: {keys}); name one of its keys in the path" if keys else "an empty mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


def as_text(value: Any) -> str | None:
    """Text to match a pattern against: text itself, a number or a time written out; nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_local_datetime(value: Any, zone: tzinfo) -> datetime | None:
    """A datetime or ISO 8601 text, in ``zone``; a time without an offset is taken to be in ``zone``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    try:
        local = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
        local.astimezone(UTC)  # years 1 and 9999 can fall off the calendar when shifted
    except OverflowError:
        return None
    return local


def values_equal(actual: Any, expected: Any) -> bool:
    """Equality as a rule writer means it: true is not 1, but 42 equals "42" (YAML and JSON disagree on quotes)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, str) and isinstance(expected, int | float):
        return as_number(actual) == expected
    if isinstance(expected, str) and isinstance(actual, int | float):
        return as_number(expected) == actual
    if isinstance(actual, datetime) and isinstance(expected, str):
        parsed = as_local_datetime(expected, actual.tzinfo or ZoneInfo("UTC"))
        return parsed is not None and parsed == actual
    return bool(actual == expected)


def parse_timezone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"timezone takes a name like Europe/Berlin or UTC; got {name!r}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{name}': use an IANA name like Europe/Berlin or UTC") from None
