"""The whole /toggl grammar: every verb and option, the usage each error shows, describe(), and event data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_planner import CHAT_HEAD, chat, config
from togglbridge.chat_text import (
    USAGE,
    VERBS,
    ChatCommand,
    ChatCommandError,
    describe,
    parse_chat_command,
    usage,
)
from togglbridge.rules.planner import plan


def fields(text: str) -> dict[str, Any]:
    """The parsed command's fields that differ from their defaults."""
    return parse_chat_command(text).model_dump(exclude_defaults=True)


def error(text: str) -> list[str]:
    with pytest.raises(ChatCommandError) as caught:
        parse_chat_command(text)
    return str(caught.value).splitlines()


@pytest.mark.parametrize("verb", ["stop", "resume", "status", "today", "week", "undo", "help"])
def test_the_verbs_that_take_nothing(verb: str) -> None:
    assert fields(verb) == {"verb": verb}
    assert fields(f"  {verb.upper()}  ") == {"verb": verb}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log 1h30m Review", {"duration_seconds": 5400, "description": "Review"}),
        ("log 1h 30m Review", {"duration_seconds": 5400, "description": "Review"}),
        ("log 90m Review", {"duration_seconds": 5400, "description": "Review"}),
        ("log 1.5h Review", {"duration_seconds": 5400, "description": "Review"}),
        ("log 2H Review", {"duration_seconds": 7200, "description": "Review"}),
        ("log 45m Review", {"duration_seconds": 2700, "description": "Review"}),
        ("log .25h Review", {"duration_seconds": 900, "description": "Review"}),
        ("log 0.33h Review", {"duration_seconds": 1200, "description": "Review"}),  # rounded to the minute
        ("log 24h Review", {"duration_seconds": 86_400, "description": "Review"}),
        ("log 1m Review", {"duration_seconds": 60, "description": "Review"}),
        ("log 2h @Acme", {"duration_seconds": 7200, "project": "Acme"}),
        (
            "log 1h30m Review @Acme #review #deep $ yesterday at 14:00",
            {
                "duration_seconds": 5400,
                "description": "Review",
                "project": "Acme",
                "tags": ["review", "deep"],
                "billable": True,
                "day": "yesterday",
                "at": "14:00",
            },
        ),
        # the day and the time anywhere after the duration, in any case; "9:05" is kept as "09:05"
        (
            "log 1h at 9:05 Yesterday Review notes",
            {"day": "yesterday", "at": "09:05", "description": "Review notes"},
        ),
        ("log 1h Plan TODAY", {"day": "today", "description": "Plan"}),
        ("log 1h 2026-02-28 Close the month", {"day": "2026-02-28", "description": "Close the month"}),
        ("log 1h 2024-02-29 Leap", {"day": "2024-02-29", "description": "Leap"}),
        ("log 1h Call at 23:59", {"at": "23:59", "description": "Call"}),
        ("log 1h Call at 00:00", {"at": "00:00", "description": "Call"}),
        # quoted, or "at" followed by no time: description words
        ('log 1h "Plan today at 14:00"', {"description": "Plan today at 14:00"}),
        ("log 1h Lunch at Joe's", {"description": "Lunch at Joe's"}),
        ("log 1h Look at", {"description": "Look at"}),
        ('log 1h Call at "14:00"', {"description": "Call at 14:00"}),
        ('log 1h "$"', {"description": "$"}),
        ('log 1h "30m" standup', {"description": "30m standup"}),
        (
            'log 1h Review @"Acme Web" #"deep work"',
            {"description": "Review", "project": "Acme Web", "tags": ["deep work"]},
        ),
        (
            "log 1h \u201cSmart @quoted\u201d \u201eLow #quoted\u201c",
            {"description": "Smart @quoted Low #quoted"},
        ),
    ],
)
def test_log(text: str, expected: dict[str, Any]) -> None:
    got = fields(text)
    assert got["verb"] == "log"
    assert {key: got.get(key) for key in expected} == expected
    assert set(got) - set(expected) <= {"verb", "duration_seconds", "description"}


def test_a_day_word_is_a_description_word_for_start() -> None:
    assert fields("start Plan today at 14:00") == {"verb": "start", "description": "Plan today at 14:00"}


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("tag #a", ["a"]),
        ("tag #a #b #a", ["a", "b"]),
        ('tag #"deep work" #\u201cclient call\u201d', ["deep work", "client call"]),
        ("untag #a #b", ["a", "b"]),
        ("UNTAG #A", ["A"]),
    ],
)
def test_tag_and_untag(text: str, tags: list[str]) -> None:
    command = parse_chat_command(text)
    assert (command.verb, command.tags) == (text.split()[0].lower(), tags)
    assert (command.description, command.project, command.billable) == ("", None, None)


@pytest.mark.parametrize(
    ("text", "topic"), [("help log", "log"), ("help UNTAG", "untag"), ("help help", "help")]
)
def test_help_with_a_command(text: str, topic: str) -> None:
    assert fields(text) == {"verb": "help", "topic": topic}


@pytest.mark.parametrize(
    ("text", "reason", "verb"),
    [
        # log: each mistake, then log's usage
        ("log", "Say how long first", "log"),
        ("log Review 1h", "'Review' is not a duration", "log"),
        ('log "1h" Review', "Say how long first", "log"),
        ("log @Acme 1h", "Say how long first", "log"),
        ("log 90 Review", "'90' is not a duration", "log"),
        ("log 1,5h Review", "'1,5h' is not a duration", "log"),
        ("log 1h30 Review", "'1h30' is not a duration", "log"),
        ("log 1.5h30m Review", "'1.5h30m' is not a duration", "log"),
        ("log 1.5m Review", "'1.5m' is not a duration", "log"),
        ("log -1h Review", "'-1h' is not a duration", "log"),
        ("log 1h90m Review", "minutes after hours go up to 59", "log"),
        ("log 1h 90m Review", "minutes after hours go up to 59", "log"),
        ("log 0m Review", "less than a minute", "log"),
        ("log 0.001h Review", "less than a minute", "log"),
        ("log 25h Review", "more than 24h", "log"),
        ("log 24h1m Review", "more than 24h", "log"),
        ("log 99999h Review", "is not a duration", "log"),
        ("log 1h Review 2026-02-30", "'2026-02-30' is not a date", "log"),
        ("log 1h Review 2026-13-01", "'2026-13-01' is not a date", "log"),
        ("log 1h Review today yesterday", "One day per entry: today and yesterday", "log"),
        ("log 1h Review at 24:00", "'at 24:00' is not a time", "log"),
        ("log 1h Review at 14:60", "'at 14:60' is not a time", "log"),
        ("log 1h Review at 3pm", "'at 3pm' is not a time", "log"),
        ("log 1h Review at 14", "'at 14' is not a time", "log"),
        ("log 1h Review at 14:00 at 15:00", "One start time per entry", "log"),
        ("log 1h Review @A @B", "One project per entry: @A and @B", "log"),
        ('log 1h "Review', "A quote is not closed", "log"),
        ('log 1h Review #""', "is empty", "log"),
        # tag and untag: tags and nothing else
        ("tag", "Name at least one #tag to add", "tag"),
        ("untag", "Name at least one #tag to remove", "untag"),
        ("tag review", "Only #tags after 'tag', not review", "tag"),
        ("tag #a @Acme", "Only #tags after 'tag', not @Acme", "tag"),
        ('untag #a "b"', "Only #tags after 'untag', not \"b\"", "untag"),
        ("untag #a $", "Only #tags after 'untag', not \\$", "untag"),
        # the verbs that take nothing
        ("stop now", "'stop' takes nothing after it", "stop"),
        ("resume #a", "'resume' takes nothing after it", "resume"),
        ("status please", "'status' takes nothing after it", "status"),
        ("today 2026-11-30", "'today' takes nothing after it", "today"),
        ("week last", "'week' takes nothing after it", "week"),
        ("undo undo", "'undo' takes nothing after it", "undo"),
        ("help log start", "Say which command", "help"),
        ("help @log", "Say which command", "help"),
        ("start x @A @B", "One project per entry", "start"),
    ],
)
def test_each_error_shows_the_usage_of_its_command(text: str, reason: str, verb: str) -> None:
    lines = error(text)
    assert len(lines) <= 5  # shown in chat
    assert re.search(reason, lines[0])
    assert "\n".join(lines[1:]) == usage(verb)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("begin", "Unknown command 'begin'."),
        ("logg 1h x", "Unknown command 'logg'."),
        ('"start" x', "Unknown command 'start'."),
        ("#start", "Unknown command '#start'."),
        ("help dance", "Unknown command 'dance'."),
        ('"unclosed', 'A quote is not closed: "unclosed'),
    ],
)
def test_an_unknown_command_shows_the_list_of_commands(text: str, first: str) -> None:
    assert error(text) == [first, *USAGE.splitlines()]


def test_usage_lists_every_command_one_line_each() -> None:
    lines = usage().splitlines()
    assert usage() == USAGE == usage(None)
    assert [line.split()[2] for line in lines[1:-1]] == list(VERBS)
    assert all(len(line) <= 130 for line in lines)  # one line each, even in a narrow chat pane


@pytest.mark.parametrize("verb", VERBS)
def test_usage_of_one_command(verb: str) -> None:
    lines = usage(verb).splitlines()
    assert lines[0].startswith(f"Usage: /toggl {verb}")
    assert 2 <= len(lines) <= 4
    assert usage(verb.upper()) == usage(verb)
    example = [line for line in lines if line.startswith("Example: /toggl ")]
    if example:  # an example must itself be a command
        assert parse_chat_command(example[0].removeprefix("Example: /toggl ")).verb == verb


def test_log_usage_says_when_at_is_and_what_durations_look_like() -> None:
    text = usage("log")
    assert "at HH:MM (24-hour) is when it started" in text
    assert all(form in text for form in ("1h30m", "1h 30m", "90m", "1.5h", "24h"))


def test_usage_of_an_unknown_command_is_an_error_with_the_list() -> None:
    with pytest.raises(ChatCommandError, match="Unknown command 'dance'") as caught:
        usage("dance")
    assert USAGE in str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("start Write report @Acme #writing", "Starting \u201cWrite report\u201d @Acme #writing…"),
        ('start x @"Acme Web" #"deep work" $', 'Starting \u201cx\u201d @"Acme Web" #"deep work", billable…'),
        ("start", "Starting an entry…"),
        ("stop", "Stopping your running entry…"),
        ("resume", "Starting again what you ran last…"),
        (
            "log 1h30m Review @Acme yesterday at 14:00",
            "Logging 1h 30m \u201cReview\u201d @Acme, yesterday at 14:00…",
        ),
        ("log 2h Review", "Logging 2h \u201cReview\u201d…"),
        ("log 45m @Acme $ today", "Logging 45m @Acme, billable, today…"),
        ("log 1h x 2026-11-28", "Logging 1h \u201cx\u201d, on 2026-11-28…"),
        ("log 1h x at 9:30", "Logging 1h \u201cx\u201d, at 09:30…"),
        ("tag #a #b", "Tagging your running entry #a #b…"),
        ("untag #a", "Removing #a from your running entry…"),
        ("status", "Looking up your running entry and today's total…"),
        ("today", "Adding up today's entries…"),
        ("week", "Adding up this week's time per project…"),
        ("undo", "Undoing the last thing I did for you…"),
    ],
)
def test_describe_says_what_will_happen(text: str, said: str) -> None:
    assert describe(parse_chat_command(text)) == said


def test_describe_help_is_the_help_itself() -> None:
    assert describe(parse_chat_command("help")) == USAGE
    assert describe(parse_chat_command("help log")) == usage("log")


EVENT_KEYS = [
    "verb",
    "description",
    "project",
    "tags",
    "billable",
    "duration_seconds",
    "day",
    "at",
    "topic",
    "text",
]


@pytest.mark.parametrize(
    "text",
    [
        "start Write @Acme #a $",
        "stop",
        "resume",
        "status",
        "today",
        "week",
        "undo",
        "help",
        "help log",
        'log 1h 30m Review @"Acme Web" #x $ 2026-11-28 at 9:05',
        "log 1.5h x yesterday",
        'tag #a #"deep work"',
        "untag #a",
    ],
)
def test_every_command_round_trips_through_event_data(text: str) -> None:
    command = parse_chat_command(text)
    data = command.to_event_data(text)
    assert list(data) == EVENT_KEYS
    assert ChatCommand.from_event_data(data | {"channel_name": "general", "user_id": "U1"}) == command
    assert ChatCommand.from_event_data({"text": text}) == command


@pytest.mark.parametrize(
    "broken",
    [
        {"verb": "log", "duration_seconds": None},
        {"verb": "log", "duration_seconds": 0},
        {"verb": "log", "duration_seconds": 86_401},
        {"verb": "log", "duration_seconds": 60, "day": "tomorrow"},
        {"verb": "log", "duration_seconds": 60, "day": "2026-02-30"},
        {"verb": "log", "duration_seconds": 60, "day": "Yesterday"},
        {"verb": "log", "duration_seconds": 60, "at": "9:05"},
        {"verb": "log", "duration_seconds": 60, "at": "25:00"},
        {"verb": "tag", "tags": []},
        {"verb": "help", "topic": "dance"},
    ],
)
def test_event_data_that_is_not_a_command_falls_back_to_the_text(broken: dict[str, Any]) -> None:
    assert ChatCommand.from_event_data(broken | {"text": "status"}).verb == "status"
    with pytest.raises(ChatCommandError):
        ChatCommand.from_event_data(broken)


WORDS = st.sampled_from(
    [
        *VERBS,
        "LOG",
        "at",
        "yesterday",
        "today",
        "2026-11-28",
        "2026-02-30",
        "14:00",
        "25:61",
        "3pm",
        "1h",
        "30m",
        "1h30m",
        "1.5h",
        "90",
        "0m",
        "99h",
        "$",
        "@Acme",
        '@"Acme Web"',
        "#a",
        '#"deep work"',
        "#",
        "@",
        '"',
        "\u201c",
        "\u201d",
        "\u201e",
        '""',
        "Review",
        "\u0663:\u0660\u0660",
        "\u0661h",
        "9" * 5000 + "h",
        "\udc00",
    ]
)


@given(st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=8).map(" ".join)))
def test_any_text_parses_or_says_what_to_type(text: str) -> None:
    try:
        command = parse_chat_command(text)
    except ChatCommandError as exc:
        assert str(exc).strip()
        return
    assert command.verb in VERBS
    assert describe(command)
    assert ChatCommand.from_event_data(command.model_dump()) == command


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("resume", ["resume"]),
        ("status", ["report"]),
        ("today", ["report"]),
        ("week", ["report"]),
        ("undo", ["undo"]),
        ("help", []),
        ("help log", []),
        ("log 1h x", ["log"]),
        ("tag #a", ["tag"]),
        ("untag #a", ["untag"]),
    ],
)
def test_the_built_in_chat_rule_plans_every_verb_without_errors(text: str, types: list[str]) -> None:
    result = plan(chat(text), config("[]", CHAT_HEAD))
    assert [action.type for action in result.actions] == types
    assert result.matched_rules == ["builtin:chat"] and result.errors == []
