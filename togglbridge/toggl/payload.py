"""How arguments become Toggl's request fields: UTC timestamps, dates, and keywords left out when not given."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final


class Unset:
    """Marks a keyword that was not given, so that ``None`` can mean "clear this field"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


def iso(value: datetime) -> str:
    """Toggl wants UTC timestamps like ``2006-01-02T15:04:05Z``."""
    if value.tzinfo is None:
        raise ValueError("timestamps sent to Toggl must be timezone-aware")
    # isoformat pads the year to four digits where strftime("%Y") would not (years before 1000).
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def date_param(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def unix(value: datetime | int) -> int:
    return value if isinstance(value, int) else int(value.timestamp())


def given_fields(**candidates: object) -> dict[str, object]:
    """The keywords that were given (``UNSET`` dropped), with datetimes as Toggl's UTC strings."""
    return {
        name: iso(value) if isinstance(value, datetime) else value
        for name, value in candidates.items()
        if not isinstance(value, Unset)
    }
