"""Readers for fields of a JSON request body, each raising `Invalid` with a message that names the field.

Toggl answers type errors with a 400 and a plain string; these keep that behaviour in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from togglbridge.toggl.sim.errors import Invalid


def require_object(body: Any) -> Mapping[str, Any]:
    """The body must be a JSON object."""
    if not isinstance(body, dict):
        raise Invalid("JSON is not valid: expected an object")
    return body


def opt_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string")
    return value


def opt_bool(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise Invalid(f"{key} must be true or false")
    return value


def as_int(value: Any, key: str) -> int:
    """A JSON integer (a float with no fraction is accepted; a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise Invalid(f"{key} must be an integer")
    return int(value)


def opt_int(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    return None if value is None else as_int(value, key)


def opt_number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{key} must be a number")
    return float(value)


def str_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{key} must be a list of strings")
    return list(value)


def int_list(value: Any, key: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{key} must be a list of integers")
    return [as_int(v, key) for v in value]


def id_from_either(body: Mapping[str, Any], key: str, legacy_key: str) -> int | None:
    """v9 field or its legacy alias (`workspace_id`/`wid`, `project_id`/`pid`, ...); v9 name wins."""
    if body.get(key) is not None:
        return as_int(body[key], key)
    if body.get(legacy_key) is not None:
        return as_int(body[legacy_key], legacy_key)
    return None
