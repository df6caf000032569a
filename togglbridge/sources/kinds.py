"""What each kind of event carries in its ``data``: the field paths a rule may read, declared by its source.

A kind's schema is the set of its dotted field paths (``repo``, ``repo.full_name``, ``author.email``); a path that
has declared children is an object, any other is a value (text, number, list, date-time...) whose insides a rule may
use freely (``message.splitlines()``, ``tags.0``). An open schema declares nothing and checks nothing: generic
webhooks carry whatever their sender put in ``data``.

The rule file is checked against these when it loads, so that ``{{ repo.nmae }}`` is a load error with its line
rather than an action that fails on every event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class KindSchema:
    """The data fields of one kind of event. ``open``: any data at all (nothing to check)."""

    fields: frozenset[str] = frozenset()
    open: bool = False
    _children: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, *paths: str) -> KindSchema:
        """A closed schema of these dotted paths; the parents of a nested path are declared with it."""
        declared: set[str] = set()
        for path in paths:
            parts = path.split(".")
            declared.update(".".join(parts[: end + 1]) for end in range(len(parts)))
        children: dict[str, list[str]] = {}
        for path in sorted(declared):
            parent, _, name = path.rpartition(".")
            children.setdefault(parent, []).append(name)
        return cls(frozenset(declared), False, {key: tuple(names) for key, names in children.items()})

    def children(self, parent: str) -> tuple[str, ...]:
        """The names of the fields directly under ``parent`` ("" for the top level); none for a value."""
        return self._children.get(parent, ())

    def extended(self, *paths: str) -> KindSchema:
        """This schema with more paths."""
        return KindSchema.of(*self.fields, *paths)


OPEN_DATA = KindSchema(open=True)
"""The schema of a kind whose data its sender chooses."""


_CALENDAR = KindSchema.of(
    "calendar",
    "uid",
    "recurrence_id",
    "title",
    "description",
    "location",
    "start",
    "end",
    "duration_seconds",
    "all_day",
    "organizer",
    "my_status",
    "mode",
)

_CHAT_COMMAND = KindSchema.of(
    # what ChatCommand.to_event_data() gives, and the text as typed
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
    # the platforms' own fields the chat sources pass along (Slack's and Mattermost's slash-command names); never
    # a response URL or an interaction token: those are secrets of the moment (store/replies.py)
    "command",
    "platform",
    "team_id",
    "team_domain",
    "enterprise_id",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "api_app_id",
    "guild_id",
)

PLANNED_KINDS: dict[str, KindSchema] = {
    "calendar.started": _CALENDAR,
    "calendar.ended": _CALENDAR,
    # what moved or was renamed, and why and when a meeting was cancelled (sources/calendar.py makes these)
    "calendar.changed": _CALENDAR.extended("previous_start", "previous_end", "previous_title", "changes"),
    "calendar.cancelled": _CALENDAR.extended("cancel_reason", "cancel_stage"),
    "chat.command": _CHAT_COMMAND,
}
"""The kinds the planner already handles whose sources (calendar feeds, chat platforms) are
not registered yet: declared here, once, until each moves to its source's declaration."""
