"""The Mattermost source: every fixture against its golden events (as JSON and as the form Mattermost posts), the
token in either place, the immediate answers, the reply channel, and what never reaches an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sources import harness
from togglbridge.chat_text import USAGE, usage
from togglbridge.events import Event
from togglbridge.sources import REGISTRY, PayloadError, ReplyChannel, SignatureError
from togglbridge.sources.mattermost import FORM, SOURCE, explain_headers, form_body, recognizes

SECRET = harness.SENDERS["mattermost"].secret
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FIXTURES = harness.FIXTURES / "mattermost"


def load(name: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((FIXTURES / f"command__{name}.json").read_text())
    return loaded


def as_form(fields: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """A request as Mattermost sends it: a form, the token in the form and in ``Authorization``."""
    return {"Content-Type": FORM, "Authorization": f"Token {SECRET}"}, form_body(fields)


def received(fields: dict[str, str]) -> list[Event]:
    headers, body = as_form(fields)
    SOURCE.verify(headers, body, SECRET, NOW)
    return SOURCE.parse(headers, body, harness.RECEIVED_AT)


@harness.each_fixture("mattermost")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("mattermost") == []


@harness.each_fixture("mattermost")
def test_the_form_of_each_fixture_makes_the_same_events(fixture: Path) -> None:
    fields = json.loads(fixture.read_text())
    golden = json.loads(harness.golden_path(fixture).read_text())
    made = json.loads(harness.events_json(received(fields)))
    if "trigger_id" not in fields:  # the id falls back to a hash of the body, which differs between encodings
        for event in [*made, *golden]:
            event["id"] = "mattermost:<hash of the body>"
    assert made == golden


@harness.each_fixture("mattermost")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_the_source_is_registered_as_a_chat_platform() -> None:
    assert REGISTRY.sources["mattermost"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_MATTERMOST_TOKEN"
    assert REGISTRY.platforms["mattermost"] == "mattermost"
    assert "mattermost" in REGISTRY.chat_platforms
    assert set(REGISTRY.kind_schema("chat.command").fields) >= {"verb", "channel_name", "team_domain"}


def test_a_start_carries_the_command_and_the_platform_fields_but_no_secret_of_the_moment() -> None:
    (event,) = received(load("start"))
    assert event.id.startswith("mattermost:") and event.source == "mattermost"
    assert event.kind == "chat.command" and event.actor == "c3a4cqe3dfy6dgopqt8ai3hydh"
    assert event.occurred_at == harness.RECEIVED_AT
    assert event.data | {"tags": []} == {
        "verb": "start",
        "description": "Write report",
        "project": "Acme",
        "tags": [],
        "billable": True,
        "duration_seconds": None,
        "day": None,
        "at": None,
        "topic": None,
        "text": 'start Write report @Acme #writing #"deep work" $',
        "platform": "mattermost",
        "channel_id": "cniah6qa73bjjjan6mzn11f4ie",
        "channel_name": "town-square",
        "command": "/toggl",
        "team_domain": "acme",
        "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
        "user_id": "c3a4cqe3dfy6dgopqt8ai3hydh",
        "user_name": "ada",
    }
    assert event.data["tags"] == ["writing", "deep work"]
    dumped = event.model_dump_json()
    for secret in (load("start")["response_url"], load("start")["trigger_id"], SECRET):
        assert secret not in dumped


def test_the_same_trigger_is_the_same_event_and_another_is_another() -> None:
    first = received(load("stop"))[0]
    assert received(load("stop"))[0].id == first.id
    assert received(load("stop") | {"trigger_id": "another"})[0].id != first.id


@pytest.mark.parametrize("name", ["unparsable", "help"])
def test_help_and_text_that_is_not_a_command_make_no_event(name: str) -> None:
    assert received(load(name)) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", USAGE),
        ("help", USAGE),
        ("help log", usage("log")),
        ("strat Write report", "Unknown command 'strat'."),
        ("log an hour", usage("log")),
        ('start "unclosed', "A quote is not closed"),
    ],
)
def test_the_immediate_answer_to_what_makes_no_event_is_the_help_or_the_usage(text: str, says: str) -> None:
    headers, body = as_form(load("help") | {"text": text})
    assert SOURCE.parse(headers, body, NOW) == []
    reply = SOURCE.answer(headers, body, "no events")
    assert reply is not None and reply.status == 200
    assert reply.body["response_type"] == "ephemeral"
    assert says in reply.body["text"]
    assert "Traceback" not in reply.body["text"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("start", 'Starting “Write report” @Acme #writing #"deep work", billable…'),
        ("stop", "Stopping your running entry…"),
        ("status", "Looking up your running entry and today's total…"),
        ("log", "Logging 1h 30m “Review” @Acme #review, yesterday at 14:00…"),
    ],
)
def test_the_immediate_answer_to_a_command_says_privately_what_will_happen(name: str, says: str) -> None:
    headers, body = as_form(load(name))
    reply = SOURCE.answer(headers, body, "accepted")
    assert reply is not None and reply.status == 200
    assert reply.body == {"response_type": "ephemeral", "text": says}


def test_a_command_received_twice_is_answered_without_doing_it_again() -> None:
    headers, body = as_form(load("start"))
    reply = SOURCE.answer(headers, body, "duplicate")
    assert reply is not None and "received already" in reply.body["text"]


def test_the_follow_up_goes_to_the_response_url() -> None:
    headers, body = as_form(load("start"))
    assert SOURCE.reply_channel(headers, body) == ReplyChannel(
        "mattermost", url=load("start")["response_url"]
    )
    for url in ("", "not supported yet", "javascript:alert(1)"):
        headers, body = as_form(load("start") | {"response_url": url})
        assert SOURCE.reply_channel(headers, body) is None


# -- the token --------------------------------------------------------------------------------------------------


def test_the_token_is_accepted_from_the_header_or_from_the_form() -> None:
    body = form_body(load("start"))
    SOURCE.verify({"Content-Type": FORM, "Authorization": f"Token {SECRET}"}, body, SECRET, NOW)
    SOURCE.verify({"content-type": FORM, "authorization": f"token {SECRET}"}, body, SECRET, NOW)
    SOURCE.verify({"Content-Type": FORM}, body, SECRET, NOW)  # the form's token field
    as_json = json.dumps(load("start")).encode()
    SOURCE.verify({"Content-Type": "application/json"}, as_json, SECRET, NOW)


@pytest.mark.parametrize(
    ("headers", "fields", "says"),
    [
        ({}, {"token": ""}, "missing the command's token"),
        ({}, {"token": "guess"}, "not this command's token"),
        ({"Authorization": "Token guess"}, {}, "not this command's token"),
        ({"Authorization": f"Token {SECRET}x"}, {}, "not this command's token"),
        ({"Authorization": f"Token {SECRET.upper()}"}, {}, "not this command's token"),
        ({"Authorization": "Token zoë"}, {}, "not this command's token"),
        # a wrong header is not saved by a right form field: whoever sent the header does not know the token
        ({"Authorization": "Token guess"}, {"token": SECRET}, "not this command's token"),
        ({"Authorization": f"Bearer {SECRET}"}, {"token": ""}, "missing the command's token"),
    ],
)
def test_a_missing_or_wrong_token_is_refused_without_showing_it(
    headers: dict[str, str], fields: dict[str, str], says: str
) -> None:
    body = form_body(load("start") | fields)
    with pytest.raises(SignatureError, match=says) as refused:
        SOURCE.verify({"Content-Type": FORM, **headers}, body, SECRET, NOW)
    assert SECRET not in str(refused.value)
    assert refused.value.status == 401


def test_an_unreadable_body_without_a_token_header_is_refused_as_unsigned() -> None:
    with pytest.raises(SignatureError):
        SOURCE.verify({"Content-Type": FORM}, b"\xff\xfe", SECRET, NOW)
    with pytest.raises(SignatureError):
        SOURCE.verify({"Content-Type": "application/json"}, b"{not json", SECRET, NOW)


# -- malformed requests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "says"),
    [
        (FORM, b"text=start+x&user_id=\xff", "not UTF-8"),
        (FORM, b"&".join(b"f%d=1" % n for n in range(200)), "not a usable form"),
        (FORM, form_body({"text": "stop"}), "missing field 'user_id'"),
        (FORM, form_body({"text": "stop", "user_id": ""}), "missing field 'user_id'"),
        ("application/json", b"[1, 2]", "must be a JSON object"),
        ("application/json", b"{not json", "not valid JSON"),
        ("application/json", json.dumps({"text": 5, "user_id": "u"}).encode(), "'text' must be text"),
        ("application/json", json.dumps({"text": "stop", "user_id": ["u"]}).encode(), "'user_id' must be"),
        (
            "application/json",
            json.dumps({"text": "stop", "user_id": "u", "channel_name": {"a": 1}}).encode(),
            "'channel_name' must be text",
        ),
        ("application/json", harness.nested(100_000), "must be a JSON object|nested too deeply"),
    ],
)
def test_malformed_requests_are_a_payload_error_naming_the_problem(
    content_type: str, body: bytes, says: str
) -> None:
    with pytest.raises(PayloadError, match=says):
        SOURCE.parse({"Content-Type": content_type}, body, NOW)


def test_a_request_without_a_time_of_its_own_happens_when_received() -> None:
    headers, body = as_form(load("stop"))
    before = datetime.now(UTC)
    (event,) = SOURCE.parse(headers, body)
    assert event.occurred_at >= before


def test_explain_reads_a_saved_request_as_json() -> None:
    payload: dict[str, Any] = load("start")
    assert recognizes(payload)
    assert not recognizes(payload | {"api_app_id": "A123"})  # Slack's
    body = json.dumps(payload).encode()
    (event,) = SOURCE.parse(explain_headers(payload), body, NOW)
    assert event.data["verb"] == "start"
