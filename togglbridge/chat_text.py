"""The text of a ``/toggl`` chat command, read into a typed ChatCommand.

    start Write report @Acme #writing #deep $
    start "Review @ desk" @"Client Project" #"tag with spaces"
    stop
    status
    help

``@project`` names the project, ``#tag`` adds a tag, a lone ``$`` makes the entry billable; quotes (straight or
typographic) keep text together, and nothing inside them is read as a project or a tag. Everything else is the
description. Slack, Mattermost and Discord all deliver the text after the command; the chat sources turn it into a
``chat.command`` event whose data is ``ChatCommand.to_event_data()`` plus their own fields (channel, user name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Verb = Literal["start", "stop", "status", "help"]
VERBS: tuple[Verb, ...] = ("start", "stop", "status", "help")

USAGE = (
    "Usage: /toggl start <description> [@project] [#tag ...] [$]  |  /toggl stop  |  /toggl status  |  /toggl help\n"
    'Quote text with spaces: /toggl start "Review @ desk" @"Client Project" #"deep work"'
)

_CLOSING_QUOTE = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c"}  # "...", “...”, „...“


class ChatCommandError(ValueError):
    """Text that is not a command; the message is meant to be shown to the person who typed it."""


class ChatCommand(BaseModel):
    """A parsed command. ``billable`` is None when the text does not say (``$`` says yes)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    verb: Verb
    description: str = ""
    project: str | None = None
    tags: list[str] = Field(default_factory=list)
    billable: bool | None = None

    def to_event_data(self, text: str | None = None) -> dict[str, Any]:
        """The fields a ``chat.command`` event's data carries (the planner reads them back with from_event_data)."""
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


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool
    sigil: str  # "@", "#" or ""


def parse_chat_command(text: str) -> ChatCommand:
    """Read the text after ``/toggl``; raises ChatCommandError with what to type instead."""
    tokens = _tokenize(text)
    if not tokens:
        return ChatCommand(verb="help")
    first, rest = tokens[0], tokens[1:]
    verb = first.text.lower()
    if first.quoted or first.sigil or verb not in VERBS:
        raise ChatCommandError(f"Unknown command '{first.sigil}{first.text}'.\n{USAGE}")
    if verb != "start":
        if rest:
            raise ChatCommandError(f"'{verb}' takes nothing after it.\n{USAGE}")
        return ChatCommand(verb=verb)
    return _start(rest)


def _start(tokens: list[_Token]) -> ChatCommand:
    words: list[str] = []
    project: str | None = None
    tags: list[str] = []
    billable: bool | None = None
    for token in tokens:
        if token.sigil == "@":
            if project is not None:
                raise ChatCommandError(f"One project per entry: @{project} and @{token.text}.\n{USAGE}")
            project = token.text
        elif token.sigil == "#":
            if token.text not in tags:
                tags.append(token.text)
        elif token.text == "$" and not token.quoted:
            billable = True
        else:
            words.append(token.text)
    return ChatCommand(
        verb="start", description=" ".join(words), project=project, tags=tags, billable=billable
    )


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
                raise ChatCommandError(f"A quote is not closed: {text[index:]}\n{USAGE}")
            value = text[index + 1 : end]
            index = end + 1
            if sigil and not value.strip():
                raise ChatCommandError(
                    f'{sigil}"" is empty: name the {_noun(sigil)} inside the quotes.\n{USAGE}'
                )
            tokens.append(_Token(value.strip() if sigil else value, True, sigil))
            continue
        end = index
        while end < length and not text[end].isspace():
            end += 1
        tokens.append(_Token(text[index:end], False, sigil))
        index = end
    return tokens


def _noun(sigil: str) -> str:
    return "project" if sigil == "@" else "tag"
