"""The explanation as tables: every kind of action, every verdict, and event text that must not become markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from textwrap import dedent

from rich.console import Console

from togglbridge.cli.plan_view import check_line, render_plan
from togglbridge.config import parse_config
from togglbridge.events import Event
from togglbridge.rules.planner import plan

CONFIG = parse_config(
    dedent(
        """
        identities:
          me: {}
        rules:
          - name: "[bold]every action[/bold]"
            on: [calendar.*, meeting.*]  # meeting.*: generic kinds, whose fields are not checked when loading
            if: {title: {not: {regex: lunch}}, n: {gt: 1}}
            do:
              - start: {description: "{{ title }}", project: 7, task_id: 8, tags: [a], billable: true, workspace_id: 9}
              - stop: {only: same_description, description: "{{ title }}"}
              - log: {duration: 90m}
              - log: {duration: {estimate: session}}
              - tag: {tags: [t]}
              - untag: {tags: [u], target: subject}
              - update: {description: renamed, billable: false}
              - log: {duration: "{{ missing }}"}
          - name: no match
            on: calendar.*
            if: {title: nope}
          - name: disabled
            on: "*"
            enabled: false
          - name: other kinds
            on: git.*
        """
    )
)
EVENT = Event(
    id="e1",
    source="ics",
    kind="calendar.started",
    occurred_at=datetime(2024, 5, 2, 7, 30, tzinfo=UTC),
    actor="me",
    subject="uid|1",
    data={"title": "[red]Standup[/red]\x1b[31m", "n": 2},
)


def rendered() -> str:
    output = io.StringIO()
    render_plan(plan(EVENT, CONFIG), Console(file=output, width=200, color_system=None))
    return output.getvalue()


def test_every_action_and_verdict_is_shown() -> None:
    text = rendered()
    for expected in [
        "Event calendar.started from ics",
        "Identity me",
        "[bold]every action[/bold]",  # a rule name is text, not markup
        "matched, 7 actions",
        "no match",
        "disabled (enabled: false)",
        "other kinds",
        "on: does not take calendar.started",
        "project: 7",
        "task_id: 8",
        "billable: true",
        "only: same_description '[red]Standup[/red]\\x1b[31m'",  # repr: escapes stay visible
        "duration: 1h 30m",
        "session estimate (gap up to 2h, else 30m)",
        "tags: t",
        "target: subject",
        "description: 'renamed'",
        "error: rule '[bold]every action[/bold]': do[7] (log): duration: 'missing' is undefined",
        "e1|[bold]every action[/bold]|0",
    ]:
        assert expected in text, expected
    assert "\x1b" not in text


def test_a_check_line_shows_both_sides_and_why() -> None:
    result = plan(EVENT, CONFIG)
    negated, compared = result.rules[0].checks
    assert check_line(negated).plain == "✓ title not regex 'lunch': got '[red]Standup[/red]\\x1b[31m'"
    assert check_line(compared).plain == "✓ n gt 1: got 2"
    (missing,) = result.rules[1].checks
    assert check_line(missing).plain.startswith("✗ title eq 'nope'")
