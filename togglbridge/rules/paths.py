"""Dotted paths into an event, as conditions name them.

``title`` and ``data.title`` both mean the event's ``data["title"]``; ``repo.full_name`` goes into nested mappings;
``commits.0.message`` indexes a list. The event's own fields are ``kind``, ``actor``, ``source``, ``id``,
``occurred_at``, ``subject`` and ``delivery_id`` (also written ``event.kind`` and so on); a data field with one of
those names is reached as ``data.kind``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from togglbridge.events import Event

EVENT_FIELDS: Final = ("id", "source", "kind", "occurred_at", "actor", "subject", "delivery_id")


class _Missing:
    """The value of a path that leads nowhere; distinct from a JSON null that is there."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class FieldPath:
    text: str
    event_field: str | None  # one of EVENT_FIELDS, or None for a path into data
    data_keys: tuple[str, ...]

    def read(self, event: Event) -> Any:
        """The value at this path in ``event``, or MISSING."""
        if self.event_field is not None:
            return getattr(event, self.event_field)
        value: Any = event.data
        for key in self.data_keys:
            if isinstance(value, dict):
                if key not in value:
                    return MISSING
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return MISSING
        return value


def parse_path(text: str) -> FieldPath:
    """Compile a dotted path; raises ValueError for one that can never name anything."""
    parts = text.split(".")
    if not text or any(part == "" for part in parts):
        raise ValueError(
            f"'{text}' is not a field path: write names separated by single dots, like repo.full_name"
        )
    if parts[0] == "event":
        rest = parts[1:]
        if rest[:1] == ["data"]:
            return FieldPath(text, None, tuple(rest[1:]))
        if len(rest) == 1 and rest[0] in EVENT_FIELDS:
            return FieldPath(text, rest[0], ())
        raise ValueError(f"'{text}': an event's own fields are {', '.join(EVENT_FIELDS)} and data")
    if parts[0] == "data":
        return FieldPath(text, None, tuple(parts[1:]))
    if len(parts) == 1 and parts[0] in EVENT_FIELDS:
        return FieldPath(text, parts[0], ())
    return FieldPath(text, None, tuple(parts))
