"""Finished entries (``log``) and edits of an entry named by a subject or of the running one (tag, untag, update):
actions that go straight to Toggl, not through the timeline."""

from __future__ import annotations

from datetime import timedelta

from togglbridge.actions import LogAction, TagAction, UntagAction, UpdateAction
from togglbridge.effects.knowledge import Knowledge, running_from
from togglbridge.effects.outcome import ADOPTED, Outcome
from togglbridge.store.identity_state import IdentityState, Running
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import NotFoundError
from togglbridge.toggl.payload import UNSET


class Entries:
    def __init__(self, client: TogglClient, state: IdentityState, knowledge: Knowledge) -> None:
        self._client = client
        self._state = state
        self._knowledge = knowledge

    def log(self, action: LogAction) -> Outcome:
        notes: list[str] = []
        workspace_id = self._knowledge.workspace(action.workspace_id)
        if action.estimate is not None:
            duration = action.estimate.resolve(action.end, self._state.commit_before(action.end))
        else:
            duration = action.duration_seconds or 0
        start = action.end - timedelta(seconds=duration)
        entry = self._knowledge.reconcile(action.key, workspace_id, start, action.description)
        if entry is not None:
            notes.append(ADOPTED)
        else:
            entry = self._knowledge.create(
                action.key,
                workspace_id,
                start=start,
                duration=duration,
                description=action.description,
                project_id=self._knowledge.project_id(workspace_id, action.project, notes),
                task_id=action.task_id,
                tags=action.tags or None,
                billable=action.billable,
            )
        if action.estimate is not None:
            self._state.add_commit(action.end)
        if action.subject:
            self._state.set_subject_entry(action.subject, entry.id)
        return Outcome("logged", entry.id, [f"{duration} s", *notes])

    def tag(self, action: TagAction | UntagAction) -> Outcome:
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
            self._knowledge.forget_if_running(entry_id)
            return Outcome("skipped", entry_id, ["the entry no longer exists"])
        return Outcome("tagged" if action.type == "tag" else "untagged", entry_id)

    def update(self, action: UpdateAction) -> Outcome:
        notes: list[str] = []
        target = self._target(action.target, action.subject)
        if target is None:
            return Outcome("skipped", None, [f"no {action.target} entry to update"])
        workspace_id, entry_id = target
        project = (
            self._knowledge.project_id(workspace_id, action.project, notes)
            if action.project is not None
            else UNSET
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
            self._knowledge.forget_if_running(entry_id)
            return Outcome("skipped", entry_id, ["the entry no longer exists"])
        known = self._state.running()
        if isinstance(known, Running) and known.id == entry_id:
            self._state.set_running(running_from(entry))
        return Outcome("updated", entry_id, notes)

    def _target(self, target: str, subject: str | None) -> tuple[int, int] | None:
        """(workspace id, entry id) of the entry an action means, or None when there is none."""
        if target == "subject":
            entry_id = self._state.subject_entry(subject) if subject else None
            return (self._knowledge.workspace(), entry_id) if entry_id is not None else None
        running = self._knowledge.running()
        return (running.workspace_id, running.id) if running is not None else None
