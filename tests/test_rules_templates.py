"""Templates: the filters, the sandbox, strictness, and what a template sees."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic_core import PydanticCustomError

from togglbridge.durations import format_duration, parse_duration
from togglbridge.events import Event
from togglbridge.rules.templates import Template, TemplateError, compile_template, template_variables


def render(source: str, **variables: Any) -> str:
    return compile_template(source).render(variables)


@pytest.mark.parametrize(
    ("source", "variables", "expected"),
    [
        ("{{ m | first_line }}", {"m": "\n\n  Fix login  \nbody"}, "Fix login"),
        ("{{ m | first_line }}", {"m": ""}, ""),
        ("{{ m | truncate(10) }}", {"m": "abcdefghijkl"}, "abcdefghi…"),
        ("{{ m | truncate(12) }}", {"m": "abcdefghijkl"}, "abcdefghijkl"),
        ("{{ m | truncate(8, '...') }}", {"m": "abcdefghijkl"}, "abcde..."),
        ("{{ m | truncate }}", {"m": "x" * 100}, "x" * 79 + "…"),
        (
            "{{ m | issue_keys | join(' ') }}",
            {"m": "ABC-12, fixes #7 and ABC-12 again; not abc-1 or X-0"},
            "ABC-12 #7",
        ),
        ("{{ m | issue_keys | first | default('none') }}", {"m": "nothing here"}, "none"),
        ("{{ m | slug }}", {"m": "Café Review #2!"}, "cafe-review-2"),
        ("{{ s | duration }}", {"s": 5400}, "1h 30m"),
        ("{{ s | duration }}", {"s": "7200"}, "2h"),
        ("{{ s | duration }}", {"s": 45}, "45s"),
        ("{{ s | duration }}", {"s": 60}, "1m"),
        ("plain text", {}, "plain text"),
        ("{{ repo.name }}", {"repo": {"name": "api"}}, "api"),
        ("{{ repo['full_name'] }}", {"repo": {"full_name": "acme/api"}}, "acme/api"),
        ("{{ missing | default('x') }}", {}, "x"),
    ],
)
def test_filters_and_rendering(source: str, variables: dict[str, Any], expected: str) -> None:
    assert render(source, **variables) == expected


@pytest.mark.parametrize(
    ("source", "variables", "reason"),
    [
        ("{{ repo.name }}", {}, "'repo' is undefined"),
        ("{{ repo.nam }}", {"repo": {"name": "api"}}, "has no attribute 'nam'"),
        ("{{ s | duration }}", {"s": "soon"}, "duration needs a number of seconds"),
        ("{{ ''.__class__.__mro__ }}", {}, "__class__"),
        ("{{ m | truncate(1) }}", {"m": "abc"}, "truncate needs a length"),
        ("{{ 1 / 0 }}", {}, "ZeroDivisionError"),
    ],
)
def test_a_render_failure_is_a_template_error_that_says_why(
    source: str, variables: dict[str, Any], reason: str
) -> None:
    with pytest.raises(TemplateError, match=reason):
        render(source, **variables)


def test_the_sandbox_keeps_templates_away_from_python_internals() -> None:
    with pytest.raises(TemplateError):
        render("{{ cycler.__init__.__globals__ }}")


def test_a_template_that_does_not_parse_is_refused_when_loading() -> None:
    with pytest.raises(PydanticCustomError, match="template does not parse"):
        compile_template("{{ title ")
    with pytest.raises(PydanticCustomError, match="line 2 of the template"):
        compile_template("line one\n{{ oops( }}\n")
    with pytest.raises(PydanticCustomError, match="should be text"):
        compile_template(["a"])
    assert compile_template(2024).render({}) == "2024"


def test_plain_text_never_touches_jinja() -> None:
    assert Template("no markers here").is_constant
    assert not Template("{{ x }}").is_constant


def test_what_a_template_sees() -> None:
    event = Event(
        id="e1",
        source="ics",
        kind="calendar.started",
        occurred_at=datetime(2024, 5, 2, 7, 30, tzinfo=UTC),
        actor="alice-work",
        subject="uid|1",
        data={"title": "Standup", "event": "shadowed", "data": "shadowed too", "issue": "from data"},
    )
    variables = template_variables(event, "alice", {"issue": "from regex"})
    assert variables["title"] == "Standup"
    assert variables["data"]["event"] == "shadowed"
    assert variables["event"]["kind"] == "calendar.started"
    assert variables["event"]["subject"] == "uid|1"
    assert variables["identity"] == "alice"
    assert variables["issue"] == "from regex"
    assert render("{{ event.occurred_at.strftime('%H:%M') }}", **variables) == "07:30"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1.5h", 5400),
        ("1d", 86400),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(seconds) == seconds
    assert parse_duration(str(seconds)) == seconds


@pytest.mark.parametrize("bad", ["soon", "", "h", "1x", True, None, [1]])
def test_durations_that_are_not(bad: Any) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


def test_duration_formatting() -> None:
    assert [format_duration(s) for s in (0, 59, 60, 3600, 3660, 90061, -120)] == [
        "0s",
        "59s",
        "1m",
        "1h",
        "1h 1m",
        "25h 1m",
        "-2m",
    ]
