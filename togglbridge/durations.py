"""Durations as people write them in a rule file ("2h", "30m", "1h30m", "90s", "1.5h") and as they read them."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[dhms]\s*)+$", re.IGNORECASE)

DURATION_HELP = "a duration like 90s, 30m, 2h, 1h30m or 1.5h, or a number of seconds"


def looks_like_duration(text: str) -> bool:
    return bool(_WHOLE.match(text))


def parse_duration(value: object) -> int:
    """Seconds in ``value``: a whole number of seconds, or text like "1h30m". Raises ValueError saying what is
    expected."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if _WHOLE.match(text):
            return round(sum(float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _PART.findall(text)))
    raise ValueError(f"expected {DURATION_HELP}, got {value!r}")


def hours_minutes(seconds: float) -> str:
    """Time tracked, as chat answers show it: ``3900`` -> "1h 05m", ``1200`` -> "20m" (whole minutes)."""
    hours, minutes = divmod(max(0, int(seconds)) // 60, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def format_duration(seconds: float) -> str:
    """``5400`` -> "1h 30m"; under a minute, seconds: "45s"; whole hours: "2h"."""
    total = round(seconds)
    sign, total = ("-", -total) if total < 0 else ("", total)
    if total < 60:
        return f"{sign}{total}s"
    hours, rest = divmod(total, 3_600)
    minutes = rest // 60
    parts = [f"{hours}h"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes}m")
    return sign + " ".join(parts)


def _positive_duration(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


Duration = Annotated[
    int,
    PlainValidator(_positive_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "exclusiveMinimum": 0, "description": "seconds"},
                {"type": "string", "pattern": _WHOLE.pattern, "examples": ["30m", "2h", "1h30m"]},
            ]
        }
    ),
]
"""A positive duration in a config model: written as seconds or "2h", held as seconds."""
