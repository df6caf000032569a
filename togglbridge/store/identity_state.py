"""What the bridge knows of one identity's Toggl account, kept in Redis so every worker shares it.

Knowing the running entry makes a stop cost one request; knowing the workspace and project ids means no lookups
per event. The state can be unknown (a fresh deployment): then the executor asks Toggl once and remembers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from togglbridge.sessions import Piece, SessionEntry
from togglbridge.store import keys, text
from togglbridge.timeline import Mark


@dataclass(frozen=True, slots=True)
class Running:
    """The entry the bridge believes is running for an identity."""

    id: int
    workspace_id: int
    start: datetime
    description: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "workspace_id": self.workspace_id,
                "start": self.start.isoformat(),
                "description": self.description,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Running:
        data = json.loads(raw)
        return cls(
            data["id"], data["workspace_id"], datetime.fromisoformat(data["start"]), data["description"]
        )


class Unknown:
    """The running entry is not known (nothing was learned yet, or it went stale)."""


UNKNOWN = Unknown()

_NONE = "none"
MAX_MARKS = 500  # how many timer actions back a late delivery can still reshape entries
MAX_COMMITS = 500
SESSION_MEMORY = timedelta(days=30)  # how far back a late piece of work can still join a coalesced entry
# How long the time of a learned change is kept: Toggl gives up sending a webhook again long before.
LEARNED_TTL_SECONDS = 7 * 24 * 3600
_LEARNED_RUNNING = "running"


def _seconds(raw: bytes | str | None) -> float | None:
    return float(raw) if raw is not None else None


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """What the bridge last knew of an entry it created (its own view; a person may change it in Toggl)."""

    id: int
    workspace_id: int
    start: datetime
    stop: datetime | None
    tags: tuple[str, ...]
    description: str
    deleted: bool = False  # deleted in Toggl (by hand): left deleted, never re-created or changed

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "workspace_id": self.workspace_id,
                "start": self.start.isoformat(),
                "stop": self.stop.isoformat() if self.stop else None,
                "tags": list(self.tags),
                "description": self.description,
                **({"deleted": True} if self.deleted else {}),
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> KnownEntry:
        data = json.loads(raw)
        stop = datetime.fromisoformat(data["stop"]) if data["stop"] else None
        return cls(
            data["id"],
            data["workspace_id"],
            datetime.fromisoformat(data["start"]),
            stop,
            tuple(data["tags"]),
            data["description"],
            bool(data.get("deleted", False)),
        )


@dataclass(frozen=True, slots=True)
class LastChange:
    """The last change the bridge made in an identity's account, so that ``/toggl undo`` can take it back."""

    key: str  # the action's key (a start's is its timeline entry's key too)
    type: str  # the action's type
    result: str  # what applying it did: created, stopped, logged, tagged, untagged
    entry_id: int
    tags: tuple[str, ...]  # what a tag or untag changed
    at: float  # unix time it was applied

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "tags": list(self.tags)})

    @classmethod
    def from_json(cls, raw: bytes | str) -> LastChange:
        data = json.loads(raw)
        return cls(**{**data, "tags": tuple(data["tags"])})


class IdentityState:
    def __init__(self, client: redis.Redis, identity: str) -> None:
        self._redis = client
        self.identity = identity
        self._key = keys.state(identity)

    # -- workspace and user -------------------------------------------------------------------------------

    def workspace_id(self) -> int | None:
        raw = self._redis.hget(self._key, "workspace_id")
        return int(raw) if raw is not None else None

    def set_workspace_id(self, workspace_id: int) -> None:
        self._redis.hset(self._key, "workspace_id", workspace_id)

    def forget_learned(self, workspaces: Iterable[int] = ()) -> None:
        """Drop what was learned from Toggl and may have gone stale (a project or workspace deleted or archived,
        the running entry deleted by hand): the next action learns it again from Toggl's answers. The shared
        project caches of ``workspaces`` go too, so that no identity working there uses a stale id again."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(self._key, "workspace_id", "running", "projects_loaded_at")
        pipe.delete(keys.projects(self.identity), *(keys.workspace_projects(w) for w in workspaces))
        pipe.execute()

    # -- Toggl's hourly quota, as the last response reported it -----------------------------------------

    def set_quota(self, remaining: int | None, resets_in: float | None, pipe: Any = None) -> None:
        if remaining is None:
            return
        reset_at = time.time() + resets_in if resets_in is not None else ""
        target = pipe if pipe is not None else self._redis
        target.hset(self._key, mapping={"quota_remaining": remaining, "quota_reset_at": reset_at})

    def hold_bulk(self, until: float) -> None:
        self._redis.hset(self._key, "bulk_held_until", until)

    # -- the last change, for a chat's undo -----------------------------------------------------------------

    def last_change(self) -> LastChange | None:
        raw = self._redis.hget(self._key, "last_change")
        return LastChange.from_json(raw) if raw is not None else None

    def set_last_change(self, change: LastChange | None, pipe: Any = None) -> None:
        target = pipe if pipe is not None else self._redis
        if change is None:
            target.hdel(self._key, "last_change")
        else:
            target.hset(self._key, "last_change", change.to_json())

    # -- the running entry ----------------------------------------------------------------------------------

    def running(self) -> Running | Unknown | None:
        raw = self._redis.hget(self._key, "running")
        if raw is None:
            return UNKNOWN
        return None if raw == _NONE.encode() else Running.from_json(raw)

    def set_running(self, running: Running | Unknown | None, pipe: Any = None) -> None:
        target = pipe if pipe is not None else self._redis
        if isinstance(running, Unknown):
            target.hdel(self._key, "running")
        else:
            target.hset(self._key, "running", _NONE if running is None else running.to_json())

    def pipeline(self) -> Any:
        """A transaction for writes that go together (each writer here takes ``pipe``)."""
        return self._redis.pipeline(transaction=True)

    def learned_times(self, entry_id: int) -> tuple[float | None, float | None]:
        """When the newest change learned of this entry happened, and of the entry learned to run (Toggl's time)."""
        entry, running = self._redis.hmget(keys.learned(self.identity), str(entry_id), _LEARNED_RUNNING)
        return _seconds(entry), _seconds(running)

    def note_learned(self, entry_id: int, at: float, *, running: bool, pipe: Any) -> None:
        """Remember, on ``pipe``, a learned change's time; ``running``: it also changed what the bridge believes
        runs (written in the same transaction as that belief)."""
        name = keys.learned(self.identity)
        pipe.hset(name, mapping={str(entry_id): at, **({_LEARNED_RUNNING: at} if running else {})})
        pipe.expire(name, LEARNED_TTL_SECONDS)

    # -- what earlier events created --------------------------------------------------------------------

    def subject_entry(self, subject: str) -> int | None:
        raw = self._redis.hget(keys.subjects(self.identity), subject)
        return int(raw) if raw is not None else None

    def set_subject_entry(self, subject: str, entry_id: int, pipe: Any = None) -> None:
        (pipe if pipe is not None else self._redis).hset(keys.subjects(self.identity), subject, entry_id)

    def link_subject(self, subject: str, entry_key: str, entry: KnownEntry) -> None:
        """Remember the entry an event about ``subject`` created, with the bridge's view of it under ``entry_key``
        (a start's timeline key, or a log's action key)."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(keys.subjects(self.identity), subject, entry.id)
        pipe.hset(keys.subject_entries(self.identity), subject, entry_key)
        pipe.hset(keys.entries(self.identity), entry_key, entry.to_json())
        pipe.execute()

    def subject_view(self, subject: str) -> tuple[str, KnownEntry] | None:
        """The key and the bridge's view of the entry an event about ``subject`` created, if it keeps one."""
        entry_key = self._redis.hget(keys.subject_entries(self.identity), subject)
        if entry_key is None:
            return None
        raw = self._redis.hget(keys.entries(self.identity), entry_key)
        return (text(entry_key), KnownEntry.from_json(raw)) if raw is not None else None

    # -- coalesced logs: pieces of work and the session entries they make -----------------------------

    def session_pieces(self, group: str) -> list[Piece]:
        raws = self._redis.hvals(keys.session_pieces(self.identity, group))
        return [Piece.from_json(raw) for raw in raws]

    def session_entries(self, group: str) -> list[SessionEntry]:
        raws = self._redis.hvals(keys.session_entries(self.identity, group))
        return [SessionEntry.from_json(raw) for raw in raws]

    def save_sessions(
        self, group: str, pieces: list[Piece], entries: list[SessionEntry], gone: list[int]
    ) -> None:
        """Record new pieces and the entries as now made (``gone``: entries merged away), forgetting pieces and
        entries that ended long before the newest piece: no late piece reaches that far back."""
        pieces_key, entries_key = (
            keys.session_pieces(self.identity, group),
            keys.session_entries(self.identity, group),
        )
        pipe = self._redis.pipeline(transaction=True)
        if pieces:
            pipe.hset(pieces_key, mapping={piece.key: piece.to_json() for piece in pieces})
        if entries:
            pipe.hset(entries_key, mapping={str(entry.id): entry.to_json() for entry in entries})
        if gone:
            pipe.hdel(entries_key, *[str(entry_id) for entry_id in gone])
        pipe.execute()
        newest = max((piece.end for piece in pieces), default=None)
        if newest is not None:
            horizon = newest - SESSION_MEMORY
            old = [p.key for p in self.session_pieces(group) if p.end < horizon]
            stale = [str(e.id) for e in self.session_entries(group) if e.end < horizon]
            if old:
                self._redis.hdel(pieces_key, *old)
            if stale:
                self._redis.hdel(entries_key, *stale)

    # -- commits, for session estimates -----------------------------------------------------------------

    def commit_before(self, when: datetime) -> datetime | None:
        """The latest logged commit before ``when``: by time, not by arrival, so a late commit is estimated
        against the commit that really preceded it."""
        found = self._redis.zrevrangebyscore(
            keys.commits(self.identity), f"({when.timestamp()}", "-inf", 0, 1, withscores=True
        )
        return datetime.fromtimestamp(float(found[0][1]), UTC) if found else None

    def add_commit(self, when: datetime) -> None:
        name = keys.commits(self.identity)
        pipe = self._redis.pipeline()
        pipe.zadd(name, {when.isoformat(): when.timestamp()})
        pipe.zremrangebyrank(name, 0, -MAX_COMMITS - 1)
        pipe.execute()

    # -- the timeline and the entries it created --------------------------------------------------------

    def marks(self) -> list[Mark]:
        return [Mark.from_json(text(raw)) for raw in self._redis.zrange(keys.timeline(self.identity), 0, -1)]

    def add_mark(self, mark: Mark) -> None:
        name = keys.timeline(self.identity)
        pipe = self._redis.pipeline()
        pipe.zadd(name, {mark.to_json(): mark.order})
        pipe.zremrangebyrank(name, 0, -MAX_MARKS - 1)  # older actions no longer reshape entries
        pipe.execute()

    def known_entries(self, start_keys: list[str]) -> dict[str, KnownEntry]:
        if not start_keys:
            return {}
        raws = self._redis.hmget(keys.entries(self.identity), start_keys)
        return {
            key: KnownEntry.from_json(raw)
            for key, raw in zip(start_keys, raws, strict=True)
            if raw is not None
        }

    def set_known_entry(self, start_key: str, entry: KnownEntry) -> None:
        self._redis.hset(keys.entries(self.identity), start_key, entry.to_json())

    # -- project ids by name ----------------------------------------------------------------------------

    def project_id(self, name: str, workspace_id: int | None = None) -> int | None:
        """A project's id by name: from this identity's own listings, else from the public projects any identity
        listed in ``workspace_id`` (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(keys.projects(self.identity), name.casefold())
        if workspace_id is not None:
            pipe.hget(keys.workspace_projects(workspace_id), name.casefold())
        raw = next((found for found in pipe.execute() if found is not None), None)
        return int(raw) if raw is not None else None

    def cache_projects(
        self, by_name: dict[str, int], *, workspace_id: int | None = None, public: Iterable[str] = ()
    ) -> None:
        """Remember a listing (or a created project) as this identity's; the ``public`` names of it are shared
        with every identity working in ``workspace_id``."""
        pipe = self._redis.pipeline()
        if by_name:
            pipe.hset(keys.projects(self.identity), mapping={n.casefold(): i for n, i in by_name.items()})
        shared = [name for name in public if name in by_name]
        if shared and workspace_id is not None:
            pipe.hset(
                keys.workspace_projects(workspace_id), mapping={n.casefold(): by_name[n] for n in shared}
            )
        pipe.hset(self._key, "projects_loaded_at", time.time())
        pipe.execute()

    def learn_project(self, name: str, project_id: int | None, workspace_id: int | None = None) -> None:
        """One project's id by name, from Toggl's word (a webhook), not a listing: None forgets the name, in
        the workspace's shared cache too."""
        if project_id is None:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hdel(keys.projects(self.identity), name.casefold())
            if workspace_id is not None:
                pipe.hdel(keys.workspace_projects(workspace_id), name.casefold())
            pipe.execute()
        else:
            self._redis.hset(keys.projects(self.identity), name.casefold(), project_id)

    def projects_loaded_at(self) -> float | None:
        raw = self._redis.hget(self._key, "projects_loaded_at")
        return float(raw) if raw is not None else None
