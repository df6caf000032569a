"""The Discord source: every fixture against its golden events, Ed25519 with a generated key (good, bad, missing,
tampered), PING and PONG, the command's text rebuilt from its options, the immediate answers, the reply channel,
and the command ``togglbridge discord register`` registers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.sources import harness
from togglbridge.chat_text import USAGE, VERBS, usage
from togglbridge.events import Event
from togglbridge.sources import REGISTRY, PayloadError, ReplyChannel, SignatureError
from togglbridge.sources.discord import (
    COMMAND,
    SIGNATURE,
    SOURCE,
    check_secret,
    command_text,
    recognizes,
)
from togglbridge.sources.signing import public_key_hex

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FIXTURES = harness.FIXTURES / "discord"
KEY = Ed25519PrivateKey.generate()
PUBLIC = public_key_hex(KEY)


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"interaction__{name}.json").read_text())
    return loaded


def signed(payload: dict[str, Any], key: Ed25519PrivateKey = KEY) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {"Content-Type": "application/json", **SIGNATURE.sign(body, key, NOW)}, body


def received(payload: dict[str, Any]) -> list[Event]:
    headers, body = signed(payload)
    SOURCE.verify(headers, body, PUBLIC, NOW)
    return SOURCE.parse(headers, body, NOW)


def with_options(sub: str, text: str | None = None) -> dict[str, Any]:
    payload = load("guild_start")
    option: dict[str, Any] = {"type": 1, "name": sub}
    if text is not None:
        option["options"] = [{"type": 3, "name": "text", "value": text}]
    payload["data"]["options"] = [option]
    return payload


@harness.each_fixture("discord")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("discord") == []


@harness.each_fixture("discord")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_the_source_is_registered_as_a_chat_platform() -> None:
    assert REGISTRY.sources["discord"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_DISCORD_PUBLIC_KEY"
    assert REGISTRY.platforms["discord"] == "discord"
    assert "discord" in REGISTRY.chat_platforms


# -- the signature ------------------------------------------------------------------------------------------------


def test_a_signature_made_with_the_key_verifies() -> None:
    headers, body = signed(load("guild_start"))
    SOURCE.verify(headers, body, PUBLIC, NOW)
    SOURCE.verify({k.lower(): v for k, v in headers.items()}, body, PUBLIC, NOW)


def test_another_keys_signature_is_refused() -> None:
    headers, body = signed(load("guild_start"), Ed25519PrivateKey.generate())
    with pytest.raises(SignatureError, match="X-Signature-Ed25519 does not match the body") as refused:
        SOURCE.verify(headers, body, PUBLIC, NOW)
    assert refused.value.status == 401


@pytest.mark.parametrize("missing", ["X-Signature-Ed25519", "X-Signature-Timestamp"])
def test_a_missing_header_is_refused_naming_it(missing: str) -> None:
    headers, body = signed(load("ping"))
    del headers[missing]
    with pytest.raises(SignatureError, match=f"missing {missing} header"):
        SOURCE.verify(headers, body, PUBLIC, NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b'"type": 1', b'"type": 2', 1)), id="body"),
        pytest.param(lambda h, b: (h, b + b" "), id="trailing space"),
        pytest.param(lambda h, b: (h | {"X-Signature-Timestamp": "1"}, b), id="timestamp"),
        pytest.param(lambda h, b: (h | {"X-Signature-Ed25519": "00" * 64}, b), id="zeros"),
        pytest.param(lambda h, b: (h | {"X-Signature-Ed25519": "zz"}, b), id="not hex"),
        pytest.param(lambda h, b: (h | {"X-Signature-Ed25519": "abc"}, b), id="odd hex"),
        pytest.param(lambda h, b: (h | {"X-Signature-Ed25519": "é" * 10}, b), id="latin-1"),
        pytest.param(lambda h, b: (h | {"X-Signature-Timestamp": "é"}, b), id="latin-1 timestamp"),
    ],
)
def test_a_tampered_delivery_is_refused(tamper: Any) -> None:
    headers, body = tamper(*signed(load("ping")))
    with pytest.raises(SignatureError, match=r"does not match the body|from now|not a unix time"):
        SOURCE.verify(headers, body, PUBLIC, NOW)


def test_a_captured_request_replayed_later_is_refused() -> None:
    from datetime import timedelta

    headers, body = signed(load("ping"))
    SOURCE.verify(headers, body, PUBLIC, NOW + timedelta(minutes=4))
    with pytest.raises(SignatureError, match="from now"):
        SOURCE.verify(headers, body, PUBLIC, NOW + timedelta(minutes=6))


def test_a_configured_key_that_is_not_a_key_is_refused_and_caught_at_start() -> None:
    headers, body = signed(load("ping"))
    with pytest.raises(SignatureError, match="public key is not 32 bytes"):
        SOURCE.verify(headers, body, "not-hex", NOW)
    assert check_secret(PUBLIC) is None
    for wrong in ("", "abcd", "zz" * 32, PUBLIC + "00"):
        assert check_secret(wrong) is not None


# -- what is answered ---------------------------------------------------------------------------------------------


def test_a_ping_is_answered_with_a_pong_and_makes_no_event() -> None:
    headers, body = signed(load("ping"))
    assert SOURCE.parse(headers, body, NOW) == []
    assert SOURCE.answer(headers, body, "no events") == SOURCE.answer(headers, body, "duplicate")
    reply = SOURCE.answer(headers, body, "no events")
    assert reply is not None and (reply.status, reply.body) == (200, {"type": 1})


def test_a_command_is_deferred_privately_and_its_follow_up_edits_that_answer() -> None:
    headers, body = signed(load("guild_start"))
    reply = SOURCE.answer(headers, body, "accepted")
    assert reply is not None and (reply.status, reply.body) == (200, {"type": 5, "data": {"flags": 64}})
    assert SOURCE.reply_channel(headers, body) == ReplyChannel(
        "discord", token=load("guild_start")["token"], application_id="1149587351396061244"
    )


def test_a_command_received_twice_is_answered_privately_without_waiting() -> None:
    headers, body = signed(load("guild_start"))
    reply = SOURCE.answer(headers, body, "duplicate")
    assert reply is not None and reply.body["type"] == 4 and reply.body["data"]["flags"] == 64


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (with_options("help"), USAGE),
        (with_options("help", "log"), usage("log")),
        (with_options("log", "an hour of Review"), usage("log")),
        (with_options("tag", "review"), usage("tag")),
        (with_options("frobnicate"), "Unknown command 'frobnicate'."),
        (with_options("start", '"unclosed'), "A quote is not closed"),
    ],
)
def test_help_and_text_that_is_not_a_command_are_answered_at_once_with_no_event(
    payload: dict[str, Any], says: str
) -> None:
    headers, body = signed(payload)
    assert SOURCE.parse(headers, body, NOW) == []
    reply = SOURCE.answer(headers, body, "no events")
    assert reply is not None and reply.status == 200
    assert reply.body["type"] == 4 and reply.body["data"]["flags"] == 64
    assert says in reply.body["data"]["content"]
    assert len(reply.body["data"]["content"]) <= 2000


def test_other_interactions_make_no_event_and_get_the_usual_answer() -> None:
    headers, body = signed(load("guild_start") | {"type": 3})
    assert SOURCE.parse(headers, body, NOW) == []
    assert SOURCE.answer(headers, body, "no events") is None


# -- the event ------------------------------------------------------------------------------------------------------


def test_a_guild_command_is_one_event_of_the_member_with_no_token() -> None:
    (event,) = received(load("guild_start"))
    assert event.id == "discord:1311234567890123456" and event.source == "discord"
    assert event.actor == "80351110224678912" and event.occurred_at == NOW
    assert event.data["text"] == 'start Write report @Acme #writing #"deep work" $'
    assert (event.data["verb"], event.data["project"], event.data["tags"]) == (
        "start",
        "Acme",
        ["writing", "deep work"],
    )
    assert {k: event.data[k] for k in ("platform", "guild_id", "channel_id", "user_id", "user_name")} == {
        "platform": "discord",
        "guild_id": "290926798626357250",
        "channel_id": "290926798999357250",
        "user_id": "80351110224678912",
        "user_name": "ada",
    }
    assert load("guild_start")["token"] not in event.model_dump_json()


def test_a_dm_command_is_the_users_with_no_guild() -> None:
    (event,) = received(load("dm_stop"))
    assert event.actor == "80351110224678912" and event.data["verb"] == "stop"
    assert "guild_id" not in event.data


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ([{"type": 1, "name": "stop"}], "stop"),
        (
            [{"type": 1, "name": "start", "options": [{"type": 3, "name": "text", "value": " x @P "}]}],
            "start x @P",
        ),
        ([{"type": 3, "name": "text", "value": "log 1h Review"}], "log 1h Review"),  # one string option
        ([], ""),
        (None, ""),
    ],
)
def test_the_text_is_rebuilt_from_the_options(options: Any, text: str) -> None:
    assert command_text({"data": {"name": "toggl", "options": options}}) == text


def without(payload: dict[str, Any], *path: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return changed


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (without(load("guild_start"), "type"), "'type'"),
        (load("guild_start") | {"type": "2"}, "'type'"),
        (load("guild_start") | {"type": True}, "'type'"),
        (without(load("guild_start"), "data"), "data must be an object"),
        (load("guild_start") | {"data": {"options": "start"}}, "data.options must be a list"),
        (load("guild_start") | {"data": {"options": [{"type": 3, "value": 5}]}}, "must be text"),
        (without(load("guild_start"), "id"), "field 'id' must be text"),
        (without(load("guild_start"), "member"), "user must be an object"),
        (load("guild_start") | {"member": {"user": None}}, "member.user must be an object"),
        (load("guild_start") | {"member": []}, "member must be an object"),
        (without(load("guild_start"), "member", "user", "id"), "the user's id must be text"),
        (load("guild_start") | {"id": ""}, "must not be empty"),
        (load("guild_start") | {"guild_id": 7}, "'guild_id' must be text"),
    ],
)
def test_malformed_interactions_are_a_payload_error_naming_the_problem(
    payload: dict[str, Any], says: str
) -> None:
    with pytest.raises(PayloadError, match=says):
        received(payload)


def test_recognizes_interactions() -> None:
    assert recognizes(load("ping")) and recognizes(load("guild_start"))
    assert not recognizes({"type": 2, "text": "start"})


# -- the registered command ---------------------------------------------------------------------------------------


def test_the_registered_command_has_a_subcommand_per_verb_in_the_help_order() -> None:
    assert COMMAND["name"] == "toggl" and COMMAND["type"] == 1
    subcommands = COMMAND["options"]
    assert [s["name"] for s in subcommands] == list(VERBS)
    for sub in subcommands:
        assert sub["type"] == 1 and 1 <= len(sub["description"]) <= 100
        for option in sub.get("options", []):
            assert (option["type"], option["name"]) == (3, "text")
            assert 1 <= len(option["description"]) <= 100


@pytest.mark.parametrize("verb", VERBS)
def test_what_the_registered_shape_sends_is_read_as_that_verb(verb: str) -> None:
    sub = next(s for s in COMMAND["options"] if s["name"] == verb)
    takes_text = bool(sub.get("options"))
    example = {"log": "1h Review", "tag": "#x", "untag": "#x", "start": "Write", "help": "log"}.get(verb)
    text = command_text(
        {
            "data": {
                "options": [
                    {
                        "type": 1,
                        "name": verb,
                        **(
                            {"options": [{"type": 3, "name": "text", "value": example}]}
                            if takes_text and example
                            else {}
                        ),
                    }
                ]
            }
        }
    )
    assert text.split()[0] == verb
