"""What each action does in Toggl, for one identity, spending as few requests as the facts allow.

- The running entry is remembered, so a stop costs one request; it is asked for (``GET current``) only when the
  bridge cannot know it: a fresh deployment, or a remembered entry that turned out to be stopped already.
- Creating a running entry first stops the one already running, so the outcome is right whether or not Toggl
  stops it by itself (undocumented for v9).
- A stop sent late (work parked for the quota, say) is corrected to the event's time with one more request, so
  a delay never adds hours to an entry.
- A create records its intent first; if the worker dies before the result is recorded, the redelivered action
  finds the entry (same start and description) instead of creating a second one.
- Project names become ids from a cache filled with one paginated listing; a missing project is created.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from togglbridge.actions import (
    Action,
    LogAction,
    StartAction,
    StopAction,
    TagAction,
    UntagAction,
    UpdateAction,
)
from togglbridge.store.identity_state import UNKNOWN, IdentityState, Running, Unknown
from togglbridge.store.ledger import Ledger
from togglbridge.toggl.client import UNSET, TogglClient
from togglbridge.toggl.errors import AuthenticationError, BadRequestError, NotFoundError, TogglError
from togglbridge.toggl.models import TimeEntry

# A stop that Toggl recorded this much later than the event asked for is corrected to the event's time.
LATE_STOP_TOLERANCE = timedelta(seconds=60)
# How often an unknown project name may trigger a fresh listing of the workspace's projects.
PROJECT_REFRESH_SECONDS = 300
RECONCILE_WINDOW = timedelta(minutes=2)


@dataclass
class Outcome:
    """What applying an action did: kept in the ledger and shown in the journal."""

    result: str  # created, stopped, tagged, updated, logged, adopted, or skipped
    entry_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "entry_id": self.entry_id, "notes": self.notes}


def _running_from(entry: TimeEntry | None) -> Running | None:
    if entry is None or not entry.is_running:
        return None
    return Running(entry.id, entry.workspace_id, entry.start, entry.description or "")


class Effects:
    def __init__(
        self,
        client: TogglClient,
        state: IdentityState,
        ledger: Ledger,
        *,
        workspace_id: int | None = None,
        honour_action_workspaces: bool = True,
    ) -> None:
        self._client = client
        self._state = state
        self._ledger = ledger
        self._configured_workspace = workspace_id
        self._honour_action_workspaces = honour_action_workspaces

    def apply(self, action: Action) -> Outcome:
        if isinstance(action, StartAction):
            return self._start(action)
        if isinstance(action, StopAction):
            return self._stop(action)
        if isinstance(action, LogAction):
            return self._log(action)
        if isinstance(action, TagAction | UntagAction):
            return self._tag(action)
        return self._update(action)

    # -- shared knowledge -----------------------------------------------------------------------------------

    def workspace(self, action_workspace: int | None = None) -> int:
        """The action's workspace, else the configured one, else the account's default (asked once, kept)."""
        if action_workspace is not None and self._honour_action_workspaces:
            return action_workspace
        if self._configured_workspace is not None:
            return self._configured_workspace
        known = self._state.workspace_id()
        if known is not None:
            return known
        default = self._client.me().default_workspace_id
        if default is None:
            raise BadRequestError(
                "the Toggl account has no default workspace: set workspace_id in the rule file"
            )
        self._state.set_workspace_id(default)
        return default

    def _running(self) -> Running | None:
        """The running entry: remembered, or asked for when the bridge cannot know."""
        known = self._state.running()
        if not isinstance(known, Unknown):
            return known
        running = _running_from(self._client.current_time_entry())
        self._state.set_running(running)
        return running

    def _refresh_running(self) -> Running | None:
        self._state.set_running(UNKNOWN)
        return self._running()

    def _project_id(self, workspace_id: int, project: str | int | None, notes: list[str]) -> int | None:
        if project is None or isinstance(project, int):
            return project
        name = project.strip()
        if not name:
            return None
        cached = self._state.project_id(name)
        if cached is not None:
            return cached
        loaded_at = self._state.projects_loaded_at()
        if loaded_at is None or time.time() - loaded_at > PROJECT_REFRESH_SECONDS:
            listing = {p.name: p.id for p in self._client.iter_projects(workspace_id, active="both")}
            self._state.cache_projects(listing)
            cached = self._state.project_id(name)
            if cached is not None:
                return cached
        try:
            created = self._client.create_project(workspace_id, name)
        except (AuthenticationError, BadRequestError) as exc:
            notes.append(
                f"project {name!r} does not exist and could not be created ({exc.message}); left empty"
            )
            return None
        self._state.cache_projects({created.name: created.id})
        notes.append(f"created project {name!r}")
        return created.id

    def _reconcile(self, key: str, workspace_id: int, start: Any, description: str) -> TimeEntry | None:
        """After a crash between create and record: the entry this action already created, if any."""
        if self._ledger.intent(key) is None:
            return None
        candidates = self._client.time_entries(
            start_date=start - RECONCILE_WINDOW, end_date=start + RECONCILE_WINDOW
        )
        for entry in candidates:
            same_start = abs((entry.start - start).total_seconds()) < 1
            if same_start and (entry.description or "") == description and entry.workspace_id == workspace_id:
                return entry
        return None

    def _create(self, key: str, workspace_id: int, **fields: Any) -> TimeEntry:
        """Create an entry, recording the intent first; an answer that refused it clears the intent again, so
        only an unknown outcome (a timeout, a 5xx, a crash) costs a lookup on the next attempt."""
        self._ledger.mark_intent(
            key, {"start": fields["start"].isoformat(), "description": fields["description"]}
        )
        try:
            return self._client.create_time_entry(workspace_id, **fields)
        except TogglError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._ledger.clear_intent(key)
            raise

    def _stop_entry(self, workspace_id: int, entry_id: int, at: Any, notes: list[str]) -> bool:
        """Stop an entry at ``at``; False when it was stopped already (Toggl's 409)."""
        stopped = self._client.stop_time_entry(workspace_id, entry_id, already_stopped_ok=True)
        if stopped is None:
            return False
        if stopped.stop is not None and stopped.stop - at > LATE_STOP_TOLERANCE and stopped.start < at:
            self._client.update_time_entry(workspace_id, entry_id, stop=at)
            notes.append(f"stop corrected to the event's time {at.isoformat()}")
        return True

    # -- the actions ------------------------------------------------------------------------------------

    def _start(self, action: StartAction) -> Outcome:
        notes: list[str] = []
        workspace_id = self.workspace(action.workspace_id)
        adopted = self._reconcile(action.key, workspace_id, action.start, action.description)
        if adopted is not None:
            self._remember_start(action, adopted)
            return Outcome("adopted", adopted.id, ["found the entry an interrupted attempt created"])
        running = self._running()
        if running is not None:
            self._stop_entry(running.workspace_id, running.id, action.start, notes)
            notes.append(f"stopped running entry {running.id} first")
        project_id = self._project_id(workspace_id, action.project, notes)
        self._ledger.mark_intent(
            action.key, {"start": action.start.isoformat(), "description": action.description}
        )
        entry = self._client.create_time_entry(
            workspace_id,
            start=action.start,
            description=action.description,
            project_id=project_id,
            task_id=action.task_id,
            tags=action.tags or None,
            billable=action.billable,
        )
        self._remember_start(action, entry)
        return Outcome("created", entry.id, notes)

    def _remember_start(self, action: StartAction, entry: TimeEntry) -> None:
        self._state.set_running(_running_from(entry) or UNKNOWN)
        if action.subject:
            self._state.set_subject_entry(action.subject, entry.id)

    def _stop(self, action: StopAction) -> Outcome:
        notes: list[str] = []
        if action.only == "started_by_this_event":
            entry_id = self._state.subject_entry(action.subject) if action.subject else None
            if entry_id is None:
                return Outcome("skipped", None, ["no entry was started for this event's subject"])
            known = self._state.running()
            if isinstance(known, Running) and known.id != entry_id:
                return Outcome("skipped", entry_id, ["that entry is no longer running"])
            workspace_id = known.workspace_id if isinstance(known, Running) else self.workspace()
            stopped = self._stop_entry(workspace_id, entry_id, action.stop, notes)
            if stopped or isinstance(known, Unknown):
                self._state.set_running(None if stopped else UNKNOWN)
            return Outcome(
                "stopped" if stopped else "skipped", entry_id, notes or (["already stopped"] * (not stopped))
            )
        running = self._running()
        for attempt in range(2):
            if running is None:
                return Outcome("skipped", None, ["nothing is running"])
            if action.only == "same_description" and running.description != action.description:
                return Outcome("skipped", running.id, [f"the running entry is {running.description!r}"])
            if self._stop_entry(running.workspace_id, running.id, action.stop, notes):
                self._state.set_running(None)
                return Outcome("stopped", running.id, notes)
            if attempt == 0:  # it had been stopped elsewhere: ask what runs now
                running = self._refresh_running()
        self._state.set_running(UNKNOWN)
        return Outcome("skipped", None, ["the running entry kept changing"])

    def _log(self, action: LogAction) -> Outcome:
        notes: list[str] = []
        workspace_id = self.workspace(action.workspace_id)
        if action.estimate is not None:
            previous = self._state.last_commit_at()
            duration = action.estimate.resolve(action.end, previous)
            if previous is None or action.end > previous:
                self._state.set_last_commit_at(action.end)
        else:
            duration = action.duration_seconds or 0
        start = action.end - timedelta(seconds=duration)
        adopted = self._reconcile(action.key, workspace_id, start, action.description)
        if adopted is not None:
            return Outcome("adopted", adopted.id, ["found the entry an interrupted attempt created"])
        project_id = self._project_id(workspace_id, action.project, notes)
        entry = self._create(
            action.key,
            workspace_id,
            start=start,
            duration=duration,
            description=action.description,
            project_id=project_id,
            task_id=action.task_id,
            tags=action.tags or None,
            billable=action.billable,
        )
        if action.subject:
            self._state.set_subject_entry(action.subject, entry.id)
        return Outcome("logged", entry.id, [f"{duration} s", *notes])

    def _target(self, target: str, subject: str | None) -> tuple[int, int] | None:
        """(workspace id, entry id) of the entry an action means, or None when there is none."""
        if target == "subject":
            entry_id = self._state.subject_entry(subject) if subject else None
            return (self.workspace(), entry_id) if entry_id is not None else None
        running = self._running()
        return (running.workspace_id, running.id) if running is not None else None

    def _tag(self, action: TagAction | UntagAction) -> Outcome:
        target = self._target(action.target, action.subject)
        if target is None:
            return Outcome("skipped", None, [f"no {action.target} entry to {action.type}"])
        workspace_id, entry_id = target
        try:
            self._client.update_time_entry(
                workspace_id,
                entry_id,
                tags=action.tags,
                tag_action="add" if action.type == "tag" else "delete",
            )
        except NotFoundError:
            self._forget_if_running(entry_id)
            return Outcome("skipped", entry_id, ["the entry no longer exists"])
        return Outcome("tagged" if action.type == "tag" else "untagged", entry_id)

    def _update(self, action: UpdateAction) -> Outcome:
        notes: list[str] = []
        target = self._target(action.target, action.subject)
        if target is None:
            return Outcome("skipped", None, [f"no {action.target} entry to update"])
        workspace_id, entry_id = target
        project = (
            self._project_id(workspace_id, action.project, notes) if action.project is not None else UNSET
        )
        try:
            entry = self._client.update_time_entry(
                workspace_id,
                entry_id,
                description=action.description if action.description is not None else UNSET,
                project_id=project,
                task_id=action.task_id if action.task_id is not None else UNSET,
                billable=action.billable if action.billable is not None else UNSET,
                tags=action.tags if action.tags is not None else UNSET,
                start=action.start if action.start is not None else UNSET,
                stop=action.stop if action.stop is not None else UNSET,
            )
        except NotFoundError:
            self._forget_if_running(entry_id)
            return Outcome("skipped", entry_id, ["the entry no longer exists"])
        known = self._state.running()
        if isinstance(known, Running) and known.id == entry_id:
            self._state.set_running(_running_from(entry))
        return Outcome("updated", entry_id, notes)

    def _forget_if_running(self, entry_id: int) -> None:
        known = self._state.running()
        if isinstance(known, Running) and known.id == entry_id:
            self._state.set_running(UNKNOWN)
