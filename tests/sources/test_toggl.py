"""The Toggl source (Toggl's own webhooks): every fixture against its golden events, signatures, the validation
ping, and what the goldens cannot show (kinds, ids across retries, the clock, errors, identities)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sources import harness
from togglbridge.config import ConfigError, parse_config
from togglbridge.events import Event
from togglbridge.rules.identities import resolve_identity
from togglbridge.sources import REGISTRY, PayloadError, Reply, SignatureError
from togglbridge.sources.kinds import PLANNED_KINDS
from togglbridge.sources.toggl import KINDS, SOURCE

SENDER = harness.SENDERS["toggl"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FIXTURES = harness.FIXTURES / "toggl"
CREATED = FIXTURES / "time_entry_created__running.json"
PING = FIXTURES / "ping__validation.json"


def headers(body: bytes) -> dict[str, str]:
    return SENDER.signed_headers("any", body, "unused")


def parse(payload: dict[str, Any]) -> list[Event]:
    body = json.dumps(payload).encode()
    return SOURCE.parse(headers(body), body, harness.RECEIVED_AT)


def fixture(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@harness.each_fixture("toggl")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("toggl") == []


@harness.each_fixture("toggl")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


@harness.each_fixture("toggl")
def test_events_carry_the_declared_fields_only(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert set(event.data) == set(KINDS[event.kind].children(""))


# -- signatures --------------------------------------------------------------------------------------------------


def test_a_signature_made_as_toggl_documents_it_verifies() -> None:
    # Toggl's documentation checks a ping signed with the secret PGuRrhCFajIyEvFlreKL; it prints no digest of the
    # whole body, so this one is computed here (openssl dgst -sha256 -hmac agrees).
    body = (
        b'{"event_id":0,"created_at":"2022-06-25T03:58:10.207820267Z","creator_id":6,"metadata":'
        b'{"request_type":"POST","event_user_id":6},"payload":"ping","subscription_id":6,'
        b'"timestamp":"2022-06-25T03:58:10.207820267Z","url_callback":"https://callback-url.com"}'
    )
    signature = "sha256=bf829606cda0ca6923defb5ca70a43135adc7e8887486a201a19cb50ca6006b1"
    SOURCE.verify({"X-Webhook-Signature-256": signature}, body, "PGuRrhCFajIyEvFlreKL", NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-Webhook-Signature-256"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=bf829606cda0ca6923defb5ca70a43135adc7e8887486a201a19cb50ca6006b1", "does not match"),
        ("bf829606cda0ca6923defb5ca70a43135adc7e8887486a201a19cb50ca6006b1", "does not match"),
        ("garbage", "does not match"),
    ],
)
def test_a_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    request_headers = {} if signature is None else {"X-Webhook-Signature-256": signature}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, CREATED.read_bytes(), SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = CREATED.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers(body), body + b" ", SECRET, NOW)


def test_another_secret_does_not_verify() -> None:
    body = CREATED.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers(body), body, SECRET + "x", NOW)


def test_the_ping_is_verified_like_any_delivery() -> None:
    body = PING.read_bytes()
    SOURCE.verify(headers(body), body, SECRET, NOW)
    with pytest.raises(SignatureError):
        SOURCE.verify({}, body, SECRET, NOW)


# -- the validation ping -------------------------------------------------------------------------------------------


def test_the_validation_ping_makes_no_event_and_is_answered_with_its_code() -> None:
    body = PING.read_bytes()
    assert SOURCE.parse(headers(body), body) == []
    assert SOURCE.answer(headers(body), body, "no events") == Reply(
        200, {"validation_code": "5c4a1f0e-6f3b-4e59-9d1a-2b7e0c8d9a31"}
    )


@pytest.mark.parametrize(
    "change",
    [
        {"validation_code": None},
        {"validation_code": 12345},
        {"validation_code": ""},
        {"validation_code": "x" * 201},
        {"payload": "pong"},
    ],
)
def test_a_ping_without_a_usable_code_keeps_the_usual_answer(change: dict[str, Any]) -> None:
    body = json.dumps(fixture(PING) | change).encode()
    assert SOURCE.answer(headers(body), body, "no events") is None


def test_a_ping_of_a_validated_subscription_keeps_the_usual_answer() -> None:
    payload = fixture(PING)
    del payload["validation_code"]
    body = json.dumps(payload).encode()
    assert SOURCE.parse(headers(body), body) == []
    assert SOURCE.answer(headers(body), body, "no events") is None


def test_an_accepted_change_keeps_the_usual_answer() -> None:
    body = CREATED.read_bytes()
    assert SOURCE.answer(headers(body), body, "accepted") is None


# -- kinds -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("time_entry_created__running", "toggl.entry_created"),
        ("time_entry_created__by_togglbridge", "toggl.entry_created"),
        ("time_entry_updated__description", "toggl.entry_updated"),
        ("time_entry_updated__stopped", "toggl.entry_stopped"),
        ("time_entry_updated__stop_set_by_put", "toggl.entry_updated"),
        ("time_entry_deleted__default", "toggl.entry_deleted"),
        ("project_created__default", "toggl.project_created"),
    ],
)
def test_each_change_has_its_kind(name: str, kind: str) -> None:
    (event,) = harness.receive(FIXTURES / f"{name}.json")
    assert event.kind == kind


def test_a_stop_made_without_the_stop_endpoint_is_an_update_that_says_not_running() -> None:
    (event,) = harness.receive(FIXTURES / "time_entry_updated__stop_set_by_put.json")
    assert event.kind == "toggl.entry_updated"
    assert event.data["running"] is False and event.data["stop"] == "2026-11-02T11:00:00+00:00"


def test_the_stop_endpoint_on_an_entry_still_running_is_an_update() -> None:
    payload = fixture(FIXTURES / "time_entry_updated__stopped.json")
    payload["payload"] |= {"stop": None, "duration": -1}
    (event,) = parse(payload)
    assert event.kind == "toggl.entry_updated" and event.data["running"] is True


@pytest.mark.parametrize("action", ["created", "updated", "deleted"])
def test_project_actions(action: str) -> None:
    payload = fixture(FIXTURES / "project_created__default.json")
    payload["metadata"]["action"] = action
    (event,) = parse(payload)
    assert event.kind == f"toggl.project_{action}"
    assert event.subject == "toggl-project:200123458"
    assert event.data == {
        "project_id": 200123458,
        "name": "Website relaunch",
        "workspace_id": 5001234,
        "active": True,
        "client_id": 60000123,
    }


@pytest.mark.parametrize(
    "metadata",
    [{"model": "client"}, {"model": "tag"}, {"model": "workspace"}, {"action": "archived"}, {"model": None}],
)
def test_models_and_actions_not_read_give_no_events(metadata: dict[str, Any]) -> None:
    payload = fixture(CREATED)
    payload["metadata"] |= metadata
    assert parse(payload) == []


def test_the_kinds_are_the_sources_and_no_longer_planned() -> None:
    assert "toggl.entry_created" not in PLANNED_KINDS
    for kind in KINDS:
        assert REGISTRY.kind_schemas[kind] == KINDS[kind]
    assert sorted(KINDS) == [
        "toggl.entry_created",
        "toggl.entry_deleted",
        "toggl.entry_stopped",
        "toggl.entry_updated",
        "toggl.project_created",
        "toggl.project_deleted",
        "toggl.project_updated",
    ]


# -- what the goldens cannot show -----------------------------------------------------------------------------


def test_a_retried_change_has_the_same_event_id_and_no_delivery_header() -> None:
    body = CREATED.read_bytes()
    once = SOURCE.parse(headers(body), body)
    again = SOURCE.parse(headers(body), body, harness.RECEIVED_AT)
    assert [e.id for e in once] == [e.id for e in again] == ["toggl:710000001"]
    assert SOURCE.delivery_id(headers(body)) is None
    assert once[0].delivery_id == "710000001"


def test_the_change_is_dated_by_toggl_not_by_its_receipt() -> None:
    (event,) = harness.receive(CREATED)
    assert event.occurred_at == datetime(2026, 11, 2, 9, 0, 1, 207820, tzinfo=UTC)


def test_without_toggls_times_the_receipt_time_is_used_then_the_clock() -> None:
    payload = fixture(CREATED)
    del payload["created_at"], payload["timestamp"]
    (event,) = parse(payload)
    assert event.occurred_at == harness.RECEIVED_AT
    body = json.dumps(payload).encode()
    before = datetime.now(UTC)
    (event,) = SOURCE.parse(headers(body), body)
    assert before <= event.occurred_at <= datetime.now(UTC)


def test_the_v9_short_names_are_read_too() -> None:
    payload = fixture(CREATED)
    for name in ("workspace_id", "project_id", "user_id"):
        del payload["payload"][name]
    (event,) = parse(payload)
    assert (event.data["workspace_id"], event.data["project_id"], event.data["user_id"]) == (
        5001234,
        200123456,
        6,
    )


def test_a_deleted_entry_known_only_by_its_metadata() -> None:
    payload = fixture(FIXTURES / "time_entry_deleted__default.json") | {"payload": {}}
    (event,) = parse(payload)
    assert event.kind == "toggl.entry_deleted" and event.subject == "toggl-entry:4012345678"
    assert event.data["entry_id"] == 4012345678 and event.data["workspace_id"] == 5001234


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"metadata": {}}', "missing field 'payload'"),
        (b'{"payload": {}}', "missing field 'metadata'"),
        (b'{"payload": {}, "metadata": "x"}', "metadata must be an object"),
    ],
)
def test_a_malformed_body_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers(body), body)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("event_id",), None, "event_id must be a Toggl id"),
        (("event_id",), True, "event_id must be a Toggl id"),
        (("creator_id",), "alice", "creator_id must be a Toggl id"),
        (("creator_id",), -6, "creator_id must be a Toggl id"),
        (("payload",), [1], "payload must be an object"),
        (("payload", "id"), 2**64, "payload.id must be a Toggl id"),
        (("payload", "duration"), "long", "payload.duration must be an integer"),
        (("payload", "start"), "yesterday", "payload.start must be an ISO 8601 time"),
        (("payload", "start"), "2026-11-02T09:00:00", "payload.start must have a time zone"),
        (("payload", "tags"), "docs", "payload.tags must be a list of names"),
        (("payload", "billable"), "yes", "payload.billable must be true or false"),
        (("payload", "description"), 5, "payload.description must be text"),
        (("created_at",), 1730000000, "created_at must be an ISO 8601 time"),
    ],
)
def test_a_field_of_the_wrong_type_says_which(path: tuple[str, ...], value: Any, message: str) -> None:
    payload = fixture(CREATED)
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    with pytest.raises(PayloadError, match=message):
        parse(payload)


def test_a_missing_event_id_is_a_payload_error() -> None:
    payload = fixture(CREATED)
    del payload["event_id"]
    with pytest.raises(PayloadError, match="missing field 'event_id'"):
        parse(payload)


def test_explain_and_recognizes() -> None:
    assert SOURCE.explain_headers(fixture(CREATED)) == {}
    assert SOURCE.recognizes(fixture(CREATED)) and SOURCE.recognizes(fixture(PING))
    assert not SOURCE.recognizes({"ref": "x", "repository": {}})


# -- identities ------------------------------------------------------------------------------------------------


RULE_FILE = """
identities:
  alice:
    emails: [alice@acme.io]
    toggl_user: ["6"]
  bob:
    emails: [bob@acme.io]
    toggl_user: ["7"]
rules: []
"""


def test_the_identity_is_found_by_its_toggl_user_id() -> None:
    config = parse_config(RULE_FILE)
    (event,) = harness.receive(CREATED)
    assert event.actor == "6"
    assert resolve_identity(event, config) == "alice"


def test_a_toggl_user_list_must_hold_names() -> None:
    with pytest.raises(ConfigError, match="toggl_user"):
        parse_config(RULE_FILE.replace('toggl_user: ["7"]', "toggl_user: 7"))


def test_a_rule_on_toggl_kinds_is_checked_against_their_fields() -> None:
    parse_config(
        "rules:\n  - name: r\n    on: [toggl.entry_created, toggl.entry_stopped]\n"
        "    if: {created_with: {not: togglbridge}, running: false}\n"
        "    do: [{tag: {tags: ['{{ project }}']}}]\n"
    )
    with pytest.raises(ConfigError, match=r"'descripton' is not a field of toggl\.entry_created"):
        parse_config(
            "rules:\n  - name: r\n    on: toggl.entry_created\n    if: {descripton: {exists: true}}\n"
        )
