"""The simulator's in-memory world: users, workspaces and time entries, with the indexes that keep requests O(1).

No HTTP and no clock here: every mutation takes `now` (unix seconds) from its caller. The catalog (projects,
clients, tags) lives in `catalog.py` and entry behaviour in `entries.py`; both operate on this object.

Thread-safety is the caller's job: the simulator holds one lock around every request, and tests that poke at the
state while a server runs should take `Simulator.lock` too.
"""

from __future__ import annotations

import bisect
from typing import Any

from togglbridge.toggl.sim.errors import Forbidden
from togglbridge.toggl.sim.identity import Credential, derive_ids
from togglbridge.toggl.sim.models import (
    Subscription,
    TimeEntry,
    User,
    Workspace,
    render_client,
    render_entry,
    render_project,
    render_subscription,
    render_tag,
    render_user,
    render_workspace,
)

# First ids of each kind. Entry ids start above 2**31 so clients that store them in 32 bits break in tests.
FIRST_ENTRY_ID = 4_000_000_001
FIRST_PROJECT_ID = 200_000_001
FIRST_CLIENT_ID = 60_000_001
FIRST_TAG_ID = 17_000_001
FIRST_SUBSCRIPTION_ID = 90_001

NO_ACCESS = "User does not have access to this resource."


class SimState:
    """Everything the simulated Toggl remembers."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything, in place, so references held by tests stay valid (simulator reset)."""
        self.users: dict[int, User] = {}
        self.workspaces: dict[int, Workspace] = {}
        self.entries: dict[int, TimeEntry] = {}
        """Every entry ever created, deleted ones included (they keep `server_deleted_at`)."""
        self.user_entries: dict[int, dict[int, TimeEntry]] = {}
        """user id -> {entry id -> entry}, deleted ones included (the `since` listing shows them)."""
        self.running: dict[int, dict[int, TimeEntry]] = {}
        """user id -> the user's running, live entries (at most one while auto-stop is on)."""
        self._users_by_digest: dict[bytes, User] = {}
        self._organizations: set[int] = set()
        self._sorted: dict[int, list[TimeEntry]] = {}
        self._next_entry_id = FIRST_ENTRY_ID
        self._next_project_id = FIRST_PROJECT_ID
        self._next_client_id = FIRST_CLIENT_ID
        self._next_tag_id = FIRST_TAG_ID
        self.subscriptions: dict[int, Subscription] = {}
        """Webhooks subscriptions by id, every workspace's (few per workspace, so lookups just scan)."""
        self._next_subscription_id = FIRST_SUBSCRIPTION_ID

    # -- users and workspaces -------------------------------------------------------------------------------

    def user_for(self, credential: Credential, now: float) -> User:
        """The user behind a credential, created with its workspace on first sight. O(1).

        `now` keeps its fraction: the user's own timestamps are shown to the microsecond.
        """
        user = self._users_by_digest.get(credential.digest)
        if user is not None:
            return user
        ids = derive_ids(credential.digest)
        user_id = _free_id(ids.user_id, self.users)
        workspace_id = _free_id(ids.workspace_id, self.workspaces)
        org_id = ids.organization_id
        while org_id in self._organizations:
            org_id += 1
        self._organizations.add(org_id)
        fullname = f"Sim User {user_id}"
        user = User(
            id=user_id,
            email=f"sim-{user_id}@example.com",
            fullname=fullname,
            default_workspace_id=workspace_id,
            organization_id=org_id,
            label=credential.label,
            created_at=now,
        )
        self.users[user_id] = user
        self.workspaces[workspace_id] = Workspace(
            id=workspace_id,
            organization_id=org_id,
            name=f"{fullname}'s workspace",
            owner_id=user_id,
            created_at=int(now),
        )
        self.user_entries[user_id] = {}
        self.running[user_id] = {}
        self._users_by_digest[credential.digest] = user
        return user

    def adopt_user(self, digest: bytes, user: User) -> None:
        """Take back a user saved earlier (see persistence.py); its workspace is restored separately."""
        self.users[user.id] = user
        self.user_entries[user.id] = {}
        self.running[user.id] = {}
        self._users_by_digest[digest] = user

    def users_by_digest(self) -> list[tuple[bytes, User]]:
        """(credential digest, user) pairs: what a saved state needs to recognise a returning credential."""
        return list(self._users_by_digest.items())

    def organizations(self) -> set[int]:
        return set(self._organizations)

    def adopt_organizations(self, organization_ids: list[int]) -> None:
        self._organizations.update(organization_ids)

    def find_user(self, credential: Credential) -> User | None:
        """The user behind a credential if it was already seen (no creation)."""
        return self._users_by_digest.get(credential.digest)

    def workspace_for(self, user: User, workspace_id: int) -> Workspace:
        """The workspace if the user may see it; Toggl answers 403 for anyone else's (or an unknown) workspace."""
        ws = self.workspaces.get(workspace_id)
        if ws is None or (ws.owner_id != user.id and user.id not in ws.member_ids):
            raise Forbidden(NO_ACCESS)
        return ws

    def join(self, user: User, ws: Workspace, *, default: bool) -> None:
        """Make ``user`` a member of ``ws`` (a team's shared workspace), and with ``default`` their default one."""
        if ws.owner_id != user.id and user.id not in ws.member_ids:
            ws.member_ids.append(user.id)
        if default:
            user.default_workspace_id = ws.id

    def workspaces_of(self, user: User) -> list[Workspace]:
        """The user's own workspace and those they joined (a scan: only ``GET /me/workspaces`` asks)."""
        return [ws for ws in self.workspaces.values() if ws.owner_id == user.id or user.id in ws.member_ids]

    def members_of(self, ws: Workspace) -> list[User]:
        return [self.users[ws.owner_id], *(self.users[member] for member in ws.member_ids)]

    # -- id allocation ------------------------------------------------------------------------------------

    def new_entry_id(self) -> int:
        self._next_entry_id += 1
        return self._next_entry_id - 1

    def new_project_id(self) -> int:
        self._next_project_id += 1
        return self._next_project_id - 1

    def new_client_id(self) -> int:
        self._next_client_id += 1
        return self._next_client_id - 1

    def new_tag_id(self) -> int:
        self._next_tag_id += 1
        return self._next_tag_id - 1

    def new_subscription_id(self) -> int:
        self._next_subscription_id += 1
        return self._next_subscription_id - 1

    def subscriptions_of(self, workspace_id: int) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.workspace_id == workspace_id]

    def next_ids(self) -> dict[str, int]:
        """The next id of each kind, so that a restored state never hands out an id twice."""
        return {
            "entry": self._next_entry_id,
            "project": self._next_project_id,
            "client": self._next_client_id,
            "tag": self._next_tag_id,
            "subscription": self._next_subscription_id,
        }

    def set_next_ids(self, next_ids: dict[str, int]) -> None:
        self._next_entry_id = int(next_ids["entry"])
        self._next_project_id = int(next_ids["project"])
        self._next_client_id = int(next_ids["client"])
        self._next_tag_id = int(next_ids["tag"])
        # Files written before webhooks existed have no subscription counter.
        self._next_subscription_id = int(next_ids.get("subscription", FIRST_SUBSCRIPTION_ID))

    # -- entry indexes ------------------------------------------------------------------------------------

    def add_entry(self, entry: TimeEntry) -> None:
        self.entries[entry.id] = entry
        self.user_entries[entry.user_id][entry.id] = entry
        if entry.running:
            self.running[entry.user_id][entry.id] = entry
        ordered = self._sorted.get(entry.user_id)
        if ordered is not None:
            # Keep the cached order instead of re-sorting: new entries usually land at the front.
            ordered.insert(bisect.bisect_left(ordered, _order_key(entry), key=_order_key), entry)

    def sync_running(self, entry: TimeEntry) -> None:
        """Keep the running index right after an entry's stop or deletion changed."""
        running = self.running[entry.user_id]
        if entry.running and not entry.deleted:
            running[entry.id] = entry
        else:
            running.pop(entry.id, None)

    def soft_delete(self, entry: TimeEntry, now: int) -> None:
        """Mark an entry deleted: gone for every request except the `since` listing, as in Toggl."""
        entry.server_deleted_at = now
        entry.at = now
        self.sync_running(entry)

    def invalidate_order(self, user_id: int) -> None:
        """Forget the cached newest-first order (after a create, a delete or a change of start)."""
        self._sorted.pop(user_id, None)

    def newest_first(self, user_id: int) -> list[TimeEntry]:
        """The user's entries (deleted included) by start, newest first; cached until the order changes."""
        ordered = self._sorted.get(user_id)
        if ordered is None:
            ordered = sorted(self.user_entries[user_id].values(), key=_order_key)
            self._sorted[user_id] = ordered
        return ordered

    def entries_in(self, ws: Workspace) -> list[TimeEntry]:
        """Live entries of a workspace (for cascades such as deleting a tag or project)."""
        return [
            e
            for user_id in (ws.owner_id, *ws.member_ids)
            for e in self.user_entries.get(user_id, {}).values()
            if e.workspace_id == ws.id and not e.deleted
        ]

    # -- inspection -----------------------------------------------------------------------------------------

    def dump(self, *, running_minus_one: bool = False, admin: bool = True) -> dict[str, Any]:
        """Everything, in Toggl's shapes, for oracle comparison (`GET /_sim/state`). Deleted entries included."""
        entries = []
        for entry in self.entries.values():
            ws = self.workspaces[entry.workspace_id]
            rendered = render_entry(entry, ws, running_minus_one=running_minus_one)
            rendered["created_with"] = entry.created_with
            entries.append(rendered)
        return {
            "users": [{**render_user(u), "label": u.label} for u in self.users.values()],
            "workspaces": [render_workspace(ws, admin=admin) for ws in self.workspaces.values()],
            "time_entries": entries,
            "projects": [
                render_project(p, ws) for ws in self.workspaces.values() for p in ws.projects.values()
            ],
            "clients": [render_client(c) for ws in self.workspaces.values() for c in ws.clients.values()],
            "tags": [render_tag(t) for ws in self.workspaces.values() for t in ws.tags.values()],
            # Without secrets: the admin state is for looking, and may end up in logs.
            "webhook_subscriptions": [
                render_subscription(s, secret=False) for s in self.subscriptions.values()
            ],
        }


def _free_id(preferred: int, taken: dict[int, Any]) -> int:
    """The preferred id, or the next free one: deterministic for a given order of first sightings."""
    while preferred in taken:
        preferred += 1
    return preferred


def _order_key(entry: TimeEntry) -> tuple[int, int]:
    """Newest first: later start first, then higher id."""
    return (-entry.start, -entry.id)
