"""The Slack source: every fixture against its golden events, Slack's signature (its documented vector, stale and
future timestamps), the form, the immediate answers with their buttons, and where the follow-up goes.

A fixture holds the form's fields as a JSON object (an interaction's ``payload`` as the object it encodes), since
Slack documents its requests that way; ``body_of`` encodes it as Slack posts it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.sources import harness
from togglbridge.chat_text import USAGE
from togglbridge.events import Event
from togglbridge.sources import REGISTRY, PayloadError, SignatureError
from togglbridge.sources.kinds import PLANNED_KINDS
from togglbridge.sources.slack import SOURCE, delivery_id, escape, form

SENDER = harness.SENDERS["slack"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FIXTURES = harness.FIXTURES / "slack"
SECRETS_OF_THE_MOMENT = (
    "response_url",
    "trigger_id",
    "hooks.slack.com",
    "13345224609",
    "12321423423",
    "token",
)


def fields_of(fixture: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture.read_text())
    return loaded


def encode(fields: dict[str, Any]) -> bytes:
    """The form as Slack posts it; an interaction's payload object as its JSON."""
    flat = {name: json.dumps(value) if isinstance(value, dict) else value for name, value in fields.items()}
    return urlencode(flat).encode()


def body_of(fixture: Path) -> bytes:
    return encode(fields_of(fixture))


def signed(body: bytes, now: datetime = NOW) -> dict[str, str]:
    return SENDER.signed_headers("", body, "", now)


def receive(fixture: Path) -> list[Event]:
    body = body_of(fixture)
    headers = signed(body)
    SOURCE.verify(headers, body, SECRET, NOW)
    return SOURCE.parse(headers, body, harness.RECEIVED_AT)


def command(text: str, **more: str) -> bytes:
    return encode(fields_of(FIXTURES / "command__stop.json") | {"text": text} | more)


def parse(body: bytes) -> list[Event]:
    return SOURCE.parse(signed(body), body, harness.RECEIVED_AT)


def answer_of(body: bytes, verdict: Any = "accepted") -> Any:
    reply = SOURCE.answer(signed(body), body, verdict)
    assert reply is not None and reply.status == 200
    return reply.body


@harness.each_fixture("slack")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    made = harness.events_json(receive(fixture))
    golden = harness.golden_path(fixture)
    if update_golden:
        golden.write_text(made)
        return
    assert golden.exists(), f"{golden.name} is missing: write it with `pytest --update-golden` and review it"
    assert json.loads(made) == json.loads(golden.read_text())


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("slack") == []


@harness.each_fixture("slack")
def test_events_round_trip_and_carry_no_secret_of_the_moment(fixture: Path) -> None:
    schema = PLANNED_KINDS["chat.command"]
    for event in receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event
        assert set(event.data) <= schema.fields
        dumped = event.model_dump_json()
        for secret in SECRETS_OF_THE_MOMENT:
            assert secret not in dumped


def test_the_source_is_registered_as_a_chat_platform() -> None:
    assert REGISTRY.sources["slack"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_SLACK_SIGNING_SECRET"
    assert REGISTRY.platforms["slack"] == "slack"
    assert REGISTRY.handles["slack"].chat
    assert "slack" in REGISTRY.chat_platforms
    assert REGISTRY.kind_schema("chat.command") == PLANNED_KINDS["chat.command"]
    assert SOURCE.content_types == ("application/x-www-form-urlencoded",)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (SECRET, None),
        ("8f742231b10e8888abcd99yyyzzz85a5", None),
        (" 8f742231b10e8888abcd99yyyzzz85a5", "spaces"),
        ("8f742231b10e8888abcd99yyyzzz85a5\n", "spaces"),
        ("short", "too short"),
    ],
)
def test_the_signing_secret_shape(secret: str, problem: str | None) -> None:
    found = SOURCE.check_secret(secret)
    assert (found is None) if problem is None else (found is not None and problem in found)


# -- the signature ----------------------------------------------------------------------------------------------

# Slack's documented example ("Verifying requests from Slack").
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = "1531420618"
VECTOR_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
VECTOR_NOW = datetime.fromtimestamp(int(VECTOR_TIMESTAMP), UTC)


def test_slacks_documented_signature_verifies_and_is_what_sign_makes() -> None:
    headers = {"X-Slack-Request-Timestamp": VECTOR_TIMESTAMP, "X-Slack-Signature": VECTOR_SIGNATURE}
    SOURCE.verify(headers, VECTOR_BODY, VECTOR_SECRET, VECTOR_NOW + timedelta(seconds=30))
    assert SOURCE.sign({}, VECTOR_BODY, VECTOR_SECRET, VECTOR_NOW) == headers
    lowered = {k.lower(): v for k, v in headers.items()}
    SOURCE.verify(lowered, VECTOR_BODY, VECTOR_SECRET, VECTOR_NOW)


def test_the_documented_example_parses_as_empty_text_which_is_help() -> None:
    assert SOURCE.parse({}, VECTOR_BODY, VECTOR_NOW) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"X-Slack-Signature": None}, "missing X-Slack-Signature header"),
        ({"X-Slack-Request-Timestamp": None}, "missing X-Slack-Request-Timestamp header"),
        ({"X-Slack-Signature": "v0=" + "0" * 64}, "does not match the body"),
        ({"X-Slack-Signature": VECTOR_SIGNATURE.replace("v0=", "v1=")}, "does not match the body"),
        ({"X-Slack-Signature": VECTOR_SIGNATURE.removeprefix("v0=")}, "does not match the body"),
        ({"X-Slack-Signature": "sha256=" + "0" * 64}, "does not match the body"),
        ({"X-Slack-Signature": "v0=é"}, "does not match the body"),
        ({"X-Slack-Request-Timestamp": "yesterday"}, "not a unix time"),
        ({"X-Slack-Request-Timestamp": "١٥٣١٤٢٠٦١٨"}, "not a unix time"),  # other scripts' digits
        ({"X-Slack-Request-Timestamp": str(int(VECTOR_TIMESTAMP) + 1)}, "does not match the body"),
    ],
)
def test_each_way_a_signature_is_refused(change: dict[str, str | None], reason: str) -> None:
    headers = {"X-Slack-Request-Timestamp": VECTOR_TIMESTAMP, "X-Slack-Signature": VECTOR_SIGNATURE} | change
    kept = {name: value for name, value in headers.items() if value is not None}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(kept, VECTOR_BODY, VECTOR_SECRET, VECTOR_NOW)


@pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1)])
def test_a_request_more_than_five_minutes_from_now_is_refused(offset: timedelta) -> None:
    body = command("stop")
    headers = signed(body, NOW + offset)
    with pytest.raises(SignatureError, match="more than 300 s from now"):
        SOURCE.verify(headers, body, SECRET, NOW)


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(minutes=4, seconds=59)])
def test_a_request_within_five_minutes_verifies(offset: timedelta) -> None:
    body = command("stop")
    SOURCE.verify(signed(body, NOW + offset), body, SECRET, NOW)


def test_the_signature_covers_the_raw_body_not_the_fields() -> None:
    body = command("start Write report")
    headers = signed(body)
    same_fields = body.replace(b"Write+report", b"Write%20report")
    assert form(same_fields) == form(body)
    with pytest.raises(SignatureError, match="does not match the body"):
        SOURCE.verify(headers, same_fields, SECRET, NOW)
    with pytest.raises(SignatureError, match="does not match the body"):
        SOURCE.verify(headers, body, SECRET + "x", NOW)


def test_the_delivery_id_is_a_hash_of_the_signature_never_the_signature() -> None:
    body = command("stop")
    headers = signed(body)
    found = delivery_id(headers)
    assert found is not None and found.startswith("sig-")
    assert headers["X-Slack-Signature"].removeprefix("v0=") not in found
    assert delivery_id(headers) == found
    assert delivery_id(signed(body, NOW + timedelta(seconds=1))) != found
    assert delivery_id({}) is None


# -- events -----------------------------------------------------------------------------------------------------


def test_a_start_is_one_chat_command_by_the_slack_user() -> None:
    (event,) = receive(FIXTURES / "command__start_with_project_and_tags.json")
    assert (event.source, event.kind, event.actor) == ("slack", "chat.command", "U2147483697")
    assert event.occurred_at == harness.RECEIVED_AT
    assert event.data["verb"] == "start"
    assert (event.data["description"], event.data["project"], event.data["tags"]) == (
        "Write report",
        "Acme",
        ["writing"],
    )
    assert event.data["text"] == "start Write report @Acme #writing"
    assert event.data["platform"] == "slack"
    assert event.data["command"] == "/toggl"


def test_the_same_trigger_is_the_same_event_and_another_is_another() -> None:
    first = parse(command("start A", trigger_id="1.2.a"))
    again = parse(command("start A", trigger_id="1.2.a"))
    other = parse(command("start A", trigger_id="1.2.b"))
    assert first[0].id == again[0].id != other[0].id
    assert "1.2.a" not in first[0].id


def test_without_a_trigger_id_the_id_is_a_hash_of_the_body() -> None:
    fields = fields_of(FIXTURES / "command__without_trigger_id.json")
    (one,) = parse(encode(fields))
    (same,) = parse(encode(fields))
    (other,) = parse(encode(fields | {"channel_id": "C9"}))
    assert one.id == same.id != other.id


def test_a_command_without_received_at_happens_now() -> None:
    body = command("stop")
    before = datetime.now(UTC)
    (event,) = SOURCE.parse(signed(body), body)
    assert before <= event.occurred_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    "text", ["help", "help log", "", "   ", "strat x", "log forever", 'start "open', "help nope"]
)
def test_help_and_text_that_is_not_a_command_make_no_event(text: str) -> None:
    assert parse(command(text)) == []


def test_an_interaction_click_becomes_the_command_of_its_button() -> None:
    (stop,) = receive(FIXTURES / "block_actions__stop_click.json")
    (resume,) = receive(FIXTURES / "block_actions__resume_click.json")
    assert (stop.data["verb"], stop.actor, stop.kind) == ("stop", "U2147483697", "chat.command")
    assert resume.data["verb"] == "resume"
    assert stop.id != resume.id
    assert receive(FIXTURES / "block_actions__another_button.json") == []


def _click(**changes: Any) -> bytes:
    fields = fields_of(FIXTURES / "block_actions__stop_click.json")
    payload = fields["payload"] | changes
    return encode({"payload": {k: v for k, v in payload.items() if v is not _GONE}})


_GONE = object()


def test_a_click_without_trigger_id_is_keyed_by_its_action_time() -> None:
    (one,) = parse(_click(trigger_id=_GONE))
    (same,) = parse(_click(trigger_id=_GONE))
    assert one.id == same.id
    (without_either,) = parse(
        encode(
            {
                "payload": fields_of(FIXTURES / "block_actions__stop_click.json")["payload"]
                | {"trigger_id": None, "actions": [{"action_id": "toggl_stop"}]}
            }
        )
    )
    assert without_either.id.startswith("slack:")


@pytest.mark.parametrize(
    "payload_type", ["view_submission", "message_action", "shortcut", "interactive_message", None, 5]
)
def test_other_interactions_make_no_event(payload_type: Any) -> None:
    assert parse(_click(type=payload_type)) == []


def test_an_ssl_check_makes_no_event() -> None:
    assert receive(FIXTURES / "ssl_check__default.json") == []


# -- malformed requests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"text=%ff", "not UTF-8"),
        (b"text", "not a form"),
        (b"&".join(b"f%d=1" % i for i in range(101)), "too many fields"),
        (b"command=%2Ftoggl&text=stop&text=start", "given twice"),
        (b"command=%2Ftoggl&text=stop", "missing field 'user_id'"),
        (b"user_id=U1&text=stop", "missing field 'command'"),
        (b"", "missing field 'command'"),
        (b"payload=%7Bnot+json", "payload field: body is not valid JSON"),
        (b"payload=%5B1%2C2%5D", "payload field: body must be a JSON object"),
        (b"payload=" + b"%5B" * 100_000, "payload field"),
    ],
)
def test_a_malformed_request_is_a_payload_error(body: bytes, says: str) -> None:
    with pytest.raises(PayloadError, match=says) as caught:
        parse(body)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"actions": "toggl_stop"}, "must list its actions"),
        ({"actions": _GONE}, "must list its actions"),
        ({"user": _GONE}, "missing field 'user.id'"),
        ({"user": "U1"}, "user must be an object"),
        ({"user": {"id": 7}}, "user.id must be a string"),
        ({"team": ["T1"]}, "team must be an object"),
        ({"channel": {"id": "C1", "name": 5}}, "channel.name must be a string"),
        ({"trigger_id": 12}, "trigger_id must be a string"),
        ({"user": {"id": "U\ud800"}}, "not a usable chat command"),
    ],
)
def test_a_malformed_interaction_is_a_payload_error(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(PayloadError, match=says):
        parse(_click(**changes))


def test_no_error_repeats_a_response_url() -> None:
    body = command("stop", user_id="") + b"&response_url=x"
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert "hooks.slack.com" not in str(caught.value)


# -- the immediate answer and the follow-up's address ----------------------------------------------------------


def _buttons(reply: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["text"]["text"])
        for block in reply.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_the_answer_to_start_says_what_will_happen_privately_with_a_stop_button() -> None:
    reply = answer_of(body_of(FIXTURES / "command__start_with_project_and_tags.json"))
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "Starting “Write report” @Acme #writing…"
    assert _buttons(reply) == [("toggl_stop", "Stop")]
    assert reply["blocks"][0]["text"] == {"type": "plain_text", "text": reply["text"], "emoji": False}


def test_the_answer_to_stop_has_a_resume_button_and_others_none() -> None:
    stop = answer_of(command("stop"))
    assert (stop["text"], _buttons(stop)) == ("Stopping your running entry…", [("toggl_resume", "Resume")])
    status = answer_of(command("status"))
    assert status == {
        "response_type": "ephemeral",
        "text": "Looking up your running entry and today's total…",
    }


def test_a_duplicate_is_answered_as_the_first() -> None:
    body = command("stop")
    assert answer_of(body, "duplicate") == answer_of(body, "accepted")


def test_text_that_is_not_a_command_is_answered_with_its_usage_escaped_for_slack() -> None:
    reply = answer_of(command("log forever"), "no events")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("'forever' is not a duration")
    assert "Usage: /toggl log &lt;duration&gt; &lt;description&gt;" in reply["text"]
    assert "<" not in reply["text"] and "Traceback" not in reply["text"]
    unknown = answer_of(command("strat now"), "no events")
    assert unknown["text"].startswith("Unknown command 'strat'.")


def test_help_is_the_help() -> None:
    assert answer_of(command("help"), "no events") == {"response_type": "ephemeral", "text": escape(USAGE)}
    assert answer_of(command(""), "no events")["text"] == escape(USAGE)
    assert answer_of(command("help log"), "no events")["text"].startswith("Usage: /toggl log")


def test_an_ssl_check_is_answered_with_an_empty_object() -> None:
    assert answer_of(body_of(FIXTURES / "ssl_check__default.json"), "no events") == {}


def test_a_click_is_answered_with_what_it_will_do() -> None:
    stop = answer_of(body_of(FIXTURES / "block_actions__stop_click.json"))
    assert stop == {"response_type": "ephemeral", "text": "Stopping your running entry…"}
    resume = answer_of(body_of(FIXTURES / "block_actions__resume_click.json"))
    assert resume["text"] == "Starting again what you ran last…"
    assert answer_of(body_of(FIXTURES / "block_actions__another_button.json"), "no events") == {}


def test_the_follow_up_goes_to_the_response_url() -> None:
    start = body_of(FIXTURES / "command__start_with_project_and_tags.json")
    channel = SOURCE.reply_channel(signed(start), start)
    assert channel is not None
    assert (channel.platform, channel.url) == (
        "slack",
        "https://hooks.slack.com/commands/T0001/1234/5678abcdEFGH",
    )
    click = body_of(FIXTURES / "block_actions__stop_click.json")
    clicked = SOURCE.reply_channel(signed(click), click)
    assert clicked is not None
    assert clicked.url == "https://hooks.slack.com/actions/T0001/1232321423432/D09sSasdasdAS9091209"


@pytest.mark.parametrize(
    "url", [None, "", "javascript:alert(1)", "file:///etc/passwd", "https://", "hooks.slack.com/x"]
)
def test_no_follow_up_without_a_web_address(url: str | None) -> None:
    fields = fields_of(FIXTURES / "command__stop.json")
    if url is None:
        del fields["response_url"]
    else:
        fields["response_url"] = url
    body = encode(fields)
    assert SOURCE.reply_channel(signed(body), body) is None
    assert SOURCE.reply_channel({}, body_of(FIXTURES / "ssl_check__default.json")) is None
    assert SOURCE.reply_channel({}, _click(response_url=5)) is None
