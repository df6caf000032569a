"""What each action does in Toggl, for one identity, spending as few requests as the facts allow.

- ``knowledge``: what the bridge knows of the account (workspace, running entry, project ids) and the writes that
  keep it true: a create that records its intent and reconciles on redelivery, a stop corrected to the event's time.
- ``timer``: starts, stops, and changes to the running entry, through the identity's timeline
  (``togglbridge.timeline``): only what a new action changes is sent, and any order of the same deliveries ends
  in the same entries.
- ``coalesced``: logs with ``coalesce:``, whose pieces close together make one entry (``togglbridge.sessions``).
- ``reports``: what runs and the day's or week's totals, read for a chat command (``status``, ``today``, ``week``).
- ``entries``: finished entries (log) and edits of a subject's or the running entry (tag, untag, update), and a
  meeting's entry moved or withdrawn when the meeting moved or was cancelled, unless a person changed it since.
"""

from __future__ import annotations

from togglbridge.actions import (
    Action,
    LearnAction,
    LogAction,
    MoveAction,
    ReportAction,
    ResumeAction,
    TagAction,
    UndoAction,
    UntagAction,
    UpdateAction,
    WithdrawAction,
)
from togglbridge.effects.coalesced import CoalescedLogs
from togglbridge.effects.entries import Entries, RunningSubject
from togglbridge.effects.knowledge import Knowledge
from togglbridge.effects.outcome import Outcome
from togglbridge.effects.reports import Reports
from togglbridge.effects.timer import Timer, is_timer_action
from togglbridge.effects.undo import UNDOABLE, Undo
from togglbridge.store.identity_state import IdentityState
from togglbridge.store.ledger import Ledger
from togglbridge.timeline import Mark, mark_of
from togglbridge.toggl.client import TogglClient

__all__ = ["UNDOABLE", "Effects", "Outcome", "batch_kind"]


def batch_kind(action: Action) -> str | None:
    """What the action can be applied together with: ``timer`` for timer actions, ``log:<group>`` for a
    coalescing log of that group; None when it goes alone."""
    if is_timer_action(action):
        return "timer"
    if isinstance(action, LogAction) and action.coalesce_group is not None:
        return f"log:{action.coalesce_group}"
    return None


class Effects:
    """One identity's actions applied to its account: each kind of action to the part that knows how."""

    def __init__(
        self,
        client: TogglClient,
        state: IdentityState,
        ledger: Ledger,
        *,
        workspace_id: int | None = None,
        honour_action_workspaces: bool = True,
        known_workspace: int | None = None,
        known_intents: dict[str, bool] | None = None,
        recorded_intents: frozenset[str] = frozenset(),
    ) -> None:
        self._knowledge = Knowledge(
            client,
            state,
            ledger,
            workspace_id=workspace_id,
            honour_action_workspaces=honour_action_workspaces,
            known_workspace=known_workspace,
            known_intents=dict(known_intents or {}),
            recorded_intents=recorded_intents,
        )
        self._timer = Timer(client, state, self._knowledge)
        self._entries = Entries(client, state, self._knowledge)
        self._coalesced = CoalescedLogs(client, state, self._knowledge)
        self._reports = Reports(client, self._knowledge)
        self._undo = Undo(client, state, self._knowledge, self._timer)
        self._client = client

    def apply(self, action: Action, order: float) -> Outcome:
        """Apply one action; ``order`` is its place in the identity's outbox (time, then plan position)."""
        mark = mark_of(action, order)
        if mark is not None:
            return self._timer.apply([mark])[0]
        if isinstance(action, LogAction) and action.coalesce_group is not None:
            return self._coalesced.log([action])[0]
        if isinstance(action, LogAction):
            return self._entries.log(action)
        if isinstance(action, TagAction | UntagAction):
            return self._entries.tag(action)
        if isinstance(action, UpdateAction):
            return self._entries.update(action)
        if isinstance(action, ReportAction):
            return self._reports.report(action)
        if isinstance(action, ResumeAction):
            return self._resume(action, order)
        if isinstance(action, UndoAction):
            return self._undo.undo(action, order)
        if isinstance(action, LearnAction):
            return self._knowledge.learn(action)
        if isinstance(action, MoveAction):
            return self._entries.move(action)
        if isinstance(action, WithdrawAction):
            withdrawn = self._entries.withdraw(action)
            if isinstance(withdrawn, RunningSubject):
                # Stopped through the timeline, which started it: its view of the entry stays true.
                stop = Mark(
                    action.key, "stop", action.occurred_at, order, subject=action.subject,
                    only="started_by_this_event",
                )  # fmt: skip
                return self._timer.apply([stop])[0]
            return withdrawn
        raise TypeError(f"no effect for {type(action).__name__}")

    def _resume(self, action: ResumeAction, order: float) -> Outcome:
        """Start again what ran last: the newest entry Toggl lists (one request), started through the timeline
        like any start."""
        listed = self._client.time_entries()
        last = max(listed, key=lambda entry: entry.start, default=None)
        if last is None:
            return Outcome("skipped", None, ["nothing to resume: no entry in the last days"])
        described = f"“{last.description or '(no description)'}”"
        if last.is_running:
            return Outcome("skipped", last.id, [f"{described} is running already"])
        start = Mark(
            action.key, "start", action.start, order, last.description or "", tuple(last.tags), action.subject,
            project=last.project_id, task_id=last.task_id, billable=last.billable, workspace_id=last.workspace_id,
        )  # fmt: skip
        done = self._timer.apply([start])[0]
        return Outcome(done.result, done.entry_id, [f"resumed {described}", *done.notes])

    def apply_batch(self, batch: list[tuple[Action, float]]) -> list[Outcome]:
        """Apply actions that go together (see ``batch_kind``) in one go, in outbox order: consecutive timer
        actions through the timeline, or coalescing logs of one group."""
        logs = [action for action, _ in batch if isinstance(action, LogAction)]
        if len(logs) == len(batch):
            return self._coalesced.log(logs)
        marks = [mark_of(action, order) for action, order in batch]
        return self._timer.apply([m for m in marks if m is not None])

    def forget_learned(self, action: Action) -> None:
        """Forget what was learned of the account and may have gone stale (Toggl refused an id the bridge had
        remembered): the workspace, the running entry and the project ids, shared ones included."""
        self._knowledge.forget_learned(getattr(action, "workspace_id", None))

    def workspace(self, action_workspace: int | None = None) -> int:
        """The action's workspace, else the configured one, else the account's default (asked once, kept)."""
        return self._knowledge.workspace(action_workspace)
