"""The receiver writes a delivery's events into the planning message with pydantic's JSON serializer
(``TaskMessages.build_for_events``): the worker must read exactly what the general ``build`` of the events' JSON
data gives, for every source's fixtures and for events carrying any JSON at all."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sources import harness
from togglbridge.events import Event
from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
from togglbridge.sources import SOURCES, SourceError
from togglbridge.store.enqueue import TaskMessages
from workers.app import app

MESSAGES = TaskMessages(app, TASK_PLAN, QUEUE_INGEST)


def body(envelope: str) -> Any:
    return json.loads(base64.b64decode(json.loads(envelope)["body"]))


def both(events: list[Event]) -> tuple[Any, Any]:
    """(the body ``build_for_events`` writes, the body ``build`` writes) for the same events."""
    fast = body(MESSAGES.build_for_events(events, 1.5)[1])
    general = body(MESSAGES.build([[event.model_dump(mode="json") for event in events]], 1.5)[1])
    return fast, general


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_fixtures_events_travel_the_same(source: str) -> None:
    fixtures = harness.fixtures(source)
    assert fixtures
    for fixture in fixtures:
        try:
            events = harness.receive(fixture)
        except SourceError:  # a delivery the source refuses (as some fixtures are): nothing is queued
            events = []
        fast, general = both(events)
        assert fast == general, fixture.name
        assert [Event.model_validate(item) for item in fast[0][0]] == events


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.text(), JSON, max_size=5), actor=st.text(min_size=1))
def test_events_with_any_json_travel_the_same(data: dict[str, Any], actor: str) -> None:
    try:
        event = Event(id="generic:1", source="generic", kind="a.b", actor=actor,
                      occurred_at=datetime(2026, 11, 30, 9, tzinfo=UTC), data=data)  # fmt: skip
    except ValueError:
        return  # refused where it arrives (text that is not valid Unicode): never queued
    fast, general = both([event])
    assert fast == general
    assert Event.model_validate(fast[0][0][0]) == event
