"""What the bridge knows of one identity's Toggl account, kept in Redis so every worker shares it.

Knowing the running entry makes a stop cost one request; knowing the workspace and project ids means no lookups
per event. The state can be unknown (a fresh deployment): then the executor asks Toggl once and remembers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from togglbridge.store import keys, text


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

    # -- Toggl's hourly quota, as the last response reported it -----------------------------------------

    def set_quota(self, remaining: int | None, resets_in: float | None) -> None:
        if remaining is None:
            return
        reset_at = time.time() + resets_in if resets_in is not None else ""
        self._redis.hset(self._key, mapping={"quota_remaining": remaining, "quota_reset_at": reset_at})

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

    # -- what earlier events created --------------------------------------------------------------------

    def subject_entry(self, subject: str) -> int | None:
        raw = self._redis.hget(keys.subjects(self.identity), subject)
        return int(raw) if raw is not None else None

    def set_subject_entry(self, subject: str, entry_id: int, pipe: Any = None) -> None:
        (pipe if pipe is not None else self._redis).hset(keys.subjects(self.identity), subject, entry_id)

    # -- commits, for session estimates -----------------------------------------------------------------

    def last_commit_at(self) -> datetime | None:
        raw = self._redis.hget(self._key, "last_commit_at")
        return datetime.fromisoformat(text(raw)) if raw is not None else None

    def set_last_commit_at(self, when: datetime, pipe: Any = None) -> None:
        (pipe if pipe is not None else self._redis).hset(self._key, "last_commit_at", when.isoformat())

    # -- project ids by name ----------------------------------------------------------------------------

    def project_id(self, name: str) -> int | None:
        raw = self._redis.hget(keys.projects(self.identity), name.casefold())
        return int(raw) if raw is not None else None

    def cache_projects(self, by_name: dict[str, int]) -> None:
        pipe = self._redis.pipeline()
        if by_name:
            pipe.hset(keys.projects(self.identity), mapping={n.casefold(): i for n, i in by_name.items()})
        pipe.hset(self._key, "projects_loaded_at", time.time())
        pipe.execute()

    def projects_loaded_at(self) -> float | None:
        raw = self._redis.hget(self._key, "projects_loaded_at")
        return float(raw) if raw is not None else None
