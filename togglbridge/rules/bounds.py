"""What ``gt`` and ``lt`` compare against, as written in the file (a number, a duration, a time of day or a
date-time), and how to read an event's value in the same terms."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any, ClassVar

from togglbridge.durations import looks_like_duration, parse_duration
from togglbridge.rules.values import as_local_datetime, as_number


class Bound(ABC):
    """What gt/lt compare against, and how to read an event's value in the same terms."""

    kind: ClassVar[str]

    @abstractmethod
    def measure(self, value: Any, zone: tzinfo) -> float | None: ...

    @abstractmethod
    def limit(self, zone: tzinfo) -> float: ...


@dataclass(frozen=True)
class _NumberBound(Bound):
    number: float
    kind: ClassVar[str] = "a number"

    def measure(self, value: Any, zone: tzinfo) -> float | None:
        return as_number(value)

    def limit(self, zone: tzinfo) -> float:
        return self.number


@dataclass(frozen=True)
class _DurationBound(Bound):
    seconds: int
    kind: ClassVar[str] = "a duration (seconds, or text like 2h)"

    def measure(self, value: Any, zone: tzinfo) -> float | None:
        number = as_number(value)
        if number is not None:
            return number
        try:
            return float(parse_duration(value))
        except ValueError:
            return None

    def limit(self, zone: tzinfo) -> float:
        return float(self.seconds)


@dataclass(frozen=True)
class _TimeOfDayBound(Bound):
    at: time
    kind: ClassVar[str] = "a date-time (its time of day is compared)"

    def measure(self, value: Any, zone: tzinfo) -> float | None:
        local = as_local_datetime(value, zone)
        return None if local is None else _seconds_of_day(local.time())

    def limit(self, zone: tzinfo) -> float:
        return _seconds_of_day(self.at)


@dataclass(frozen=True)
class _DateTimeBound(Bound):
    at: datetime  # naive when written without an offset: then it is in the test's zone
    kind: ClassVar[str] = "a date-time"

    def measure(self, value: Any, zone: tzinfo) -> float | None:
        local = as_local_datetime(value, zone)
        return None if local is None else local.timestamp()

    def limit(self, zone: tzinfo) -> float:
        at = self.at.replace(tzinfo=zone) if self.at.tzinfo is None else self.at
        return at.timestamp()


def _seconds_of_day(value: time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


_TIME_OF_DAY = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")


def parse_bound(name: str, expected: Any) -> Bound:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return _NumberBound(float(expected))
    if isinstance(expected, str):
        if as_number(expected) is not None:
            return _NumberBound(float(expected))
        if looks_like_duration(expected):
            return _DurationBound(parse_duration(expected))
        clock = _TIME_OF_DAY.match(expected)
        if clock:
            return _TimeOfDayBound(time(int(clock[1]), int(clock[2]), int(clock[3] or 0)))
        try:
            moment = datetime.fromisoformat(expected.strip())
        except ValueError:
            pass
        else:
            return _DateTimeBound(moment)
    raise ValueError(
        f"{name} compares with a number (42), a duration (90s, 30m, 2h), a time of day (18:00) "
        f"or a date-time (2024-05-01T09:00:00Z); got {expected!r}"
    )
