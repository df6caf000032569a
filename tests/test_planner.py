"""The planner: every action, rule evaluation order, identities, chat-ops, and errors that stay on their action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent
from typing import Any

import pytest

from togglbridge.actions import LogAction, StartAction, StopAction, TagAction, UntagAction, UpdateAction
from togglbridge.config import Config, parse_config
from togglbridge.events import Event
from togglbridge.rules.identities import resolve_identity
from togglbridge.rules.planner import Plan, plan

WHEN = datetime(2024, 5, 2, 7, 30, tzinfo=UTC)  # a Thursday, 09:30 in Berlin

IDENTITIES = """
defaults: {workspace_id: 1, timezone: Europe/Berlin}
identities:
  alice:
    emails: [alice@acme.io]
    github: [alice-gh]
    slack: [U1]
    aliases: [build-bot-alice]
  bob:
    workspace_id: 2
    emails: [bob@acme.io]
    gitlab: [bob]
    mattermost: [m-bob]
calendars:
  - {name: alice-work, identity: alice, url_env: ALICE_ICS}
"""


def config(rules: str, head: str = IDENTITIES) -> Config:
    return parse_config(dedent(head) + "rules: " + dedent(rules))


def event(
    kind: str = "git.commit", *, actor: str = "alice@acme.io", source: str = "github", **fields: Any
) -> Event:
    values: dict[str, Any] = {
        "id": f"e-{kind}",
        "source": source,
        "kind": kind,
        "occurred_at": WHEN,
        "actor": actor,
        "data": {},
    }
    return Event.model_validate(values | fields)


def only_action(result: Plan) -> Any:
    assert result.errors == []
    assert len(result.actions) == 1, result.actions
    return result.actions[0]


def test_start_renders_its_fields_and_fills_defaults() -> None:
    rules = """
    - name: meetings
      on: calendar.started
      if: {title: {regex: '(?P<client>ACME|Globex) review'}}
      do:
        - start: {description: "{{ client }}: {{ title }}", project: "{{ client | title }}", tags: [meeting, "{{ client }}", ""], billable: true}
    """
    calendar_event = event(
        "calendar.started",
        actor="alice-work",
        source="ics",
        subject="uid|1",
        data={"title": "ACME review", "calendar": "alice-work"},
    )
    action = only_action(plan(calendar_event, config(rules)))
    assert isinstance(action, StartAction)
    assert (action.description, action.project, action.tags, action.billable) == (
        "ACME: ACME review",
        "Acme",
        ["meeting", "ACME"],
        True,
    )
    assert (action.identity, action.workspace_id, action.start, action.subject) == ("alice", 1, WHEN, "uid|1")
    assert action.priority == "urgent"
    assert action.key == "e-calendar.started|meetings|0"


def test_a_project_id_stays_an_id_and_a_name_a_name() -> None:
    rules = """
    - name: r
      on: git.commit
      do:
        - start: {project: 123}
        - start: {project: "123"}
        - start: {project: "{{ missing | default('') }}"}
    """
    result = plan(event(), config(rules))
    assert [a.project for a in result.actions] == [123, "123", None]  # type: ignore[union-attr]


def test_stop_each_way() -> None:
    rules = """
    - name: over
      on: calendar.ended
      do:
        - stop: {only: started_by_this_event}
        - stop: {}
        - stop
        - stop: {only: same_description, description: "{{ title }}", stop: "{{ end }}"}
    """
    ended = event(
        "calendar.ended",
        actor="alice-work",
        source="ics",
        subject="uid|1",
        data={"title": "Standup", "end": "2024-05-02T09:45:00+02:00"},
    )
    result = plan(ended, config(rules))
    assert result.errors == []
    assert [type(a) for a in result.actions] == [StopAction] * 4
    stops: list[StopAction] = result.actions  # type: ignore[assignment]
    assert [s.only for s in stops] == ["started_by_this_event", "any", "any", "same_description"]
    assert stops[3].description == "Standup"
    assert stops[3].stop == datetime(2024, 5, 2, 7, 45, tzinfo=UTC)
    assert stops[0].stop == WHEN


def test_log_with_a_fixed_a_templated_and_an_estimated_duration_or_a_start() -> None:
    rules = """
    - name: work
      on: work.done
      do:
        - log: {description: "{{ message | first_line }}", duration: 30m}
        - log: {duration: 900}
        - log: {duration: "{{ seconds }}"}
        - log: {duration: {estimate: session, max_gap: 1h, first: 20m}, tags: [code]}
        - log: {start: "{{ start }}", end: "{{ end }}"}
    """
    commit = event(
        "work.done",
        data={
            "message": "Fix it\n\nbody",
            "seconds": "1h",
            "start": "2024-03-30T22:00:00+01:00",  # across the DST change in Berlin
            "end": "2024-03-31T09:00:00+02:00",
        },
    )
    result = plan(commit, config(rules))
    assert result.errors == []
    logs: list[LogAction] = result.actions  # type: ignore[assignment]
    assert [log.duration_seconds for log in logs] == [1800, 900, 3600, None, 10 * 3600]
    assert logs[0].description == "Fix it"
    assert logs[0].end == WHEN
    assert logs[3].estimate is not None
    assert (logs[3].estimate.max_gap_seconds, logs[3].estimate.first_seconds) == (3600, 1200)
    assert logs[4].start == datetime(2024, 3, 30, 21, 0, tzinfo=UTC)


def test_tag_untag_and_update() -> None:
    rules = """
    - name: focus
      on: calendar.started
      do:
        - tag: {tags: [focus, "{{ title | slug }}"]}
        - untag: {tags: [idle], target: subject}
        - update: {target: subject, description: "{{ title }}", billable: false, tags: [a], start: "{{ start }}"}
    """
    started = event(
        "calendar.started",
        actor="alice-work",
        source="ics",
        subject="uid|1",
        data={"title": "Focus Time", "start": "2024-05-02T09:30:00+02:00"},
    )
    result = plan(started, config(rules))
    assert result.errors == []
    tag, untag, update = result.actions
    assert isinstance(tag, TagAction) and (tag.tags, tag.target) == (["focus", "focus-time"], "running")
    assert isinstance(untag, UntagAction) and (untag.tags, untag.target) == (["idle"], "subject")
    assert isinstance(update, UpdateAction)
    assert (update.description, update.billable, update.tags, update.project) == (
        "Focus Time",
        False,
        ["a"],
        None,
    )
    assert update.start == WHEN


def test_a_render_failure_stays_on_its_action_and_the_other_rules_still_run() -> None:
    rules = """
    - name: first
      on: git.commit
      do:
        - start: {description: "{{ repo.name }}"}
        - tag: {tags: [ok]}
        - log: {duration: "{{ message }}"}
        - update: {target: subject, description: x}
        - start: {start: "{{ message }}"}
    - name: second
      on: git.commit
      do:
        - stop: {}
    """
    result = plan(event(data={"message": "not a time"}), config(rules))
    assert [a.key for a in result.actions] == ["e-git.commit|first|1", "e-git.commit|second|0"]
    assert result.errors == [
        "rule 'first': do[0] (start): description: 'repo' is undefined in '{{ repo.name }}'",
        "rule 'first': do[2] (log): duration: 'not a time' is not a number of seconds or a duration like 1h30m",
        "rule 'first': do[3] (update): target: subject needs an event with a subject (calendar events have one); "
        "this git.commit event has none",
        "rule 'first': do[4] (start): start: 'not a time' is not a date-time like 2024-05-02T09:00:00Z",
    ]
    assert result.rules[0].errors == [error.removeprefix("rule 'first': ") for error in result.errors]


def test_rules_run_in_order_and_stop_ends_the_evaluation() -> None:
    rules = """
    - name: disabled
      on: git.*
      enabled: false
      do: [stop]
    - name: not this kind
      on: calendar.*
      do: [stop]
    - name: no match
      on: git.commit
      if: {branch: develop}
      stop: true
      do: [stop]
    - name: match and continue
      on: [git.push, git.commit]
      do: [stop]
    - name: match and stop
      on: "*"
      if: {branch: main}
      stop: true
    - name: after the stop
      on: git.commit
      do: [stop]
    """
    result = plan(event(data={"branch": "main"}), config(rules))
    verdicts = [(r.name, r.matched, r.skipped) for r in result.rules]
    assert verdicts == [
        ("disabled", False, "disabled (enabled: false)"),
        ("not this kind", False, "kind 'git.commit' is not in on: calendar.*"),
        ("no match", False, None),
        ("match and continue", True, None),
        ("match and stop", True, None),
        ("after the stop", False, "not evaluated: rule 'match and stop' matched first and has stop: true"),
    ]
    assert [a.rule for a in result.actions] == ["match and continue"]
    assert result.matched_rules == ["match and continue", "match and stop"]
    failed = result.rules[2].checks[0]
    assert (failed.path, failed.expected, failed.actual, failed.ok) == ("branch", "develop", "main", False)


def test_rules_can_be_limited_to_identities_and_calendars() -> None:
    rules = """
    - name: bob only
      on: git.commit
      identities: [bob]
      do: [stop]
    - name: alice's calendar only
      on: calendar.*
      calendars: [alice-work]
      do: [stop]
    """
    cfg = config(rules)
    assert plan(event(actor="bob@acme.io"), cfg).matched_rules == ["bob only"]
    skipped = plan(event(), cfg).rules[0].skipped
    assert skipped == "identity 'alice' is not in identities: bob"
    from_calendar = event(
        "calendar.started", actor="alice-work", source="ics", data={"calendar": "alice-work"}
    )
    assert plan(from_calendar, cfg).matched_rules == ["alice's calendar only"]
    other = event("calendar.started", actor="x", source="ics", data={"calendar": "other"})
    assert plan(other, cfg).rules[1].skipped == "calendar 'other' is not in calendars: alice-work"


def test_priority_follows_the_kind_unless_the_rule_says() -> None:
    rules = """
    - name: default
      on: "*"
      do: [stop]
    - name: bulk
      on: "*"
      priority: bulk
      do: [stop]
    """
    cfg = config(rules)
    assert [a.priority for a in plan(event(), cfg).actions] == ["normal", "bulk"]
    calendar = event("calendar.ended", actor="alice-work", source="ics")
    assert [a.priority for a in plan(calendar, cfg).actions] == ["urgent", "bulk"]
    # A backfill says its events are bulk: behind live work, whatever the kind or the rule.
    backfilled = event("calendar.ended", actor="alice-work", source="ics", priority="bulk")
    assert [a.priority for a in plan(backfilled, cfg).actions] == ["bulk", "bulk"]


def test_idempotency_keys_are_stable_and_differ_per_rule_and_position() -> None:
    rules = """
    - name: a
      on: git.commit
      do: [stop, {tag: {tags: [x]}}]
    - name: b
      on: git.commit
      do: [stop]
    """
    cfg = config(rules)
    first = [a.key for a in plan(event(), cfg).actions]
    assert first == [a.key for a in plan(event(), config(rules)).actions]
    assert first == ["e-git.commit|a|0", "e-git.commit|a|1", "e-git.commit|b|0"]
    assert len(set(first)) == 3


@pytest.mark.parametrize(
    ("source", "actor", "data", "identity"),
    [
        ("github", "alice@acme.io", {}, "alice"),
        ("github", "ALICE@ACME.IO", {}, "alice"),
        ("github", "alice-gh", {}, "alice"),
        (
            "github",
            "unlisted@example.com",
            {"author": {"username": "alice-gh"}},
            None,
        ),  # data is not a handle
        ("gitlab", "alice-gh", {}, None),  # a GitHub name means nothing on GitLab
        ("gitlab", "bob", {}, "bob"),
        ("slack", "U1", {}, "alice"),
        ("mattermost", "m-bob", {}, "bob"),
        ("discord", "U1", {}, None),
        ("generic", "build-bot-alice", {}, "alice"),
        ("generic", "bob@acme.io", {}, "bob"),
        ("generic", "stranger", {}, None),
    ],
)
def test_identities_map_actors_by_platform_email_and_alias(
    source: str, actor: str, data: dict[str, Any], identity: str | None
) -> None:
    assert resolve_identity(event(source=source, actor=actor, data=data), config("[]")) == identity


def test_the_handles_a_source_gives_are_tried_after_the_actor() -> None:
    handles = [{"platform": "github", "handle": "alice-gh"}]
    commit = event(actor="unlisted@example.com", actor_handles=handles)
    assert resolve_identity(commit, config("[]")) == "alice"
    on_gitlab = event(source="gitlab", actor="unlisted@example.com", actor_handles=handles)
    assert resolve_identity(on_gitlab, config("[]")) == "alice"  # a handle says its own platform


def test_a_calendar_event_belongs_to_its_calendars_identity() -> None:
    started = event(
        "calendar.started", source="ics", actor="someone@else.io", data={"calendar": "alice-work"}
    )
    assert resolve_identity(started, config("[]")) == "alice"


def test_a_single_identity_without_handles_takes_everything() -> None:
    head = "identities:\n  me: {}\n"
    assert resolve_identity(event(actor="anyone"), config("[]", head)) == "me"
    head_with_handles = "identities:\n  me: {emails: [me@x.io]}\n"
    assert resolve_identity(event(actor="anyone"), config("[]", head_with_handles)) is None


def test_no_identity_is_not_an_error_but_nothing_is_applied() -> None:
    rules = """
    - name: everything
      on: "*"
      do: [stop]
    """
    result = plan(event(actor="stranger@example.com"), config(rules))
    assert result.identity is None
    assert result.actions == []
    assert result.errors == []
    assert result.note is not None and result.note.startswith(
        "no identity: github actor 'stranger@example.com'"
    )
    assert result.rules[0].matched  # the explanation still shows what would have matched


CHAT_HEAD = (
    IDENTITIES
    + """
chat:
  project: Internal
  tags: [chat]
"""
)


def chat(text: str, *, source: str = "slack", actor: str = "U1", **data: Any) -> Event:
    from togglbridge.chat_text import parse_chat_command

    try:
        fields = parse_chat_command(text).to_event_data(text)
    except ValueError:
        fields = {"text": text}
    return event("chat.command", source=source, actor=actor, id="chat-1", data=fields | data)


def test_chat_start_stop_and_status() -> None:
    cfg = config("[]", CHAT_HEAD)
    start = only_action(plan(chat("start Write report @Acme #writing $"), cfg))
    assert isinstance(start, StartAction)
    assert (start.description, start.project, start.tags, start.billable) == (
        "Write report",
        "Acme",
        ["writing", "chat"],
        True,
    )
    assert (start.rule, start.key, start.priority, start.start) == (
        "builtin:chat",
        "chat-1|builtin:chat|0",
        "urgent",
        WHEN,
    )
    defaulted = only_action(plan(chat("start Mail"), cfg))
    assert (defaulted.project, defaulted.billable) == ("Internal", None)
    stop = only_action(plan(chat("stop"), cfg))
    assert isinstance(stop, StopAction) and stop.only == "any"
    status = only_action(plan(chat("status"), cfg))
    assert status.type == "report" and status.report == "status" and status.follow_up


def test_chat_built_ins_step_aside() -> None:
    disabled = config("[]", IDENTITIES + "chat: {enabled: false}\n")
    assert plan(chat("start x"), disabled).actions == []
    assert plan(chat("start x"), disabled).rules[-1].skipped == "chat.enabled is false"
    slack_only = config("[]", IDENTITIES + "chat: {platforms: [slack]}\n")
    assert plan(chat("start x", source="mattermost", actor="m-bob"), slack_only).actions == []
    taken_over = config(
        """
        - name: my start
          on: chat.command
          if: {verb: start}
          stop: true
          do:
            - start: {description: "mine: {{ description }}"}
        """,
        CHAT_HEAD,
    )
    result = plan(chat("start x"), taken_over)
    assert [(a.rule, a.description) for a in result.actions] == [("my start", "mine: x")]  # type: ignore[union-attr]
    assert result.rules[-1].skipped is not None


def test_chat_text_that_is_not_a_command_is_an_error_on_the_built_in() -> None:
    result = plan(chat("dance please"), config("[]", CHAT_HEAD))
    assert result.actions == []
    assert result.errors == ["builtin:chat: Unknown command 'dance'."]


def test_a_plan_is_json_and_back() -> None:
    rules = """
    - name: r
      on: git.commit
      if: {branch: main}
      do:
        - log: {duration: {estimate: session}}
        - start: {tags: [a]}
    """
    result = plan(event(data={"branch": "main"}), config(rules), now=WHEN + timedelta(seconds=1))
    assert Plan.model_validate_json(result.model_dump_json()) == result
    assert result.planned_at == WHEN + timedelta(seconds=1)
