"""``/toggl undo``: take back the last change the bridge made in an identity's account, if it is recent.

A created or logged entry is deleted (and stays deleted: the timeline marks it so); a stopped one goes on (a new
entry with its fields, started when it stopped, the way Toggl's own "continue" does); added tags are removed and
removed ones added back. Only the last change, once: undoing twice does not redo.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Literal

from togglbridge.actions import UndoAction
from togglbridge.effects.knowledge import Knowledge
from togglbridge.effects.outcome import Outcome
from togglbridge.effects.timer import Timer
from togglbridge.store.identity_state import IdentityState, LastChange
from togglbridge.timeline import Mark
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import NotFoundError

UNDOABLE = frozenset({"created", "adopted", "stopped", "logged", "tagged", "untagged"})
"""What applying an action did that undo can take back."""


class Undo:
    def __init__(self, client: TogglClient, state: IdentityState, knowledge: Knowledge, timer: Timer) -> None:
        self._client = client
        self._state = state
        self._knowledge = knowledge
        self._timer = timer

    def undo(self, action: UndoAction, order: float) -> Outcome:
        change = self._state.last_change()
        if change is None or action.occurred_at.timestamp() - change.at > action.within_seconds:
            minutes = action.within_seconds // 60
            return Outcome("skipped", None, [f"nothing I did in the last {minutes} minutes to undo"])
        self._state.set_last_change(None)  # once: a second undo does not redo
        if change.result in ("created", "adopted", "logged"):
            return self._delete(change)
        if change.result == "stopped":
            return self._go_on(change, action, order)
        return self._retag(change)

    def _delete(self, change: LastChange) -> Outcome:
        try:  # its own workspace: a rule may have made it in another than the identity's default
            entry = self._client.time_entry(change.entry_id)
        except NotFoundError:
            return Outcome("skipped", change.entry_id, ["the entry was deleted already"])
        with suppress(NotFoundError):  # deleted meanwhile: the same end
            self._client.delete_time_entry(entry.workspace_id, change.entry_id)
        self._knowledge.forget_if_running(change.entry_id)
        known = self._state.known_entries([change.key]).get(change.key)
        if known is not None:  # a timer's entry: the timeline leaves it deleted
            self._state.set_known_entry(change.key, replace(known, deleted=True))
        what = "the entry I logged" if change.type == "log" else "the entry I started"
        return Outcome("deleted", change.entry_id, [f"undid {change.type}: deleted {what}"])

    def _go_on(self, change: LastChange, action: UndoAction, order: float) -> Outcome:
        try:
            entry = self._client.time_entry(change.entry_id)
        except NotFoundError:
            return Outcome("skipped", change.entry_id, ["the entry I stopped was deleted since"])
        if entry.stop is None:
            return Outcome("skipped", entry.id, ["the entry I stopped is running again already"])
        start = Mark(
            action.key, "start", entry.stop, order, entry.description or "", tuple(entry.tags), action.subject,
            project=entry.project_id, task_id=entry.task_id, billable=entry.billable, workspace_id=entry.workspace_id,
        )  # fmt: skip
        done = self._timer.apply([start])[0]
        return Outcome(
            done.result, done.entry_id, [f"undid stop: “{entry.description or ''}” goes on", *done.notes]
        )

    def _retag(self, change: LastChange) -> Outcome:
        workspace_id = self._knowledge.workspace()
        back: Literal["add", "delete"] = "delete" if change.result == "tagged" else "add"
        try:
            self._client.update_time_entry(
                workspace_id, change.entry_id, tags=list(change.tags), tag_action=back
            )
        except NotFoundError:
            return Outcome("skipped", change.entry_id, ["the entry was deleted since"])
        verb = "removed" if back == "delete" else "put back"
        return Outcome(
            "updated",
            change.entry_id,
            [f"undid {change.type}: {verb} {' '.join('#' + t for t in change.tags)}"],
        )
