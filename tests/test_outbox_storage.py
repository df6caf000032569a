"""Waiting actions are stored without their unset (None) fields, which is lossless only while every optional
field of every action defaults to None: a field whose default is something else would read back changed."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from togglbridge import actions
from togglbridge.actions import ACTION_ADAPTER


def action_models() -> list[type[BaseModel]]:
    return [
        model
        for model in vars(actions).values()
        if isinstance(model, type) and issubclass(model, BaseModel) and model.__module__ == actions.__name__
    ]


def test_every_optional_field_of_an_action_defaults_to_none() -> None:
    models = action_models()
    assert len(models) >= 10
    changed = [
        f"{model.__name__}.{name} defaults to {info.default!r}"
        for model in models
        for name, info in model.model_fields.items()
        if type(None) in typing.get_args(info.annotation) and info.default is not None
    ]
    assert changed == []


def test_an_action_without_its_unset_fields_reads_back_the_same() -> None:
    log = ACTION_ADAPTER.validate_python(
        {
            "type": "log",
            "identity": "alice",
            "key": "git:acme/webapp:abc|commits|0",
            "event_id": "git:acme/webapp:abc",
            "rule": "commits",
            "occurred_at": "2026-11-30T10:00:00Z",
            "end": "2026-11-30T10:00:00Z",
            "description": "webapp: Fix report totals",
            "duration_seconds": 600,
            "tags": ["code"],
            "billable": False,
        }
    )
    slim = ACTION_ADAPTER.dump_json(log, exclude_none=True)
    assert b"null" not in slim and len(slim) < len(ACTION_ADAPTER.dump_json(log)) * 0.8
    assert ACTION_ADAPTER.validate_json(slim) == log
