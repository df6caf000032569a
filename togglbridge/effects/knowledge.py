"""What the bridge knows of one identity's Toggl account, and the writes that keep that knowledge true.

- The workspace: the action's, else the configured one, else the account's default, asked once and kept.
- The running entry is remembered, so a stop costs one request; it is asked for (``GET current``) only when the
  bridge cannot know it: a fresh deployment, or a remembered entry that turned out to be stopped already.
- Project names become ids from a cache filled with one paginated listing; a missing project is created. Public
  projects are cached per workspace, so identities of a team sharing one workspace list its projects once; a
  private project (usable by its members only) stays in the cache of the identity whose listing showed it.
- A create records its intent first; if the worker dies before the result is recorded, the redelivered action
  finds the entry (same start and description) instead of creating a second one (``reconcile``).
- A stop sent late (work parked for the quota, say) is corrected to the event's time with one more request, so
  a delay never adds hours to an entry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from togglbridge.actions import LearnAction
from togglbridge.effects.outcome import Outcome
from togglbridge.store.identity_state import UNKNOWN, IdentityState, Running, Unknown
from togglbridge.store.ledger import Ledger
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import AuthenticationError, BadRequestError, TogglError
from togglbridge.toggl.limiter import Paced
from togglbridge.toggl.models import TimeEntry

# A stop that Toggl recorded this much later than the event asked for is corrected to the event's time.
LATE_STOP_TOLERANCE = timedelta(seconds=60)
# How often an unknown project name may trigger a fresh listing of the workspace's projects.
PROJECT_REFRESH_SECONDS = 300
RECONCILE_WINDOW = timedelta(minutes=2)


def running_from(entry: TimeEntry | None) -> Running | None:
    if entry is None or not entry.is_running:
        return None
    return Running(entry.id, entry.workspace_id, entry.start, entry.description or "")


class Knowledge:
    def __init__(
        self,
        client: TogglClient,
        state: IdentityState,
        ledger: Ledger,
        *,
        workspace_id: int | None,
        honour_action_workspaces: bool,
        known_workspace: int | None,
        known_intents: dict[str, bool],
        recorded_intents: frozenset[str] = frozenset(),
    ) -> None:
        self._client = client
        self._state = state
        self._ledger = ledger
        self._configured_workspace = workspace_id
        self._honour_action_workspaces = honour_action_workspaces
        self._known_workspace = known_workspace  # the account's default workspace, when already read
        self._known_intents = known_intents  # what the drain already read of the ledger's intents
        # Creates whose intent the drain's read of its head recorded already: no write of their own.
        self._recorded_intents = set(recorded_intents)

    def workspace(self, action_workspace: int | None = None) -> int:
        """The action's workspace, else the configured one, else the account's default (asked once, kept)."""
        if action_workspace is not None and self._honour_action_workspaces:
            return action_workspace
        if self._configured_workspace is not None:
            return self._configured_workspace
        known = self._known_workspace or self._state.workspace_id()
        if known is not None:
            return known
        default = self._client.me().default_workspace_id
        if default is None:
            raise BadRequestError(
                "the Toggl account has no default workspace: set workspace_id in the rule file"
            )
        self._state.set_workspace_id(default)
        return default

    # -- the running entry ------------------------------------------------------------------------------

    def running(self) -> Running | None:
        """The running entry: remembered, or asked for when the bridge cannot know."""
        known = self._state.running()
        if not isinstance(known, Unknown):
            return known
        running = running_from(self._client.current_time_entry())
        self._state.set_running(running)
        return running

    def refresh_running(self) -> Running | None:
        self._state.set_running(UNKNOWN)
        return self.running()

    def learn(self, action: LearnAction) -> Outcome:
        """What Toggl's webhook said of an entry: the running entry as it is now, and the entry behind the event's
        subject, so that rules can change it (``target: subject``). No request."""
        if action.entry_id is None:
            return self._learn_project(action)
        # Toggl may send a change again long after newer ones: an older change than one learned says nothing.
        at = action.occurred_at.timestamp()
        entry_at, running_at = self._state.learned_times(action.entry_id)
        if entry_at is not None and at < entry_at:
            return Outcome(
                "learned",
                action.entry_id,
                [f"an older change of entry {action.entry_id} than one learned: ignored"],
            )
        known = self._state.running()
        notes: list[str] = []
        changes_running = False
        # What it teaches, and when it happened, in one transaction: never a belief without its time.
        pipe = self._state.pipeline()
        if action.running and action.start is not None:
            ours = isinstance(known, Running) and known.id == action.entry_id
            if ours or running_at is None or at >= running_at:
                running = Running(action.entry_id, action.workspace_id, action.start, action.description)
                self._state.set_running(running, pipe)
                changes_running = True
            else:  # another entry started later, as far as the bridge has learned: that one runs
                notes.append("an entry started after it was learned to run: not taken for the running one")
        elif isinstance(known, Running) and known.id == action.entry_id:
            self._state.set_running(None, pipe)  # stopped or deleted in Toggl: nothing of the bridge's runs
            changes_running = True
        if action.subject and not action.deleted:
            self._state.set_subject_entry(action.subject, action.entry_id, pipe)
        self._state.note_learned(action.entry_id, at, running=changes_running, pipe=pipe)
        pipe.execute()
        state = "deleted" if action.deleted else "running" if action.running else "not running"
        return Outcome("learned", action.entry_id, [f"entry {action.entry_id} is {state}", *notes])

    def _learn_project(self, action: LearnAction) -> Outcome:
        name = action.project_name or ""
        if action.deleted:
            self._state.learn_project(name, None, action.workspace_id)
            return Outcome("learned", None, [f"project {name!r} ({action.project_id}) was deleted"])
        self._state.learn_project(name, action.project_id)
        return Outcome("learned", None, [f"project {name!r} is {action.project_id}"])

    def forget_if_running(self, entry_id: int) -> None:
        known = self._state.running()
        if isinstance(known, Running) and known.id == entry_id:
            self._state.set_running(UNKNOWN)

    def stop_entry(self, workspace_id: int, entry_id: int, at: datetime, notes: list[str]) -> bool:
        """Stop an entry at ``at``; False when it was stopped already, by someone else (Toggl's 409).

        A stop is ``PATCH .../stop`` (Toggl's now), then, when that is later than ``at``, a ``PUT`` of the stop
        time. If the ``PUT`` fails or the worker dies between the two, the retry's ``PATCH`` answers 409: the
        recorded intent tells that it was this bridge that stopped it, so the time is corrected, not left as is.
        """
        intent = f"stop:{entry_id}"
        if self._ledger.intent(intent) is not None:
            self._client.update_time_entry(workspace_id, entry_id, stop=at)
            self._ledger.clear_intent(intent)
            notes.append(f"stop completed at the event's time {at.isoformat()}")
            return True
        self._ledger.mark_intent(intent, {"stop": at.isoformat()})
        stopped = self._client.stop_time_entry(workspace_id, entry_id, already_stopped_ok=True)
        if stopped is None:
            self._ledger.clear_intent(intent)
            return False
        if stopped.stop is not None and stopped.stop - at > LATE_STOP_TOLERANCE and stopped.start < at:
            self._client.update_time_entry(workspace_id, entry_id, stop=at)
            notes.append(f"stop corrected to the event's time {at.isoformat()}")
        self._ledger.clear_intent(intent)
        return True

    # -- projects ---------------------------------------------------------------------------------------

    def project_id(self, workspace_id: int, project: str | int | None, notes: list[str]) -> int | None:
        if project is None or isinstance(project, int):
            return project
        name = project.strip()
        if not name:
            return None
        cached = self._state.project_id(name, workspace_id)
        if cached is not None:
            return cached
        loaded_at = self._state.projects_loaded_at()
        if loaded_at is None or time.time() - loaded_at > PROJECT_REFRESH_SECONDS:
            self._list_projects(workspace_id)
            cached = self._state.project_id(name, workspace_id)
            if cached is not None:
                return cached
        try:
            created = self._client.create_project(workspace_id, name)
        except BadRequestError as exc:
            # Most often: an earlier attempt created it and died before remembering its id. Look again.
            self._list_projects(workspace_id)
            found = self._state.project_id(name, workspace_id)
            if found is not None:
                return found
            notes.append(
                f"project {name!r} does not exist and could not be created ({exc.message}); left empty"
            )
            return None
        except AuthenticationError as exc:
            notes.append(
                f"project {name!r} does not exist and could not be created ({exc.message}); left empty"
            )
            return None
        self._state.cache_projects(
            {created.name: created.id},
            workspace_id=workspace_id,
            public=() if created.is_private else (created.name,),
        )
        notes.append(f"created project {name!r}")
        return created.id

    def _list_projects(self, workspace_id: int) -> None:
        """One listing of the workspace's projects, remembered; its public projects for every identity there."""
        listed = list(self._client.iter_projects(workspace_id, active="both"))
        self._state.cache_projects(
            {p.name: p.id for p in listed},
            workspace_id=workspace_id,
            public=[p.name for p in listed if not p.is_private],
        )

    def forget_learned(self, action_workspace: int | None) -> None:
        """Forget what was learned and may have gone stale, with the shared project caches of every workspace
        this identity may have used for the action (read from what is known: no request)."""
        workspaces = {self._configured_workspace, self._known_workspace, self._state.workspace_id()}
        if self._honour_action_workspaces:
            workspaces.add(action_workspace)
        self._state.forget_learned(sorted(w for w in workspaces if w is not None))

    # -- creating once ----------------------------------------------------------------------------------

    def reconcile(self, key: str, workspace_id: int, start: Any, description: str) -> TimeEntry | None:
        """After a crash between create and record: the entry this action already created, if any."""
        return self.reconcile_any([key], workspace_id, [(start, description)])

    def reconcile_any(
        self, keys: Sequence[str], workspace_id: int, shapes: Sequence[tuple[Any, str]]
    ) -> TimeEntry | None:
        """``reconcile`` for an entry that any of ``keys`` may have created, in any of ``shapes`` (start,
        description): what a coalesced session's entry looked like depends on which of its pieces had arrived."""
        if not shapes or not self._any_intent(keys):
            return None
        starts = [start for start, _ in shapes]
        try:
            since, until = min(starts) - RECONCILE_WINDOW, max(starts) + RECONCILE_WINDOW
        except OverflowError:  # a start at the edge of time: nothing can have been created there
            return None
        candidates = self._client.time_entries(start_date=since, end_date=until)
        for start, description in shapes:
            for entry in candidates:
                same_start = abs((entry.start - start).total_seconds()) < 1
                if (
                    same_start
                    and (entry.description or "") == description
                    and entry.workspace_id == workspace_id
                ):
                    return entry
        return None

    def _any_intent(self, keys: Sequence[str]) -> bool:
        """Whether any of ``keys`` has an intent; those not known yet are read together."""
        unknown = [key for key in dict.fromkeys(keys) if key not in self._known_intents]
        if unknown:
            self._known_intents.update(zip(unknown, self._ledger.have_intents(unknown), strict=True))
        return any(self._known_intents[key] for key in keys)

    def has_intent(self, key: str) -> bool:
        """Whether a create for ``key`` was sent before with an unknown outcome (read once, then known)."""
        return self._any_intent([key])

    def create(self, key: str, workspace_id: int, **fields: Any) -> TimeEntry:
        """Create an entry, recording the intent first; an answer that refused it clears the intent again, so
        only an unknown outcome (a timeout, a 5xx, a crash) costs a lookup on the next attempt."""
        if key not in self._recorded_intents:
            self._ledger.mark_intent(
                key, {"start": fields["start"].isoformat(), "description": fields["description"]}
            )
        self._known_intents[key] = True
        try:
            return self._client.create_time_entry(workspace_id, **fields)
        except Paced:
            self._forget_intent(key)  # never sent: nothing to look up next time
            raise
        except TogglError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._forget_intent(key)  # refused: nothing to look up next time
            raise

    def _forget_intent(self, key: str) -> None:
        self._ledger.clear_intent(key)
        self._known_intents[key] = False
        self._recorded_intents.discard(key)
