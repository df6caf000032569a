"""The text of a ``/toggl`` chat command, read into a typed ChatCommand.

    start Write report @Acme #writing #deep $
    start "Review @ desk" @"Client Project" #"tag with spaces"
    stop | resume | status | today | week | undo
    log 1h30m Review @Acme #review $ yesterday at 14:00
    tag #review #"deep work"  |  untag #review
    help [command]

``@project`` names the project, ``#tag`` adds a tag, a lone ``$`` makes the entry billable; quotes (straight or
typographic) keep text together, and nothing inside them is read as a project, a tag, a day or a time. Everything
else is the description. Slack, Mattermost and Discord all deliver the text after the command; the chat sources turn
it into a ``chat.command`` event whose data is ``ChatCommand.to_event_data()`` plus their own fields (channel, user
name).

``log`` keeps its day as typed ("yesterday", "today" or "YYYY-MM-DD") and its start time as "HH:MM": this module has
no clock, so the planner resolves them later, in the rule file's timezone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from togglbridge.durations import format_duration

Verb = Literal["start", "stop", "resume", "log", "tag", "untag", "status", "today", "week", "undo", "help"]
VERBS: tuple[Verb, ...] = get_args(Verb)
"""In the order ``/toggl help`` lists them."""

MAX_LOG_SECONDS = 24 * 3_600
"""A longer ``log`` from chat is far more likely a typo (``15h`` for ``1.5h``) than a day's work."""


@dataclass(frozen=True)
class _Help:
    syntax: str
    summary: str  # its line in the list of commands
    example: str | None = None
    details: str | None = None  # more in ``help <command>``, when the summary is not enough


_HELP: dict[Verb, _Help] = {
    "start": _Help(
        "start <description> [@project] [#tag …] [$]",
        "start an entry ($: billable)",
        'start "Review @ desk" @"Acme Web" #"deep work" $',
    ),
    "stop": _Help("stop", "stop your running entry"),
    "resume": _Help("resume", "start again what you ran last"),
    "log": _Help(
        "log <duration> <description> [@project] [#tag …] [$] [yesterday|today|YYYY-MM-DD] [at HH:MM]",
        "log time already spent",
        "log 1h30m Review @Acme yesterday at 14:00",
        "Duration: 1h30m, 1h 30m, 90m or 1.5h, up to 24h. at HH:MM (24-hour) is when it started. "
        "Quote the description to keep a day or time in it.",
    ),
    "tag": _Help("tag #tag [#tag …]", "add tags to your running entry", 'tag #review #"deep work"'),
    "untag": _Help("untag #tag [#tag …]", "remove tags from your running entry", "untag #review"),
    "status": _Help("status", "your running entry and today's total"),
    "today": _Help("today", "today's entries and total"),
    "week": _Help("week", "this week's totals per project"),
    "undo": _Help("undo", "revert the last thing I did for you"),
    "help": _Help("help [command]", "these commands, or one in detail", "help log"),
}

USAGE = "\n".join(
    [
        "/toggl commands:",
        *(f"• /toggl {_HELP[verb].syntax} — {_HELP[verb].summary}" for verb in VERBS),
        'Quote text with spaces: "Review @ desk" @"Acme Web" #"deep work". Details: /toggl help <command>',
    ]
)
"""Every command, one line each: what ``/toggl help`` answers."""

_CLOSING_QUOTE = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}  # "...", “...”, „...“

# re.ASCII: other scripts' digits are not what people type in a duration, and int() would accept them.
# Bounded digits: int() refuses very long numbers with its own ValueError, and nobody logs 10000h.
_DURATION = re.compile(
    r"(?:(\d{1,4})h(?:(\d{1,4})m)?|(\d{0,4}\.\d{1,4})h|(\d{1,6})m)", re.IGNORECASE | re.ASCII
)
_WHOLE_HOURS = re.compile(r"\d{1,4}h", re.IGNORECASE | re.ASCII)
_MINUTES = re.compile(r"\d{1,4}m", re.IGNORECASE | re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_TIME_ISH = re.compile(r"\d{1,2}(?:[:.h]\d{2})?\s*(?:[ap]\.?m\.?)?", re.IGNORECASE | re.ASCII)
_DAY_WORDS = ("yesterday", "today")


class ChatCommandError(ValueError):
    """Text that is not a command; the message is meant to be shown to the person who typed it: what is wrong on
    its first line, then the usage of the command they meant (or the list of commands)."""


class _UnknownCommand(ChatCommandError):
    """Raised with the list of commands already in its message (``help <no such command>``)."""


class ChatCommand(BaseModel):
    """A parsed command. ``billable`` is None when the text does not say (``$`` says yes).

    ``log`` fills ``duration_seconds``, and ``day`` ("yesterday", "today" or "YYYY-MM-DD") and ``at`` ("HH:MM",
    when the entry started) when typed; ``help <command>`` fills ``topic``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    verb: Verb
    description: str = ""
    project: str | None = None
    tags: list[str] = Field(default_factory=list)
    billable: bool | None = None
    duration_seconds: int | None = Field(default=None, gt=0, le=MAX_LOG_SECONDS)
    day: str | None = None
    at: str | None = None
    topic: Verb | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChatCommand:
        # Event data may have been written by hand or by another version: a log without its duration, or a bad
        # day, must fail here so that from_event_data reads the text again instead.
        if self.verb == "log" and self.duration_seconds is None:
            raise ValueError("log needs duration_seconds")
        if self.verb in ("tag", "untag") and not self.tags:
            raise ValueError(f"{self.verb} needs at least one tag")
        if self.day is not None and _read_day(self.day) != self.day:
            raise ValueError(f"day {self.day!r} is not yesterday, today or a YYYY-MM-DD date")
        if self.at is not None and _read_time(self.at) != self.at:
            raise ValueError(f"at {self.at!r} is not a 24-hour HH:MM time")
        return self

    def to_event_data(self, text: str | None = None) -> dict[str, Any]:
        """The fields a ``chat.command`` event's data carries (the planner reads them back with from_event_data):
        verb, description, project, tags, billable, duration_seconds, day, at, topic, and text when given."""
        data: dict[str, Any] = self.model_dump(mode="json")
        if text is not None:
            data["text"] = text
        return data

    @classmethod
    def from_event_data(cls, data: dict[str, Any]) -> ChatCommand:
        """The command in a ``chat.command`` event: its parsed fields, or else its ``text`` parsed again."""
        try:
            return cls.model_validate(data)
        except ValidationError:
            pass
        text = data.get("text")
        if isinstance(text, str):
            return parse_chat_command(text)
        raise ChatCommandError("the event carries neither a known verb nor the command's text")


def usage(verb: str | None = None) -> str:
    """The usage of one command (its syntax, what it does, an example), or of all when ``verb`` is None."""
    if verb is None:
        return USAGE
    known = _verb(verb)
    if known is None:
        raise ChatCommandError(f"Unknown command '{verb}'.\n{USAGE}")
    entry = _HELP[known]
    lines = [f"Usage: /toggl {entry.syntax}", entry.summary[:1].upper() + entry.summary[1:] + "."]
    if entry.details is not None:
        lines.append(entry.details)
    if entry.example is not None:
        lines.append(f"Example: /toggl {entry.example}")
    return "\n".join(lines)


def describe(command: ChatCommand) -> str:
    """One short line saying what the command will do, for the chat platform's immediate answer. ``help`` is the
    exception: its answer is the help itself."""
    match command.verb:
        case "start":
            return f"Starting {_entry(command, 'an entry')}…"
        case "log":
            seconds = command.duration_seconds or 0
            day = command.day if command.day in (None, *_DAY_WORDS) else f"on {command.day}"
            said = " ".join(part for part in (day, f"at {command.at}" if command.at else None) if part)
            logged = " ".join(part for part in (format_duration(seconds), _entry(command, "")) if part)
            return f"Logging {logged}{', ' + said if said else ''}…"
        case "tag":
            return f"Tagging your running entry {_tags(command.tags)}…"
        case "untag":
            return f"Removing {_tags(command.tags)} from your running entry…"
        case "stop":
            return "Stopping your running entry…"
        case "resume":
            return "Starting again what you ran last…"
        case "status":
            return "Looking up your running entry and today's total…"
        case "today":
            return "Adding up today's entries…"
        case "week":
            return "Adding up this week's time per project…"
        case "undo":
            return "Undoing the last thing I did for you…"
        case "help":
            return usage(command.topic)


def _entry(command: ChatCommand, untitled: str) -> str:
    """The command's entry as a phrase; ``untitled`` when it has no description."""
    return entry_phrase(
        command.description, command.project, command.tags, command.billable, untitled=untitled
    )


def entry_phrase(
    description: str,
    project: str | int | None,
    tags: Sequence[str],
    billable: bool | None = None,
    *,
    untitled: str = "(no description)",
) -> str:
    """An entry as chat answers show it: “Write report” @Acme #writing, billable."""
    parts = [f"\u201c{description}\u201d" if description else untitled]
    if project is not None:
        parts.append("@" + _shown(str(project)))
    if tags:
        parts.append(_tags(tags))
    text = " ".join(part for part in parts if part)
    return text + ", billable" if billable else text


def _tags(tags: Sequence[str]) -> str:
    return " ".join("#" + _shown(tag) for tag in tags)


def _shown(name: str) -> str:
    """A project or tag as it would be typed back: quoted when it holds a space."""
    return f'"{name}"' if any(char.isspace() for char in name) else name


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool
    sigil: str  # "@", "#" or ""

    @property
    def bare(self) -> bool:
        """A plain word: only these can be a verb, a duration, ``$``, a day or ``at``."""
        return not self.quoted and not self.sigil


def parse_chat_command(text: str) -> ChatCommand:
    """Read the text after ``/toggl``; raises ChatCommandError with what to type instead."""
    tokens = _tokenize(text)
    if not tokens:
        return ChatCommand(verb="help")
    first, rest = tokens[0], tokens[1:]
    verb = _verb(first.text) if first.bare else None
    if verb is None:
        raise ChatCommandError(f"Unknown command '{first.sigil}{first.text}'.\n{USAGE}")
    try:
        return _parse(verb, rest)
    except _UnknownCommand:
        raise
    except ChatCommandError as exc:
        raise ChatCommandError(f"{exc}\n{usage(verb)}") from None


def _parse(verb: Verb, rest: list[_Token]) -> ChatCommand:
    """The command after its verb; a ChatCommandError here says only what is wrong (the caller adds the usage)."""
    match verb:
        case "start":
            return ChatCommand(verb="start", **_entry_fields(rest))
        case "log":
            return _log(rest)
        case "tag" | "untag":
            return ChatCommand(verb=verb, tags=_only_tags(verb, rest))
        case "help":
            return _help(rest)
        case _:
            if rest:
                raise ChatCommandError(f"'{verb}' takes nothing after it.")
            return ChatCommand(verb=verb)


def _entry_fields(tokens: list[_Token]) -> dict[str, Any]:
    """Description, project, tags and billable, as ``start`` and ``log`` read them."""
    words: list[str] = []
    project: str | None = None
    tags: list[str] = []
    billable: bool | None = None
    for token in tokens:
        if token.sigil == "@":
            if project is not None:
                raise ChatCommandError(f"One project per entry: @{project} and @{token.text}.")
            project = token.text
        elif token.sigil == "#":
            if token.text not in tags:
                tags.append(token.text)
        elif token.bare and token.text == "$":
            billable = True
        else:
            words.append(token.text)
    return {"description": " ".join(words), "project": project, "tags": tags, "billable": billable}


def _log(tokens: list[_Token]) -> ChatCommand:
    if not tokens or not tokens[0].bare:
        raise ChatCommandError("Say how long first, like 1h30m, 90m or 1.5h.")
    duration, consumed = tokens[0].text, 1
    # "1h 30m" is how many people write it; a description that starts with "30m" can be quoted.
    if (
        _WHOLE_HOURS.fullmatch(duration)
        and len(tokens) > 1
        and tokens[1].bare
        and _MINUTES.fullmatch(tokens[1].text)
    ):
        duration, consumed = duration + tokens[1].text, 2
    seconds = _read_duration(duration)
    day: str | None = None
    at: str | None = None
    rest: list[_Token] = []
    remaining = tokens[consumed:]
    index = 0
    while index < len(remaining):
        token = remaining[index]
        word = token.text.lower()
        if token.bare and (word in _DAY_WORDS or _DATE.fullmatch(word)):
            if day is not None:
                raise ChatCommandError(f"One day per entry: {day} and {token.text}.")
            day = _read_day(word)
            if day is None:
                raise ChatCommandError(f"'{token.text}' is not a date: write YYYY-MM-DD, like 2026-11-28.")
        elif (
            token.bare and word == "at" and index + 1 < len(remaining) and _is_time_ish(remaining[index + 1])
        ):
            when = remaining[index + 1].text
            if at is not None:
                raise ChatCommandError(f"One start time per entry: at {at} and at {when}.")
            at = _read_time(when)
            if at is None:
                raise ChatCommandError(f"'at {when}' is not a time: write 24-hour HH:MM, like 14:00.")
            index += 1
        else:
            rest.append(token)
        index += 1
    return ChatCommand(verb="log", duration_seconds=seconds, day=day, at=at, **_entry_fields(rest))


def _read_duration(text: str) -> int:
    """Seconds in a chat duration: ``1h30m``, ``90m``, ``2h`` or ``1.5h`` (decimals only for hours, rounded to
    the minute), at least a minute and at most 24 hours. Bare numbers are refused: minutes or hours?"""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise ChatCommandError(f"'{text}' is not a duration: write 1h30m, 90m or 1.5h.")
    hours, minutes_after_hours, decimal_hours, minutes = found.groups()
    if hours is not None:
        if minutes_after_hours is not None and int(minutes_after_hours) >= 60:
            raise ChatCommandError(f"'{text}': minutes after hours go up to 59.")
        seconds = int(hours) * 3_600 + int(minutes_after_hours or 0) * 60
    elif decimal_hours is not None:
        seconds = round(float(decimal_hours) * 60) * 60
    else:
        seconds = int(minutes) * 60
    if seconds < 60:
        raise ChatCommandError(f"'{text}' is less than a minute.")
    if seconds > MAX_LOG_SECONDS:
        raise ChatCommandError(f"'{text}' is more than 24h: log one day at a time.")
    return seconds


def _read_day(text: str) -> str | None:
    """``text`` lowercased when it is yesterday, today or a real YYYY-MM-DD date; else None."""
    word = text.lower()
    if word in _DAY_WORDS:
        return word
    if not _DATE.fullmatch(word):
        return None
    try:
        date(int(word[:4]), int(word[5:7]), int(word[8:]))
    except ValueError:
        return None
    return word


def _read_time(text: str) -> str | None:
    """``text`` as "HH:MM" when it is a 24-hour time ("9:05" gives "09:05"); else None."""
    found = _TIME.fullmatch(text)
    if found is None:
        return None
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _is_time_ish(token: _Token) -> bool:
    """``at`` then something like a time is meant as the start ("at 3pm" is an error, not a description)."""
    return token.bare and bool(_TIME_ISH.fullmatch(token.text))


def _only_tags(verb: str, tokens: list[_Token]) -> list[str]:
    if not tokens:
        raise ChatCommandError(f"Name at least one #tag to {'add' if verb == 'tag' else 'remove'}.")
    tags: list[str] = []
    for token in tokens:
        if token.sigil != "#":
            shown = f'"{token.text}"' if token.quoted else f"{token.sigil}{token.text}"
            raise ChatCommandError(f"Only #tags after '{verb}', not {shown}.")
        if token.text not in tags:
            tags.append(token.text)
    return tags


def _help(tokens: list[_Token]) -> ChatCommand:
    if not tokens:
        return ChatCommand(verb="help")
    if len(tokens) > 1 or not tokens[0].bare:
        raise ChatCommandError("Say which command, like: help log.")
    topic = _verb(tokens[0].text)
    if topic is None:
        raise _UnknownCommand(f"Unknown command '{tokens[0].text}'.\n{USAGE}")
    return ChatCommand(verb="help", topic=topic)


def _verb(text: str) -> Verb | None:
    word = text.lower()
    return next((verb for verb in VERBS if verb == word), None)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index, length = 0, len(text)
    while index < length:
        if text[index].isspace():
            index += 1
            continue
        sigil = ""
        if text[index] in "@#" and index + 1 < length and not text[index + 1].isspace():
            sigil, index = text[index], index + 1
        if text[index] in _CLOSING_QUOTE:
            closing = _CLOSING_QUOTE[text[index]]
            end = text.find(closing, index + 1)
            if end < 0:
                raise ChatCommandError(f"A quote is not closed: {text[index:]}\n{_usage_for(tokens)}")
            value = text[index + 1 : end]
            index = end + 1
            if sigil and not value.strip():
                raise ChatCommandError(
                    f'{sigil}"" is empty: name the {_noun(sigil)} inside the quotes.\n{_usage_for(tokens)}'
                )
            tokens.append(_Token(value.strip() if sigil else value, True, sigil))
            continue
        end = index
        while end < length and not text[end].isspace():
            end += 1
        tokens.append(_Token(text[index:end], False, sigil))
        index = end
    return tokens


def _usage_for(tokens: list[_Token]) -> str:
    """The usage of the command being typed, when its verb came before the trouble; else the list."""
    verb = _verb(tokens[0].text) if tokens and tokens[0].bare else None
    return usage(verb) if verb is not None else USAGE


def _noun(sigil: str) -> str:
    return "project" if sigil == "@" else "tag"
