"""Work sessions: logged pieces of work (commits, each an interval) close enough to each other make one entry.

A ``log`` with ``coalesce: 20m`` does not make an entry per commit: the pieces of one group (a rule and a
repository, for one identity) whose gaps are at most 20 minutes form a session, and a session is one entry from
its first piece's start to its last piece's end, described as its earliest piece is. Like the timeline, what the
entries should be is a function of the pieces alone, never of the order they arrived in: a piece that arrives
late and bridges two sessions merges them. Pure: no I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Piece:
    """One logged piece of work, with what its entry would be if it stood alone."""

    key: str  # the log action's idempotency key
    start: datetime
    end: datetime
    description: str
    project: str | int | None = None
    tags: tuple[str, ...] = ()
    billable: bool | None = None
    task_id: int | None = None

    def to_json(self) -> str:
        fields = asdict(self)
        fields.update(start=self.start.isoformat(), end=self.end.isoformat(), tags=list(self.tags))
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Piece:
        fields = json.loads(raw)
        return cls(
            **{
                **fields,
                "start": datetime.fromisoformat(fields["start"]),
                "end": datetime.fromisoformat(fields["end"]),
                "tags": tuple(fields["tags"]),
            }
        )


@dataclass(frozen=True, slots=True)
class Session:
    """Pieces no more than the gap apart: one entry."""

    pieces: tuple[Piece, ...]  # by start, then key

    @property
    def first(self) -> Piece:
        return self.pieces[0]

    @property
    def start(self) -> datetime:
        return self.first.start

    @property
    def end(self) -> datetime:
        return max(piece.end for piece in self.pieces)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(piece.key for piece in self.pieces)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tag for piece in self.pieces for tag in piece.tags))


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """The Toggl entry of a session, as the bridge last wrote it."""

    id: int
    workspace_id: int
    keys: frozenset[str]  # the pieces it holds
    start: datetime
    end: datetime
    description: str
    deleted: bool = False  # deleted in Toggl: left deleted, its pieces never make another entry

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "workspace_id": self.workspace_id,
                "keys": sorted(self.keys),
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "description": self.description,
                "deleted": self.deleted,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionEntry:
        fields = json.loads(raw)
        return cls(
            fields["id"],
            fields["workspace_id"],
            frozenset(fields["keys"]),
            datetime.fromisoformat(fields["start"]),
            datetime.fromisoformat(fields["end"]),
            fields["description"],
            bool(fields.get("deleted", False)),
        )


def sessions(pieces: list[Piece], gap: timedelta) -> list[Session]:
    """The sessions the pieces make: sorted by start, a piece joins the session before it when it starts at most
    ``gap`` after that session's end."""
    ordered = sorted(pieces, key=lambda piece: (piece.start, piece.key))
    found: list[list[Piece]] = []
    end: datetime | None = None
    for piece in ordered:
        if end is not None and piece.start <= end + gap:
            found[-1].append(piece)
            end = max(end, piece.end)
        else:
            found.append([piece])
            end = piece.end
    return [Session(tuple(group)) for group in found]


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do in Toggl for one session touched by new pieces."""

    session: Session
    keep: SessionEntry | None  # the entry to bring to the session's shape (None: create one)
    merged: tuple[SessionEntry, ...] = field(default=())  # entries of sessions this one swallowed: deleted


def plan_sessions(
    pieces: list[Piece], entries: list[SessionEntry], new_keys: set[str], gap: timedelta
) -> list[Plan]:
    """For each session holding a new piece: the entry that stays (the one holding the session's earliest piece
    among those already made, so the result does not depend on arrival order) and the ones it swallows."""
    plans = []
    for session in sessions(pieces, gap):
        if not session.keys & new_keys:
            continue
        owners = sorted((e for e in entries if e.keys & session.keys), key=lambda e: (e.start, e.id))
        deleted = next((e for e in owners if e.deleted), None)
        if deleted is not None:
            # A person deleted part of this session in Toggl: it stays deleted, and nothing they kept is merged
            # into it or away.
            plans.append(Plan(session, deleted, ()))
            continue
        keep = owners[0] if owners else None
        plans.append(Plan(session, keep, tuple(owners[1:])))
    return plans
