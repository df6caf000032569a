"""The operators of a field test (``{title: {regex: ...}}``): each is compiled once when the file loads, so a bad
pattern or a wrong kind of value fails then, and tested against an event's value when a rule runs.

Testing never raises: a value of the wrong kind simply does not pass, and the outcome's note says why.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import tzinfo
from fnmatch import fnmatchcase
from typing import Any, ClassVar

from togglbridge.rules.bounds import parse_bound
from togglbridge.rules.paths import MISSING
from togglbridge.rules.values import as_local_datetime, as_text, kind_of, values_equal

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_OPERATORS = frozenset({"weekdays", "between", "gt", "lt"})  # the ones a `timezone:` beside them affects


@dataclass(frozen=True)
class Outcome:
    ok: bool
    note: str | None = None
    groups: dict[str, str] = field(default_factory=dict)


def _missing() -> Outcome:
    return Outcome(False, "the field is missing")


class Operator(ABC):
    """One comparison; ``expected`` is the value as written in the file, shown in explanations."""

    name: ClassVar[str]

    def __init__(self, expected: Any) -> None:
        self.expected = expected

    @abstractmethod
    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        """Whether ``actual`` (or MISSING) passes; ``zone`` is the timezone for times written without one."""


class Eq(Operator):
    name = "eq"

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        return Outcome(values_equal(actual, self.expected))


class Ne(Operator):
    name = "ne"

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return Outcome(True, "the field is missing")
        return Outcome(not values_equal(actual, self.expected))


class In(Operator):
    name = "in"

    def __init__(self, expected: Any) -> None:
        if not isinstance(expected, list) or not expected:
            raise ValueError(f"in takes a list of values, like [main, develop]; got {expected!r}")
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        return Outcome(any(values_equal(actual, choice) for choice in self.expected))


class Glob(Operator):
    """Shell-style patterns (``*``, ``?``, ``[abc]``), case-sensitive, over the whole value; a list is "any of"."""

    name = "glob"

    def __init__(self, expected: Any) -> None:
        patterns = expected if isinstance(expected, list) else [expected]
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"glob takes a pattern like 'acme/*', or a list of them; got {expected!r}")
        for pattern in patterns:
            check_glob(pattern)
        super().__init__(expected)
        self.patterns: tuple[str, ...] = tuple(patterns)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        text = as_text(actual)
        if text is None:
            return Outcome(False, f"the value is {kind_of(actual)}, not text")
        return Outcome(any(fnmatchcase(text, pattern) for pattern in self.patterns))


def check_glob(pattern: str) -> None:
    """Raise ValueError for a glob that cannot mean what its writer meant (fnmatch itself accepts anything)."""
    if pattern == "":
        raise ValueError("an empty glob matches only empty text; write '*' to match anything")
    index = 0
    while index < len(pattern):
        if pattern[index] != "[":
            index += 1
            continue
        # As fnmatch reads a set: "[!" negates, and a "]" right after "[" or "[!" is a literal.
        inner = index + 1
        inner += pattern[inner : inner + 1] == "!"
        inner += pattern[inner : inner + 1] == "]"
        close = pattern.find("]", inner)
        if close < 0:
            raise ValueError(f"glob '{pattern}' has a '[' that is never closed; write [[] for a literal '['")
        index = close + 1


class Regex(Operator):
    """Python regular expression, searched anywhere in the text; named groups become template variables."""

    name = "regex"

    def __init__(self, expected: Any) -> None:
        if not isinstance(expected, str):
            raise ValueError(f"regex takes a pattern (text); got {expected!r}")
        try:
            self.pattern = re.compile(expected)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            raise ValueError(f"bad regex '{expected}': {exc.msg}{where}") from None
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        text = as_text(actual)
        if text is None:
            return Outcome(False, f"the value is {kind_of(actual)}, not text")
        match = self.pattern.search(text)
        if match is None:
            return Outcome(False)
        groups = {name: value for name, value in match.groupdict().items() if value is not None}
        return Outcome(True, groups=groups)


class Contains(Operator):
    """Text contains text; a list contains an item; a mapping contains a key."""

    name = "contains"

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        if isinstance(actual, str):
            needle = as_text(self.expected)
            return Outcome(needle is not None and needle in actual)
        if isinstance(actual, list):
            return Outcome(any(values_equal(item, self.expected) for item in actual))
        if isinstance(actual, dict):
            return Outcome(isinstance(self.expected, str) and self.expected in actual)
        return Outcome(False, f"the value is {kind_of(actual)}; contains needs text, a list or a mapping")


class Exists(Operator):
    """``exists: true``: the field is there and not null; ``exists: false``: it is absent or null."""

    name = "exists"

    def __init__(self, expected: Any) -> None:
        if not isinstance(expected, bool):
            raise ValueError(f"exists takes true or false; got {expected!r}")
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        present = actual is not MISSING and actual is not None
        return Outcome(present == self.expected)


class _Comparison(Operator):
    def __init__(self, expected: Any) -> None:
        self.bound = parse_bound(self.name, expected)
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        measured = self.bound.measure(actual, zone)
        if measured is None:
            return Outcome(False, f"the value is not {self.bound.kind}")
        return Outcome(self.holds(measured, self.bound.limit(zone)))

    @abstractmethod
    def holds(self, measured: float, limit: float) -> bool: ...


class Gt(_Comparison):
    name = "gt"

    def holds(self, measured: float, limit: float) -> bool:
        return measured > limit


class Lt(_Comparison):
    name = "lt"

    def holds(self, measured: float, limit: float) -> bool:
        return measured < limit


class Weekdays(Operator):
    """The value's day of the week, in the timezone, is one of these: ``[mon, tue]`` or ranges like ``mon-fri``."""

    name = "weekdays"

    def __init__(self, expected: Any) -> None:
        items = expected if isinstance(expected, list) else [expected]
        if not items or not all(isinstance(item, str) for item in items):
            raise ValueError(f"weekdays takes day names like [mon, tue, wed] or mon-fri; got {expected!r}")
        self.days = frozenset(day for item in items for day in _days(item))
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        local = as_local_datetime(actual, zone)
        if local is None:
            return Outcome(False, "the value is not a date-time")
        return Outcome(local.weekday() in self.days, f"it is a {WEEKDAYS[local.weekday()]} in {zone}")


def _day(name: str) -> int:
    short = name.strip().lower()[:3]
    if short not in WEEKDAYS or len(name.strip()) < 3:
        raise ValueError(f"'{name}' is not a day; write mon, tue, wed, thu, fri, sat or sun")
    return WEEKDAYS.index(short)


def _days(item: str) -> list[int]:
    first, dash, last = item.partition("-")
    if not dash:
        return [_day(item)]
    start, end = _day(first), _day(last)
    span = (end - start) % 7
    return [(start + offset) % 7 for offset in range(span + 1)]


class Between(Operator):
    """The value's time of day, in the timezone, is in ``"09:00-18:00"`` (start included, end not); a window
    like ``"22:00-06:00"`` runs over midnight."""

    name = "between"
    _WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

    def __init__(self, expected: Any) -> None:
        window = self._WINDOW.match(expected) if isinstance(expected, str) else None
        if window is None:
            raise ValueError(f'between takes a window like "09:00-18:00"; got {expected!r}')
        self.start = _minutes(int(window[1]), int(window[2]), expected)
        self.end = _minutes(int(window[3]), int(window[4]), expected)
        if self.start == self.end:
            raise ValueError(f"the window {expected!r} is empty: its start and end are the same")
        super().__init__(expected)

    def test(self, actual: Any, zone: tzinfo) -> Outcome:
        if actual is MISSING:
            return _missing()
        local = as_local_datetime(actual, zone)
        if local is None:
            return Outcome(False, "the value is not a date-time")
        minute = local.hour * 60 + local.minute
        inside = (
            self.start <= minute < self.end if self.start < self.end else not self.end <= minute < self.start
        )
        return Outcome(inside, f"it is {local:%H:%M} in {zone}")


def _minutes(hours: int, minutes: int, window: str) -> int:
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{window!r} has a time that does not exist; times run from 00:00 to 24:00")
    return hours * 60 + minutes


OPERATORS: dict[str, type[Operator]] = {
    op.name: op for op in (Eq, Ne, In, Glob, Regex, Contains, Exists, Gt, Lt, Weekdays, Between)
}


def compile_operator(name: str, expected: Any) -> Operator:
    """The operator ``name`` with its expected value checked; raises ValueError saying what is wrong."""
    return OPERATORS[name](expected)
