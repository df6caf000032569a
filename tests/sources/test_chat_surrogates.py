"""Lone surrogates (JSON's \\ud800) in signed chat and Toggl deliveries: a documented answer, never a 500, even
where they reach a hash or the immediate answer's text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hostile_support import hostile_receiver
from tests.sources.harness import SENDERS

pytestmark = pytest.mark.integration

CASES: list[tuple[str, dict[str, Any]]] = [
    ("mattermost", {"text": "start x", "user_id": "u1", "trigger_id": "\ud800", "response_url": "https://e/x"}),
    ("mattermost", {"text": "\ud800", "user_id": "u1", "trigger_id": "abc"}),
    ("discord", {"type": 2, "id": "123", "application_id": "1", "token": "tok",
                 "data": {"name": "toggl", "options": [{"type": 1, "name": "\ud800"}]}, "member": {"user": {"id": "9"}}}),
    ("toggl", {"event_id": 1, "creator_id": 1, "metadata": {}, "payload": "ping", "validation_code": "\ud800",
               "subscription_id": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("source", "payload"), CASES)
def test_a_lone_surrogate_is_never_a_500(redis_url: str, source: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = {**SENDERS[source].signed_headers("x", body, "d1"), "content-type": "application/json"}
    with TestClient(hostile_receiver(redis_url), raise_server_exceptions=False) as client:
        answer = client.post(f"/hooks/{source}", content=body, headers=headers)
    assert answer.status_code in (200, 202, 400), answer.text


def test_a_slack_click_with_a_surrogate_trigger_is_never_a_500(redis_url: str) -> None:
    from urllib.parse import urlencode

    click = {"type": "block_actions", "user": {"id": "U1"}, "trigger_id": "\ud800",
             "response_url": "https://e/r", "actions": [{"action_id": "toggl_stop", "action_ts": "\ud800"}]}  # fmt: skip
    body = urlencode({"payload": json.dumps(click)}).encode()
    headers = {**SENDERS["slack"].signed_headers("x", body, "d1"),
               "content-type": "application/x-www-form-urlencoded"}  # fmt: skip
    with TestClient(hostile_receiver(redis_url), raise_server_exceptions=False) as client:
        answer = client.post("/hooks/slack", content=body, headers=headers)
    assert answer.status_code in (200, 202, 400), answer.text
