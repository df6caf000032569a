"""Properties of the planner over any event: it never raises, it is deterministic, its plan survives JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from togglbridge.config import Config, load_config, parse_config
from togglbridge.events import Event, known_kinds
from togglbridge.rules.planner import Plan, plan

EXAMPLE = load_config(Path(__file__).resolve().parent.parent / "examples" / "togglbridge.yaml")

# Every operator, every action and templates that reach into the data, so that odd data meets all of them.
EVERYTHING = parse_config(
    dedent(
        """
        defaults: {timezone: America/St_Johns, billable: true}
        identities:
          alice: {emails: [alice@acme.io], slack: [U1], github: [alice-gh]}
          bob: {aliases: [bob]}
        calendars:
          - {name: work, identity: alice, url_env: WORK_ICS}
        rules:
          - name: every operator
            on: "*"
            if:
              any:
                - {title: {eq: x}, n: {ne: 1}, branch: [main, dev], repo.full_name: {glob: ["a/*", "?"]}}
                - {message: {regex: '(?P<issue>[A-Z]+-\\d+)|(?P<pr>#\\d+)'}}
                - {labels: {contains: bug}, data.x.y.0: {exists: true}, n: {gt: 1, lt: "2h"}}
                - {start: {gt: "09:00", lt: "2030-01-01T00:00:00Z", timezone: Asia/Kolkata}}
                - {when: {weekdays: [sat-mon], between: "22:00-02:00"}}
                - {not: {all: [{kind: {glob: "git.*"}}, {my_status: {not: [declined, tentative]}}]}}
            do:
              - start:
                  description: "{{ title | first_line | truncate(20) }} {{ message | issue_keys | join(',') }}"
                  project: "{{ repo.name | slug }}"
                  tags: ["{{ issue }}", "{{ n | duration }}", fixed]
                  start: "{{ start }}"
              - stop: {only: same_description, description: "{{ title }}", stop: "{{ end }}"}
              - stop: {only: started_by_this_event}
              - log: {duration: "{{ seconds }}", description: "{{ data | tojson }}"}
              - log: {start: "{{ start }}", end: "{{ end }}", project: 12}
              - log: {duration: {estimate: session}}
              - tag: {tags: ["{{ pr }}", "{{ event.kind }}"], target: subject}
              - untag: {tags: ["{{ identity }}"]}
              - update: {target: subject, description: "{{ event.actor }}", start: "{{ start }}", stop: "{{ end }}"}
          - name: stopper
            on: [chat.*, "*.started"]
            if: {verb: start, channel_name: {glob: "client-*"}}
            stop: true
            do:
              - start: {description: "{{ description }}", project: "{{ project or 'x' }}"}
        """
    )
)

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["main", "declined", "start", "stop", "status", "client-x", "ABC-12", "2h", "09:30"])
    | st.sampled_from(
        ["2024-05-02T09:00:00Z", "2024-05-02T10:00:00+02:00", "0001-01-01T00:00:00", "9999-12-31"]
    )
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
KEYS = st.sampled_from(
    [
        "title", "message", "branch", "repo", "n", "labels", "x", "start", "end", "seconds", "my_status", "verb",
        "text", "description", "project", "tags", "billable", "channel_name", "calendar", "author", "data", "event",
        "issue", "pr", "identity",
    ]
) | st.text(max_size=12)  # fmt: skip
EVENTS = st.builds(
    Event,
    id=st.text(min_size=1, max_size=40),
    source=st.sampled_from(["github", "gitlab", "gitea", "slack", "mattermost", "discord", "ics", "generic"])
    | st.text(min_size=1, max_size=10),
    kind=st.sampled_from(known_kinds()) | st.text(min_size=1, max_size=20),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    actor=st.sampled_from(["alice@acme.io", "U1", "alice-gh", "bob", "work", "alice-work", ""])
    | st.text(max_size=20),
    data=st.dictionaries(KEYS, JSON, max_size=10),
    subject=st.none() | st.text(max_size=20),
)


def check_plan(event: Event, config: Config) -> Plan:
    first = plan(event, config)
    again = plan(event, config)
    assert first.model_dump(mode="json") == again.model_dump(mode="json")
    assert Plan.model_validate_json(first.model_dump_json()) == first
    assert not any("internal error" in error for error in first.errors), first.errors
    for action in first.actions:
        assert action.key.startswith(f"{event.id}|{action.rule}|")
        assert action.identity == first.identity
    return first


def at_the_edge_of_time(when: datetime) -> Event:
    data = {"start": "0001-01-01T00:00:00", "end": "9999-12-31T23:59:59-05:00", "title": "x", "seconds": "1h"}
    return Event(id="e", source="slack", kind="chat.command", occurred_at=when, actor="U1", data=data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(EVENTS)
@example(at_the_edge_of_time(datetime.min.replace(tzinfo=UTC)))
@example(at_the_edge_of_time(datetime.max.replace(tzinfo=UTC)))
def test_any_event_plans_deterministically_against_a_file_using_everything(event: Event) -> None:
    check_plan(event, EVERYTHING)


@settings(max_examples=150, deadline=None)
@given(EVENTS)
def test_any_event_plans_deterministically_against_the_example(event: Event) -> None:
    check_plan(event, EXAMPLE)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(KEYS, JSON, max_size=10),
    st.sampled_from(["chat.command", "calendar.started", "git.commit"]),
)
def test_every_rule_matches_some_events_without_raising(data: dict[str, Any], kind: str) -> None:
    """With a matching actor and kind, most rules get past `on`, so conditions and templates really run."""
    event = Event(
        id="e", source="slack", kind=kind, occurred_at="2024-05-04T23:30:00Z", actor="U1", data=data
    )
    result = check_plan(event, EVERYTHING)
    assert result.identity == "alice"
