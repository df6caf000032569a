"""Conditions: every operator, the combinators, time windows, and what an evaluation records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from togglbridge.events import Event
from togglbridge.rules.conditions import ConditionCheck, Scope, compile_condition

THURSDAY_0742_UTC = datetime(2024, 5, 2, 7, 42, tzinfo=UTC)  # 09:42 in Berlin
DATA: dict[str, Any] = {
    "title": "Daily Stand-up",
    "branch": "main",
    "repo": {"full_name": "acme/api", "name": "api"},
    "my_status": "accepted",
    "added": 3,
    "pr": "42",
    "draft": False,
    "labels": ["bug", "urgent"],
    "duration_seconds": 5400,
    "start": "2024-05-02T18:30:00+02:00",
    "commits": [{"message": "first"}, {"message": "second"}],
    "nothing": None,
    "kind": "data's own kind",
}


def evaluate(
    raw: Any, *, zone: str = "UTC", **event_fields: Any
) -> tuple[bool, list[ConditionCheck], dict[str, str]]:
    fields: dict[str, Any] = {
        "id": "e1",
        "source": "github",
        "kind": "git.commit",
        "occurred_at": THURSDAY_0742_UTC,
        "actor": "alice@acme.io",
        "data": DATA,
    }
    scope = Scope(event=Event.model_validate(fields | event_fields), zone=ZoneInfo(zone))
    result = compile_condition(raw).evaluate(scope)
    return result, scope.checks, scope.groups


def holds(raw: Any, **event_fields: Any) -> bool:
    return evaluate(raw, **event_fields)[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # eq: a bare value; numbers and their text are equal, booleans are only booleans
        ({"branch": "main"}, True),
        ({"branch": {"eq": "main"}}, True),
        ({"branch": "Main"}, False),
        ({"pr": 42}, True),
        ({"added": "3"}, True),
        ({"draft": False}, True),
        ({"draft": 0}, False),
        ({"nothing": None}, True),
        ({"repo": {"eq": {"full_name": "acme/api", "name": "api"}}}, True),
        ({"missing": "x"}, False),
        # ne: a missing field is not equal to anything
        ({"branch": {"ne": "develop"}}, True),
        ({"branch": {"ne": "main"}}, False),
        ({"missing": {"ne": "x"}}, True),
        # in: a bare list, or the operator
        ({"branch": ["main", "develop"]}, True),
        ({"branch": {"in": ["develop", "release"]}}, False),
        ({"added": {"in": [1, 2, 3]}}, True),
        # glob: whole value, case-sensitive; a list of patterns is any of them
        ({"repo.full_name": {"glob": "acme/*"}}, True),
        ({"repo.full_name": {"glob": "ACME/*"}}, False),
        ({"repo.full_name": {"glob": ["other/*", "*/api"]}}, True),
        ({"repo.full_name": {"glob": "acme/[ab]pi"}}, True),
        ({"repo": {"glob": "acme/*"}}, False),  # a mapping is not text
        # regex: searched anywhere
        ({"title": {"regex": "(?i)stand-?up"}}, True),
        ({"title": {"regex": "^stand"}}, False),
        ({"added": {"regex": "^3$"}}, True),
        # contains: text in text, item in list, key in mapping
        ({"title": {"contains": "Stand"}}, True),
        ({"labels": {"contains": "bug"}}, True),
        ({"labels": {"contains": "feature"}}, False),
        ({"repo": {"contains": "full_name"}}, True),
        ({"added": {"contains": 3}}, False),
        # exists: there and not null
        ({"branch": {"exists": True}}, True),
        ({"nothing": {"exists": True}}, False),
        ({"missing": {"exists": False}}, True),
        ({"commits.1.message": {"exists": True}}, True),
        ({"commits.2.message": {"exists": True}}, False),
        # gt / lt: numbers, numeric text, durations, times of day, date-times
        ({"added": {"gt": 2}}, True),
        ({"added": {"lt": 3}}, False),
        ({"pr": {"gt": 41.5}}, True),
        ({"duration_seconds": {"gt": "1h"}}, True),
        ({"duration_seconds": {"lt": "1h30m"}}, False),
        ({"start": {"gt": "18:00"}}, False),  # 18:30+02:00 is 16:30 UTC, the zone of this evaluation
        ({"start": {"gt": "16:00"}}, True),
        ({"start": {"gt": "18:00", "timezone": "Europe/Berlin"}}, True),
        ({"occurred_at": {"lt": "2024-05-02T08:00:00Z"}}, True),
        ({"occurred_at": {"gt": "2024-05-02"}}, True),
        ({"title": {"gt": 1}}, False),  # not a number: fails, with a note
        # not, at field level and around conditions
        ({"my_status": {"not": "declined"}}, True),
        ({"my_status": {"not": ["accepted", "tentative"]}}, False),
        ({"title": {"not": {"regex": "(?i)lunch"}}}, True),
        ({"added": {"not": {"gt": 1, "lt": 5}}}, False),  # not (1 < 3 < 5)
        ({"added": {"not": {"gt": 5, "lt": 9}}}, True),
        ({"not": {"branch": "main"}}, False),
        ({"my_status": {"not": {"not": "accepted"}}}, True),
        # combinators; a mapping with several keys and a list both mean all
        ({"branch": "main", "added": {"gt": 5}}, False),
        ([{"branch": "main"}, {"added": {"gt": 1}}], True),
        ({"all": [{"branch": "main"}, {"added": 3}]}, True),
        ({"any": [{"branch": "develop"}, {"added": 3}]}, True),
        ({"any": [{"branch": "develop"}, {"added": 4}]}, False),
        (
            {"all": [{"any": [{"branch": "x"}, {"title": {"regex": "Stand"}}]}, {"not": {"draft": True}}]},
            True,
        ),
        # the event's own fields, and a data field that shares a name with one
        ({"kind": "git.commit"}, True),
        ({"event.kind": "git.commit"}, True),
        ({"data.kind": "data's own kind"}, True),
        ({"actor": {"glob": "*@acme.io"}}, True),
        ({"source": "github"}, True),
        ({"subject": None}, True),
    ],
)
def test_operators(raw: Any, expected: bool) -> None:
    assert holds(raw) is expected


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"weekdays": ["mon", "tue", "wed", "thu", "fri"]}, True),
        ({"weekdays": "mon-fri"}, True),
        ({"weekdays": ["fri-mon"]}, False),  # a range may wrap round the week: fri, sat, sun, mon
        ({"weekdays": ["Thursday"]}, True),
        ({"between": "09:00-18:00"}, True),  # 09:42 in Berlin
        ({"between": "09:00-09:42"}, False),  # the end is not included
        ({"between": "09:42-10:00"}, True),  # the start is
        ({"between": "22:00-10:00"}, True),  # over midnight
        ({"between": "10:00-22:00"}, False),
        ({"between": "09:00-18:00", "timezone": "UTC"}, False),  # 07:42 in UTC
        ({"weekdays": "mon-fri", "between": "00:00-24:00"}, True),
    ],
)
def test_time_windows_read_the_event_time_in_the_files_timezone(
    window: dict[str, Any], expected: bool
) -> None:
    assert evaluate({"when": window}, zone="Europe/Berlin")[0] is expected
    assert evaluate({"occurred_at": window}, zone="Europe/Berlin")[0] is expected


def test_a_weekday_window_follows_the_local_date() -> None:
    sunday_late_utc = datetime(2024, 5, 5, 23, 30, tzinfo=UTC)  # already Monday in Berlin
    assert holds({"when": {"weekdays": "mon"}}, occurred_at=sunday_late_utc) is False
    assert (
        evaluate({"when": {"weekdays": "mon"}}, zone="Europe/Berlin", occurred_at=sunday_late_utc)[0] is True
    )


def test_regex_named_groups_become_variables_only_when_they_match() -> None:
    result, _, groups = evaluate(
        {
            "title": {"regex": r"(?P<kind>Daily) (?P<what>\w+)"},
            "branch": {"regex": r"(?P<unused>release)?"},
        }
    )
    assert result
    assert groups == {"kind": "Daily", "what": "Stand"}
    _, _, groups = evaluate(
        {"any": [{"title": {"regex": "(?P<x>nope)"}}, {"branch": {"regex": "(?P<y>main)"}}]}
    )
    assert groups == {"y": "main"}
    _, _, groups = evaluate({"title": {"not": {"regex": "(?P<z>Daily)"}}})
    assert groups == {}


def test_every_comparison_is_recorded_with_both_sides() -> None:
    result, checks, _ = evaluate(
        {"all": [{"branch": "develop"}, {"my_status": {"not": "accepted"}}, {"added": 3}]}
    )
    assert not result
    assert [(c.at, c.path, c.op, c.expected, c.actual, c.ok, c.negate) for c in checks] == [
        ("if.all[0].branch", "branch", "eq", "develop", "main", False, False),
        ("if.all[1].my_status.not", "my_status", "eq", "accepted", "accepted", False, True),
        ("if.all[2].added", "added", "eq", 3, 3, True, False),
    ]


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        ({"missing": "x"}, "the field is missing"),
        ({"repo": {"regex": "acme"}}, "a mapping (keys: full_name, name); name one of its keys in the path"),
        ({"labels": {"glob": "*"}}, "the value is a list, not text"),
        ({"title": {"gt": "1h"}}, "not a duration"),
        ({"title": {"between": "09:00-17:00"}}, "not a date-time"),
        ({"when": {"between": "09:00-17:00"}}, "it is 07:42 in UTC"),
    ],
)
def test_a_check_that_fails_says_why(raw: Any, note: str) -> None:
    _, checks, _ = evaluate(raw)
    assert note in (checks[0].note or "")


def test_long_values_are_shortened_in_checks() -> None:
    _, checks, _ = evaluate({"message": {"regex": "x"}}, data={"message": "y" * 5000})
    assert isinstance(checks[0].actual, str)
    assert len(checks[0].actual) == 200
    assert checks[0].actual.endswith("…")


def test_a_compiled_condition_serializes_back_to_what_was_written() -> None:
    from pydantic import TypeAdapter

    from togglbridge.rules.conditions import Condition

    raw = {"all": [{"title": {"regex": "x"}}, {"my_status": {"not": "declined"}}]}
    adapter: TypeAdapter[Condition] = TypeAdapter(Condition)
    assert adapter.dump_python(adapter.validate_python(raw)) == raw


def test_every_problem_in_a_condition_is_reported_at_its_place() -> None:
    with pytest.raises(ValidationError) as caught:
        compile_condition(
            {
                "all": [
                    {"title": {"regex": "("}},
                    {"branch": {"glob": "[x"}},
                    {"n": {"gt": "soon"}},
                    "text",
                ],
                "when": {"weekday": ["mon"]},
            }
        )
    locations = [error["loc"] for error in caught.value.errors()]
    assert locations == [
        ("all", 0, "title", "regex"),
        ("all", 1, "branch", "glob"),
        ("all", 2, "n", "gt"),
        ("all", 3),
        ("when", "weekday"),
    ]
