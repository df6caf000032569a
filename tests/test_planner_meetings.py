"""The built-in follow-up of a meeting's entry: a move moves it, a cancellation withdraws it as the calendar's
on_cancel says, and a user rule with stop: true takes over."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.test_planner import config, event
from togglbridge.actions import MoveAction, WithdrawAction
from togglbridge.rules.planner import plan

SUBJECT = "standup@acme.io|2024-05-02T07:30:00Z"
START, END = "2024-05-02T07:35:00Z", "2024-05-02T07:50:00Z"


def changed(*changes: str) -> Any:
    data = {
        "calendar": "alice-work",
        "start": START,
        "end": END,
        "title": "Standup",
        "changes": list(changes),
    }
    return event("calendar.changed", actor="alice-work", source="ics", subject=SUBJECT, data=data)


def cancelled(stage: str = "during", calendar: str = "alice-work") -> Any:
    data = {
        "calendar": calendar,
        "start": START,
        "end": END,
        "cancel_reason": "cancelled",
        "cancel_stage": stage,
    }
    return event("calendar.cancelled", actor=calendar, source="ics", subject=SUBJECT, data=data)


def with_on_cancel(on_cancel: str, rules: str = "[]") -> Any:
    head = f"""
    defaults: {{workspace_id: 1, timezone: Europe/Berlin}}
    identities:
      alice: {{emails: [alice@acme.io]}}
    calendars:
      - {{name: alice-work, identity: alice, url_env: ALICE_ICS, on_cancel: {on_cancel}}}
    """
    return config(rules, head)


def test_a_moved_meeting_moves_its_entry_to_the_new_times() -> None:
    result = plan(changed("start", "end"), config("[]"))
    (action,) = result.actions
    assert isinstance(action, MoveAction)
    assert (action.start, action.stop) == (
        datetime(2024, 5, 2, 7, 35, tzinfo=UTC),
        datetime(2024, 5, 2, 7, 50, tzinfo=UTC),
    )
    assert action.subject == SUBJECT and action.rule == "builtin:calendar" and action.priority == "urgent"


def test_a_rename_alone_is_the_rules_business() -> None:
    result = plan(changed("title"), config("[]"))
    assert result.actions == []
    (builtin,) = result.rules
    assert builtin.skipped is not None and "neither the start nor the end" in builtin.skipped


def test_on_cancel_says_what_a_cancellation_does() -> None:
    for on_cancel, finished in (("delete", "delete"), ("stop", "keep")):
        (action,) = plan(cancelled(), with_on_cancel(on_cancel)).actions
        assert isinstance(action, WithdrawAction) and action.finished == finished
        assert action.occurred_at == cancelled().occurred_at  # a running entry stops when the news came
    kept = plan(cancelled(), with_on_cancel("keep"))
    assert kept.actions == [] and kept.rules[0].skipped == "on_cancel is keep"


def test_a_meeting_cancelled_before_it_began_has_no_entry_to_withdraw() -> None:
    assert plan(cancelled("before"), config("[]")).actions == []
    assert len(plan(cancelled("after"), config("[]")).actions) == 1


def test_a_user_rule_with_stop_takes_over() -> None:
    rules = """
      - name: my own cancellations
        on: calendar.cancelled
        stop: true
        do:
          - stop: {only: started_by_this_event}
    """
    result = plan(cancelled(), config(rules))
    assert [a.type for a in result.actions] == ["stop"]
    assert result.rules[-1].name == "builtin:calendar" and "has stop: true" in (
        result.rules[-1].skipped or ""
    )


def test_other_kinds_do_not_show_the_built_in() -> None:
    result = plan(event("calendar.started", actor="alice-work", source="ics", subject=SUBJECT), config("[]"))
    assert [r.name for r in result.rules] == []
