"""Event and Action: the shapes that travel between stages, as JSON, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from togglbridge.actions import (
    ACTION_ADAPTER,
    LogAction,
    SessionEstimate,
    StartAction,
    StopAction,
    TagAction,
    UntagAction,
    UpdateAction,
    action_key,
    default_priority,
)
from togglbridge.events import Event

WHEN = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


def event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "id": "e1",
        "source": "github",
        "kind": "git.commit",
        "occurred_at": WHEN,
        "actor": "alice@acme.io",
        "data": {"repo": {"full_name": "acme/api"}, "n": 1.5, "list": [None, True, "x"]},
    }
    return Event.model_validate(fields | overrides)


def test_an_event_survives_json_unchanged() -> None:
    original = event(subject="uid|2024", delivery_id="d1")
    assert Event.model_validate(original.model_dump(mode="json")) == original
    assert Event.model_validate_json(original.model_dump_json()) == original


def test_occurred_at_is_converted_to_utc() -> None:
    berlin = timezone(timedelta(hours=2))
    assert event(occurred_at=datetime(2024, 5, 2, 11, 0, tzinfo=berlin)).occurred_at == WHEN
    assert event(occurred_at="2024-05-02T11:00:00+02:00").occurred_at.tzinfo == UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs a timezone"):
        event(occurred_at=datetime(2024, 5, 2, 9, 0))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"when": datetime(2024, 1, 1, tzinfo=UTC)}, "data.when is a datetime"),
        ({"x": float("nan")}, "JSON cannot carry"),
        ({"nested": [{"s": {1, 2}}]}, r"data.nested\[0\].s is a set"),
    ],
)
def test_data_holds_json_values_only(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        event(data=data)


def test_events_are_immutable_and_strict() -> None:
    with pytest.raises(ValidationError):
        event().kind = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        event(surprise=1)
    with pytest.raises(ValidationError):
        event(id="")


COMMON: dict[str, Any] = {
    "identity": "alice",
    "key": "e1|rule|0",
    "event_id": "e1",
    "rule": "rule",
    "occurred_at": WHEN,
}


@pytest.mark.parametrize(
    "action",
    [
        StartAction(
            **COMMON, description="Standup", project=123, tags=["meeting"], billable=True, start=WHEN
        ),
        StopAction(**COMMON, only="same_description", description="Standup", stop=WHEN),
        LogAction(**COMMON, description="api", project="api", end=WHEN, duration_seconds=900),
        LogAction(**COMMON, end=WHEN, estimate=SessionEstimate(max_gap_seconds=7200, first_seconds=1800)),
        LogAction(**COMMON, end=WHEN, start=WHEN - timedelta(hours=1), duration_seconds=3600),
        TagAction(**COMMON, tags=["focus"], target="subject", subject="uid|1"),
        UntagAction(**COMMON, tags=["focus"]),
        UpdateAction(**COMMON, description="renamed", tags=[], stop=WHEN),
    ],
)
def test_every_action_survives_json_unchanged(action: Any) -> None:
    assert ACTION_ADAPTER.validate_python(action.model_dump(mode="json")) == action
    assert ACTION_ADAPTER.validate_json(action.model_dump_json()) == action


def test_a_project_keeps_being_a_name_or_an_id() -> None:
    by_name = StartAction(**COMMON, project="123", start=WHEN)
    by_id = StartAction(**COMMON, project=123, start=WHEN)
    assert ACTION_ADAPTER.validate_json(by_name.model_dump_json()).project == "123"  # type: ignore[union-attr]
    assert ACTION_ADAPTER.validate_json(by_id.model_dump_json()).project == 123  # type: ignore[union-attr]


def test_a_log_knows_its_duration_exactly_one_way() -> None:
    estimate = SessionEstimate(max_gap_seconds=60, first_seconds=30)
    with pytest.raises(ValidationError, match="exactly one"):
        LogAction(**COMMON, end=WHEN)
    with pytest.raises(ValidationError, match="exactly one"):
        LogAction(**COMMON, end=WHEN, duration_seconds=60, estimate=estimate)
    with pytest.raises(ValidationError, match="must equal end"):
        LogAction(**COMMON, end=WHEN, start=WHEN - timedelta(hours=1), duration_seconds=60)
    with pytest.raises(ValidationError, match="greater than 0"):
        LogAction(**COMMON, end=WHEN, duration_seconds=0)


def test_a_stop_names_a_description_only_to_compare_it() -> None:
    with pytest.raises(ValidationError, match="same_description"):
        StopAction(**COMMON, only="same_description", stop=WHEN)
    with pytest.raises(ValidationError, match="same_description"):
        StopAction(**COMMON, only="any", description="x", stop=WHEN)


def test_session_estimate_uses_the_gap_within_a_session_else_the_first_duration() -> None:
    estimate = SessionEstimate(max_gap_seconds=7200, first_seconds=1800)
    assert estimate.resolve(WHEN, None) == 1800
    assert estimate.resolve(WHEN, WHEN - timedelta(minutes=40)) == 2400
    assert estimate.resolve(WHEN, WHEN - timedelta(hours=2)) == 7200
    assert estimate.resolve(WHEN, WHEN - timedelta(hours=2, seconds=1)) == 1800
    assert estimate.resolve(WHEN, WHEN + timedelta(minutes=1)) == 1800  # out of order: not a negative gap


def test_action_keys_and_priorities() -> None:
    assert action_key("e1", "meetings", 0) == "e1|meetings|0"
    assert action_key("e1", "meetings", 1) != action_key("e1", "meetings", 0)
    assert default_priority("chat.command") == "urgent"
    assert default_priority("calendar.started") == "urgent"
    assert default_priority("calendar.ended") == "urgent"
    assert default_priority("git.commit") == "normal"
