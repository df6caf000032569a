"""How a waiting action is kept in Redis: its JSON without what the reader knows already.

A backlog is mostly these strings (100,000 waiting actions are 100,000 of them), so each leaves out:

- every field at its default (an unset field, no tags, normal priority, no follow-up): it reads back the same;
- ``key``: the Redis key the JSON is kept under ends with it, and every reader looks the JSON up by it;
- ``event_id`` when the key was made from it by ``action_key`` (always, for planned actions): the key, the rule and
  the position give it back.

The kind (``type``) always stays: it says which model the rest is.
"""

from __future__ import annotations

from typing import Any

import orjson

from togglbridge.actions import ACTION_ADAPTER, Action


def dump(action: Action) -> bytes:
    """The compact JSON of ``action``."""
    data: dict[str, Any] = ACTION_ADAPTER.dump_python(action, mode="json", exclude_defaults=True)
    data["type"] = action.type
    del data["key"]
    if action.key == _key_of(action.event_id, action.rule, action.key):
        del data["event_id"]
    return orjson.dumps(data)


def load(key: str, raw: bytes | str) -> Action:
    """The action kept as ``raw`` (by ``dump``) under ``key``; also reads the full JSON written before."""
    data = orjson.loads(raw)
    data.setdefault("key", key)
    if "event_id" not in data:
        data["event_id"] = _event_id_of(key, str(data.get("rule", "")))
    return ACTION_ADAPTER.validate_python(data)


def _key_of(event_id: str, rule: str, key: str) -> str:
    """What ``action_key`` made of ``event_id`` and ``rule`` at the position ``key`` ends with (or "" if none)."""
    position = key.rpartition("|")[2]
    return f"{event_id}|{rule}|{position}" if position.isdigit() else ""


def _event_id_of(key: str, rule: str) -> str:
    position = key.rpartition("|")[2]
    suffix = f"|{rule}|{position}"
    if not position.isdigit() or not key.endswith(suffix):
        raise ValueError(f"action key {key!r} does not end with its rule and position")
    return key[: -len(suffix)]
