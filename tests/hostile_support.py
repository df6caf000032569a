"""What the hostile-input tests share, the receiver's and every source's: the receiver they attack (in-process,
with a small body limit), how they post raw bytes, and what they check after an answer (a documented status, what
reached the queue, a worker planning it without raising).

Registered as a plugin in tests/conftest.py, so its fixtures (``receiver``, ``example_config``) serve any module.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import strategies as st

from tests.access_support import DASHBOARD_TOKEN, OPERATOR_HEADERS
from tests.sources.harness import FIXTURES, SENDERS, json_values, nested
from togglbridge.api.factory import build_receiver
from togglbridge.config import Config, load_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.queues import QUEUE_INGEST
from togglbridge.settings import Settings
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys, stored_action
from togglbridge.store.journal import Journal
from togglbridge.store.outbox import LANES, Outbox

ROOT = Path(__file__).resolve().parent.parent
# Small enough that oversized bodies are cheap to build, big enough for 10^5 levels of nesting (200 kB).
MAX_BODY_BYTES = 256 * 1024
DEEPEST = 100_000
# What hooks.py documents. 503 is documented too, but only for a Redis that does not answer, which is not the case
# in these tests: here it would be a bug.
DOCUMENTED_HOOK_STATUSES = {200, 202, 400, 401, 404, 413, 415}

PUSH: dict[str, Any] = json.loads((FIXTURES / "github" / "push__main.json").read_text())
GENERIC_EVENT: dict[str, Any] = json.loads(
    (FIXTURES / "generic" / "build_finished__default.json").read_text()
)
EXAMPLE_CONFIG = ROOT / "examples" / "togglbridge.yaml"

Headers = list[tuple[bytes, bytes]]


def hostile_receiver(redis_url: str) -> FastAPI:
    """The receiver with every source's test secret and a small body limit."""
    secrets = SourceSecrets.of(**{sender.source.name: sender.secret for sender in SENDERS.values()})
    settings = Settings(
        _env_file=None, redis_url=redis_url, max_body_bytes=MAX_BODY_BYTES, dashboard_token=DASHBOARD_TOKEN
    )
    return build_receiver(settings, redis_url, secrets)


@pytest.fixture
def receiver(redis_url: str) -> Iterator[TestClient]:
    """The receiver in-process; an exception escaping a handler is raised here, with its traceback."""
    with TestClient(
        hostile_receiver(redis_url), raise_server_exceptions=True, headers=OPERATOR_HEADERS
    ) as client:
        yield client


@pytest.fixture(scope="module")
def example_config() -> Config:
    return load_config(EXAMPLE_CONFIG)


def signed(source: str, body: bytes, *, delivery: str | None = None) -> Headers:
    """Raw headers of a delivery of ``body`` (a push, for GitHub) signed as the source's sender signs it."""
    headers = SENDERS[source].signed_headers("push", body, delivery or f"msg_{uuid.uuid4().hex}")
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def post(client: TestClient, path: str, body: bytes, headers: Headers, *, chunked: bool = False) -> Response:
    """POST raw bytes with raw header bytes (HTTP headers are octets: latin-1, not just ASCII). ``chunked`` sends
    the body as a stream without Content-Length, so the size limit must hold while reading."""
    if not chunked:
        response: Response = client.post(path, content=body, headers=headers)
        return response

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed: Response = client.post(path, content=chunks(), headers=headers)
    return streamed


def assert_documented(response: Response, allowed: set[int] = DOCUMENTED_HOOK_STATUSES) -> None:
    assert response.status_code in allowed, f"answered {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        error = response.json().get("error")
        assert isinstance(error, str) and error.strip(), f"a refusal must say why: {response.text[:500]}"


def queued_events(client: redis.Redis) -> list[dict[str, Any]]:
    """The events inside the Celery messages waiting on the ingest queue, oldest first."""
    events: list[dict[str, Any]] = []
    for raw in reversed(client.lrange(QUEUE_INGEST, 0, -1)):
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        events.extend(body[0][0])
    return events


def check_dispatch(client: redis.Redis, config: Config, events: list[Event]) -> set[str]:
    """Dispatch must not raise, must journal a plan for each event, and must not hide a bug of its own behind
    the planner's "internal error" safety net (which keeps one rule's crash from costing the others)."""
    journal = Journal(client, cap=10_000)
    for sent in events:  # as the receiver does, so that the plan records have an event to attach to
        if not client.exists(keys.journal(sent.id)):
            client.lpush(keys.JOURNAL_INDEX, sent.id)
            client.rpush(keys.journal(sent.id), json.dumps({"stage": "received"}))
    identities = dispatch(client, journal, config, events)
    for sent in events:
        planned = [r for r in journal.event(sent.id) if r["stage"] == "planned"]
        assert planned, f"no plan journalled for {sent.id!r}"
        for error in planned[-1].get("errors", []):
            assert "internal error" not in error, error
    for identity in identities:
        for key in waiting_actions(client, identity):
            raw = client.get(keys.action(key))
            assert raw is not None
            stored_action.load(key, raw)  # what a worker will read back
    return identities


def waiting_actions(client: redis.Redis, identity: str) -> list[str]:
    """The keys of the identity's actions waiting in its outbox, in every lane."""
    return [key for lane in LANES for key, _, _ in Outbox(client).peek(identity, lane, 100_000)]


def valid_body(source: str) -> bytes:
    """A body the source accepts, with non-ASCII text so that re-encoding it really changes its bytes."""
    if source == "github":
        payload = copy.deepcopy(PUSH)
        payload["commits"][-1]["message"] = "Café für Zoë: réglé"
        return json.dumps(payload, ensure_ascii=False).encode()
    return json.dumps(GENERIC_EVENT | {"actor": "zoë@café.example"}, ensure_ascii=False).encode()


def hostile_bodies(valid: bytes) -> st.SearchStrategy[bytes]:
    """Bodies that are not an acceptable delivery, whoever signs them (valid JSON objects are left to the signed
    tests, which know what each source accepts)."""
    return st.one_of(
        st.binary(max_size=2048),
        json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
        # Every proper prefix of a JSON object is invalid JSON (the valid body has no trailing whitespace).
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n]),
        st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]).map(
            lambda codec: valid.decode().encode(codec)
        ),
        st.tuples(
            st.integers(0, len(valid)), st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"])
        ).map(lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] :]),
        st.sampled_from([1_000, 10_000, DEEPEST]).map(nested),
        st.integers(1, 4096).map(lambda extra: b'{"padding": "' + b"x" * (MAX_BODY_BYTES + extra) + b'"}'),
    )
