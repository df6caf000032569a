"""Waiting actions are kept as compact JSON (``togglbridge.store.stored_action``): without their defaults, their
key, and an event id the key gives back. Every kind must read back exactly as it was written, with every field
set and with none of the optional ones, and JSON written in full before still reads."""

from __future__ import annotations

import typing
from typing import Any

import orjson
import pytest
import redis

from togglbridge import actions
from togglbridge.actions import ACTION_ADAPTER, Action, action_key
from togglbridge.store import keys, stored_action
from togglbridge.store.next_action import NextAction
from togglbridge.store.outbox import Outbox

EVENT_ID = "git:acme/webapp:dbe84b49546939d1fd0ad07776158c2264ddd408"
BASE: dict[str, Any] = {
    "identity": "alice",
    "key": action_key(EVENT_ID, "commits", 0),
    "event_id": EVENT_ID,
    "rule": "commits",
    "occurred_at": "2026-11-30T10:00:00Z",
}
EVERYTHING: dict[str, Any] = {
    "subject": "cal:work:standup@2026-11-30",
    "priority": "urgent",
    "follow_up": True,
    "received_at": "2026-11-30T10:00:01.250000Z",
}
ENTRY = {"description": "Fix totals", "project": "Webapp", "task_id": 7, "tags": ["code"], "billable": False}
START, STOP = "2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z"

# Per kind: its required fields, then a value for each of its other fields that is not the default.
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "start": ({"start": START}, {**ENTRY, "workspace_id": 9}),
    "stop": ({"stop": STOP}, {"only": "same_description", "description": "Standup"}),
    "log": (
        {"end": STOP, "duration_seconds": 600},
        {**ENTRY, "coalesce_seconds": 900, "coalesce_group": "g"},
    ),
    "tag": ({"tags": ["focus"]}, {"target": "subject"}),
    "untag": ({"tags": ["focus"]}, {"target": "subject"}),
    "update": (
        {},
        {"target": "subject", "description": "", "project": 12, "tags": [], "start": START, "stop": STOP},
    ),
    "move": ({"subject": "cal:x", "start": START, "stop": STOP}, {}),
    "withdraw": ({"subject": "cal:x"}, {"finished": "keep"}),
    "resume": ({"start": START}, {}),
    "undo": ({}, {"within_seconds": 60}),
    "learn": (
        {"workspace_id": 9},
        {"entry_id": 5, "running": True, "deleted": True, "start": START, "description": "d"},
    ),
    "report": ({"report": "week", "since": START}, {}),
}


def action(kind: str, *, full: bool) -> Action:
    required, optional = KINDS[kind]
    data = {"type": kind, **BASE, **required}
    if full:
        data = {**data, **EVERYTHING, **optional}
    return ACTION_ADAPTER.validate_python(data)


def test_every_kind_is_covered() -> None:
    union = typing.get_args(typing.get_args(actions.Action)[0])
    assert {model.model_fields["type"].default for model in union} == set(KINDS)


@pytest.mark.parametrize("full", [True, False], ids=["every field set", "only the required ones"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_reads_back_the_same(kind: str, full: bool) -> None:
    written = action(kind, full=full)
    raw = stored_action.dump(written)
    assert stored_action.load(written.key, raw) == written
    kept = orjson.loads(raw)
    assert kept["type"] == kind and "key" not in kept and "event_id" not in kept
    assert None not in kept.values()


def test_the_compact_json_is_well_under_the_full_one() -> None:
    log = ACTION_ADAPTER.validate_python(
        {
            **BASE,
            "type": "log",
            "end": STOP,
            "duration_seconds": 600,
            "description": "webapp: Fix report totals",
        }
    )
    assert len(stored_action.dump(log)) < 0.6 * len(ACTION_ADAPTER.dump_json(log))


def test_an_event_id_the_key_does_not_give_is_kept() -> None:
    odd = ACTION_ADAPTER.validate_python(
        {**BASE, "type": "undo", "key": "hand-made", "event_id": "chat:T1:42"}
    )
    raw = stored_action.dump(odd)
    assert orjson.loads(raw)["event_id"] == "chat:T1:42"
    assert stored_action.load("hand-made", raw) == odd


def test_a_rule_name_with_bars_still_gives_the_event_id_back() -> None:
    written = ACTION_ADAPTER.validate_python(
        {**BASE, "type": "undo", "rule": "a|b|1", "key": action_key("x|y", "a|b|1", 3), "event_id": "x|y"}
    )
    assert stored_action.load(written.key, stored_action.dump(written)) == written


def test_json_written_in_full_by_an_earlier_version_still_reads() -> None:
    written = action("log", full=True)
    assert stored_action.load(written.key, ACTION_ADAPTER.dump_json(written)) == written
    slim = ACTION_ADAPTER.dump_json(written, exclude_none=True)
    assert stored_action.load(written.key, slim) == written


def test_a_key_that_does_not_end_with_its_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="does not end with its rule"):
        stored_action.load(
            "other|rule|0",
            b'{"type":"undo","identity":"a","rule":"commits","occurred_at":"%s"}' % START.encode(),
        )


def test_the_outbox_and_the_drain_read_what_the_planner_wrote(redis_client: redis.Redis) -> None:
    written = [action(kind, full=full) for kind in ("log", "start") for full in (True, False)]
    written = [
        a.model_copy(update={"key": action_key(EVENT_ID, "commits", i)}) for i, a in enumerate(written)
    ]
    with redis_client.pipeline(transaction=True) as pipe:
        Outbox(redis_client).put(written, pipe)
        pipe.execute()
    stored = redis_client.get(keys.action(written[0].key))
    assert stored is not None and b"event_id" not in stored
    lanes = {lane: Outbox(redis_client).peek("alice", lane, 10) for lane in ("main", "bulk")}
    peeked = [found for lane in lanes.values() for _, found, _ in lane if found is not None]
    assert sorted(peeked, key=lambda a: a.key) == sorted(written, key=lambda a: a.key)
    head = NextAction(redis_client)("alice", 0.0)
    assert head.action is not None and head.action in written and head.key == head.action.key
