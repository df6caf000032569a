"""Finished entries (``log``) and edits of an entry named by a subject or of the running one (tag, untag, update):
actions that go straight to Toggl, not through the timeline."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from togglbridge.actions import LogAction, MoveAction, TagAction, UntagAction, UpdateAction, WithdrawAction
from togglbridge.effects.knowledge import Knowledge, running_from
from togglbridge.effects.outcome import ADOPTED, Outcome
from togglbridge.store.identity_state import IdentityState, KnownEntry, Running
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import NotFoundError
from togglbridge.toggl.models import TimeEntry
from togglbridge.toggl.payload import UNSET

# Toggl keeps whole seconds: a time within this of the bridge's own is the bridge's own.
SAME_TIME = timedelta(seconds=1)
NO_ENTRY = "no entry for this subject"


@dataclass(frozen=True, slots=True)
class Subject:
    """The entry an earlier event about a subject made, as Toggl has it now and as the bridge last wrote it."""

    key: str  # where the bridge's view is kept (a start's timeline key, a log's action key)
    known: KnownEntry
    current: TimeEntry


class RunningSubject:
    """``Entries.withdraw`` found the subject's entry running and untouched: the timeline stops it."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject


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
            self._state.link_subject(action.subject, action.key, _view(entry))
        return Outcome("logged", entry.id, [f"{duration} s", *notes])

    def tag(self, action: TagAction | UntagAction) -> Outcome:
        target = self._target(action.target, action.subject)
        if target is None:
            return Outcome("skipped", None, [f"no {action.target} entry to {action.type}"])
        workspace_id, entry_id = target
        try:
            entry = self._client.update_time_entry(
                workspace_id,
                entry_id,
                tags=action.tags,
                tag_action="add" if action.type == "tag" else "delete",
            )
        except NotFoundError:
            self._knowledge.forget_if_running(entry_id)
            return Outcome("skipped", entry_id, ["the entry no longer exists"])
        self._remember_write(action.target, action.subject, entry)
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
        self._remember_write(action.target, action.subject, entry)
        return Outcome("updated", entry_id, notes)

    def move(self, action: MoveAction) -> Outcome:
        """Move a meeting's entry to its new times, unless a person changed it since the bridge wrote it."""
        found = self._subject(action.subject)
        if isinstance(found, Outcome):
            return found
        entry = found.current
        if entry.is_running:
            if action.start > action.occurred_at:
                return Outcome(
                    "skipped", entry.id, ["the meeting now starts later: its running entry is kept"]
                )
            if _same(entry.start, action.start):
                return Outcome("skipped", entry.id, ["the running entry starts at the new time already"])
            moved = self._client.update_time_entry(entry.workspace_id, entry.id, start=action.start)
            known = self._state.running()
            if isinstance(known, Running) and known.id == entry.id:
                self._state.set_running(running_from(moved))
        else:
            if _same(entry.start, action.start) and entry.stop is not None and _same(entry.stop, action.stop):
                return Outcome("skipped", entry.id, ["the entry has the new times already"])
            moved = self._client.update_time_entry(
                entry.workspace_id, entry.id, start=action.start, stop=action.stop
            )
        self._state.set_known_entry(found.key, replace(found.known, start=moved.start, stop=moved.stop))
        return Outcome("moved", entry.id, [f"{_hhmm(moved.start)}-{_hhmm(moved.stop) if moved.stop else ''}"])

    def withdraw(self, action: WithdrawAction) -> Outcome | RunningSubject:
        """Delete (or keep) a cancelled meeting's finished entry; a running one is the timeline's to stop."""
        found = self._subject(action.subject)
        if isinstance(found, Outcome):
            return found
        entry = found.current
        if entry.is_running:
            return RunningSubject(found)
        if action.finished == "keep":
            return Outcome("skipped", entry.id, ["the finished entry is kept (on_cancel: stop)"])
        with suppress(NotFoundError):  # deleted meanwhile: the same end
            self._client.delete_time_entry(entry.workspace_id, entry.id)
        self._state.set_known_entry(found.key, replace(found.known, deleted=True))
        return Outcome("deleted", entry.id)

    def _subject(self, subject: str | None) -> Subject | Outcome:
        """The entry an earlier event about ``subject`` made, or why there is nothing to change."""
        view = self._state.subject_view(subject) if subject else None
        if view is None:
            return Outcome("skipped", None, [NO_ENTRY])
        key, known = view
        if known.deleted:
            return Outcome("skipped", known.id, ["the entry was deleted in Toggl: left deleted"])
        try:
            current = self._client.time_entry(known.id)
        except NotFoundError:
            current = None
        if current is None or current.server_deleted_at is not None:
            self._state.set_known_entry(key, replace(known, deleted=True))
            self._knowledge.forget_if_running(known.id)
            return Outcome("skipped", known.id, ["the entry was deleted in Toggl: left deleted"])
        changed = changed_by_hand(known, current)
        if changed:
            return Outcome(
                "skipped", known.id, [f"changed by hand since the bridge wrote it ({changed}): left alone"]
            )
        return Subject(key, known, current)

    def _remember_write(self, target: str, subject: str | None, entry: TimeEntry) -> None:
        """After the bridge itself changed a subject's entry, its view follows, so the change is not taken for
        a person's."""
        if target != "subject" or not subject:
            return
        view = self._state.subject_view(subject)
        if view is not None and view[1].id == entry.id:
            self._state.set_known_entry(view[0], _view(entry, deleted=view[1].deleted))

    def _target(self, target: str, subject: str | None) -> tuple[int, int] | None:
        """(workspace id, entry id) of the entry an action means, or None when there is none."""
        if target == "subject":
            entry_id = self._state.subject_entry(subject) if subject else None
            return (self._knowledge.workspace(), entry_id) if entry_id is not None else None
        running = self._knowledge.running()
        return (running.workspace_id, running.id) if running is not None else None


def changed_by_hand(known: KnownEntry, current: TimeEntry) -> str:
    """What of the entry differs from what the bridge last wrote ("" when nothing): its description, start, stop
    or tags. A running entry the bridge did not stop was stopped by a person, or by another timer they started."""
    changed = []
    if (current.description or "") != known.description:
        changed.append("description")
    if not _same(current.start, known.start):
        changed.append("start")
    if known.stop is None:
        if not current.is_running:
            changed.append("stopped")
    elif current.is_running or current.stop is None or not _same(current.stop, known.stop):
        changed.append("stop")
    if set(current.tags) != set(known.tags):
        changed.append("tags")
    return ", ".join(changed)


def _view(entry: TimeEntry, *, deleted: bool = False) -> KnownEntry:
    stop = None if entry.is_running else entry.stop
    return KnownEntry(
        entry.id,
        entry.workspace_id,
        entry.start,
        stop,
        tuple(sorted(entry.tags)),
        entry.description or "",
        deleted,
    )


def _same(one: datetime, other: datetime) -> bool:
    return abs(one - other) <= SAME_TIME


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
