"""The text of /toggl commands, read into ChatCommand."""

from __future__ import annotations

from typing import Any

import pytest

from togglbridge.chat_text import ChatCommand, ChatCommandError, parse_chat_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start Write report @Acme #writing #deep", ("Write report", "Acme", ["writing", "deep"], None)),
        ('start "Quoted @ text" @"Client Project" #tag', ("Quoted @ text", "Client Project", ["tag"], None)),
        ("start Review $ #billing", ("Review", None, ["billing"], True)),
        ("START  spaced   out  ", ("spaced out", None, [], None)),
        ("start", ("", None, [], None)),
        ("start Mail bob@acme.io about C# @Acme", ("Mail bob@acme.io about C#", "Acme", [], None)),
        ("start Pay @ the desk #a #a", ("Pay @ the desk", None, ["a"], None)),
        (
            "start \u201cSmart quotes #kept\u201d #\u201cdeep work\u201d",
            ("Smart quotes #kept", None, ["deep work"], None),
        ),
        ('start "$"', ("$", None, [], None)),
    ],
)
def test_start(text: str, expected: tuple[str, str | None, list[str], bool | None]) -> None:
    command = parse_chat_command(text)
    assert command.verb == "start"
    assert (command.description, command.project, command.tags, command.billable) == expected


@pytest.mark.parametrize(
    ("text", "verb"), [("stop", "stop"), ("status", "status"), ("help", "help"), ("", "help")]
)
def test_other_verbs(text: str, verb: str) -> None:
    assert parse_chat_command(text) == ChatCommand.model_validate({"verb": verb})


@pytest.mark.parametrize(
    ("text", "reason", "then"),
    [
        ("begin Write report", "Unknown command 'begin'", "/toggl commands:"),
        ("@Acme start", "Unknown command '@Acme'", "/toggl commands:"),
        ("stop now please", "'stop' takes nothing after it", "Usage: /toggl stop"),
        ('start "unclosed', "A quote is not closed", "Usage: /toggl start"),
        ("start x @A @B", "One project per entry: @A and @B", "Usage: /toggl start"),
        ('start x @""', "is empty", "Usage: /toggl start"),
    ],
)
def test_text_that_is_not_a_command_says_what_to_type(text: str, reason: str, then: str) -> None:
    with pytest.raises(ChatCommandError, match=reason) as caught:
        parse_chat_command(text)
    assert str(caught.value).splitlines()[1].startswith(then)


def test_a_command_round_trips_through_event_data() -> None:
    command = parse_chat_command("start Write @Acme #a $")
    data = command.to_event_data("start Write @Acme #a $") | {"channel_name": "general"}
    assert data["text"] == "start Write @Acme #a $"
    assert ChatCommand.from_event_data(data) == command


@pytest.mark.parametrize(
    ("data", "verb"),
    [
        ({"text": "stop"}, "stop"),  # only the text: parsed again
        ({"verb": "nonsense", "text": "start x"}, "start"),
    ],
)
def test_event_data_falls_back_to_the_text(data: dict[str, Any], verb: str) -> None:
    assert ChatCommand.from_event_data(data).verb == verb


def test_event_data_with_neither_verb_nor_text_is_an_error() -> None:
    with pytest.raises(ChatCommandError, match="neither a known verb nor"):
        ChatCommand.from_event_data({"verb": 3})
