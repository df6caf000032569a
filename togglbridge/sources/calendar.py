"""Calendar occurrences: one meeting on one day, as a feed shows it, and the event data rules see of it.

An occurrence is keyed by its UID and recurrence id (the original start of a recurring event's instance), so a
moved occurrence keeps its identity across polls. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Status = Literal["confirmed", "tentative", "cancelled"]
Attendance = Literal["accepted", "declined", "tentative", "needs-action"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a calendar event, with times in UTC."""

    uid: str
    recurrence_id: str | None  # the instance's original start (ISO 8601, UTC) for a recurring event; else None
    start: datetime
    end: datetime
    title: str
    all_day: bool = False
    status: Status = "confirmed"
    free: bool = False  # TRANSP:TRANSPARENT: the time shows as free
    my_status: Attendance | None = None  # the identity's own ATTENDEE PARTSTAT, when it is invited
    organizer: str | None = None
    location: str = ""
    description: str = ""
    sequence: int = 0

    @property
    def key(self) -> str:
        """Stable across polls, moves and renames: ``<uid>|<recurrence id>`` (the uid alone for a single event)."""
        return f"{self.uid}|{self.recurrence_id}" if self.recurrence_id else self.uid

    def event_id(self, calendar: str, phase: str) -> str:
        """The id of this occurrence's event in one phase (started, ended, changed, cancelled): the same on every
        poll, after a restart and from any poller, so an event is never queued twice."""
        return f"ics:{calendar}:{self.key}:{phase}"

    def data(self, calendar: str, mode: str) -> dict[str, Any]:
        """The event's ``data``, as the calendar kinds declare it (``sources/kinds.py``)."""
        return {
            "calendar": calendar,
            "uid": self.uid,
            "recurrence_id": self.recurrence_id,
            "title": self.title,
            "description": self.description,
            "location": self.location,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "duration_seconds": int((self.end - self.start).total_seconds()),
            "all_day": self.all_day,
            "organizer": self.organizer,
            "my_status": self.my_status,
            "mode": mode,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
