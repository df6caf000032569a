"""Coalescing logs (``log`` with ``coalesce:``): pieces of work close together extend one entry instead of each
making its own (``togglbridge.sessions`` says what the entries should be; this makes Toggl agree).

Several waiting pieces of one group are applied together, so a burst of commits costs one create. A piece that
arrives late changes only the session it joins: extended, described by its earliest piece, or merged with the
session it bridges (the later entry deleted). An entry deleted in Toggl stays deleted, and its pieces with it.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from datetime import timedelta
from typing import Any

from togglbridge.actions import LogAction
from togglbridge.effects.knowledge import Knowledge
from togglbridge.effects.outcome import ADOPTED, Outcome
from togglbridge.sessions import Piece, Plan, SessionEntry, plan_sessions
from togglbridge.store.identity_state import IdentityState
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import NotFoundError


class CoalescedLogs:
    def __init__(self, client: TogglClient, state: IdentityState, knowledge: Knowledge) -> None:
        self._client = client
        self._state = state
        self._knowledge = knowledge

    def log(self, actions: list[LogAction]) -> list[Outcome]:
        """Apply coalescing logs of one group (in outbox order); one outcome per action."""
        first = actions[0]
        group, gap = first.coalesce_group or "", timedelta(seconds=first.coalesce_seconds or 0)
        workspace_id = self._knowledge.workspace(first.workspace_id)
        known = {piece.key: piece for piece in self._state.session_pieces(group)}
        # A redelivered piece keeps its first reading: an estimate read again would see its own commit.
        new = [known.get(action.key) or self._piece(action) for action in actions]
        pieces = list({**known, **{piece.key: piece for piece in new}}.values())
        entries = self._state.session_entries(group)
        made: dict[str, tuple[SessionEntry, list[str]]] = {}  # piece key -> its session's entry, and notes
        kept: list[SessionEntry] = []
        gone: list[int] = []
        batch_keys = {action.key for action in actions}
        for plan in plan_sessions(pieces, entries, {piece.key for piece in new}, gap):
            notes: list[str] = []
            entry = self._make_so(plan, workspace_id, batch_keys, pieces, notes)
            kept.append(entry)
            # A person deleted (part of) this session in Toggl: nothing they kept is merged away into it.
            for merged in () if entry.deleted else plan.merged:
                if not merged.deleted:
                    with suppress(NotFoundError):  # deleted meanwhile: the same end
                        self._client.delete_time_entry(merged.workspace_id, merged.id)
                    notes.append(f"merged entry {merged.id} into it")
                gone.append(merged.id)
            for key in plan.session.keys:
                made[key] = (entry, notes)
        self._state.save_sessions(group, new, kept, gone)
        return [
            self._outcome(action, piece, made[piece.key]) for action, piece in zip(actions, new, strict=True)
        ]

    def _piece(self, action: LogAction) -> Piece:
        if action.estimate is not None:
            duration = action.estimate.resolve(action.end, self._state.commit_before(action.end))
            self._state.add_commit(action.end)
        else:
            duration = action.duration_seconds or 0
        return Piece(
            key=action.key,
            start=action.end - timedelta(seconds=duration),
            end=action.end,
            description=action.description,
            project=action.project,
            tags=tuple(action.tags),
            billable=action.billable,
            task_id=action.task_id,
        )

    def _make_so(
        self, plan: Plan, workspace_id: int, batch_keys: set[str], pieces: list[Piece], notes: list[str]
    ) -> SessionEntry:
        """Make the session's entry in Toggl what the session says it is; returns it as now made."""
        session, keep = plan.session, plan.keep
        if keep is None:
            keep = self._made_before(plan, workspace_id, batch_keys)
            if keep is None:
                return self._create(plan, workspace_id, batch_keys, notes)
            notes.append(ADOPTED)
        if keep.deleted:
            notes.append(f"its session's entry {keep.id} was deleted in Toggl: left deleted")
            return replace(keep, keys=keep.keys | session.keys)
        fields: dict[str, Any] = {}
        if session.start != keep.start:
            fields["start"] = session.start
        if session.end != keep.end:
            fields["stop"] = session.end
        if session.first.description != keep.description:
            fields["description"] = session.first.description
        before = {tag for piece in pieces if piece.key in keep.keys for tag in piece.tags}
        added = [tag for tag in session.tags if tag not in before]
        try:
            if fields:
                self._client.update_time_entry(keep.workspace_id, keep.id, **fields)
            if added:
                self._client.update_time_entry(keep.workspace_id, keep.id, tags=added, tag_action="add")
        except NotFoundError:
            notes.append(f"its session's entry {keep.id} was deleted in Toggl: left deleted")
            return replace(keep, keys=keep.keys | session.keys, deleted=True)
        return replace(
            keep,
            keys=keep.keys | session.keys,
            start=session.start,
            end=session.end,
            description=session.first.description,
        )

    def _made_before(self, plan: Plan, workspace_id: int, batch_keys: set[str]) -> SessionEntry | None:
        """The entry an earlier attempt of this session made in Toggl before it could record it (a crash between
        the two), if any. That attempt may have held fewer of its pieces, so the entry may start at, and be
        described as, any of them; it was made under one of this batch's keys, which an earlier attempt left
        undone."""
        session = plan.session
        found = self._knowledge.reconcile_any(
            [piece.key for piece in session.pieces if piece.key in batch_keys],
            workspace_id,
            [(piece.start, piece.description) for piece in session.pieces],
        )
        if found is None:
            return None
        end = found.stop or found.start + timedelta(seconds=max(found.duration, 0))
        # Its keys are unknown: every tag of the session is added again (adding a tag an entry has changes nothing).
        return SessionEntry(
            found.id, found.workspace_id, frozenset(), found.start, end, found.description or ""
        )

    def _create(self, plan: Plan, workspace_id: int, batch_keys: set[str], notes: list[str]) -> SessionEntry:
        session = plan.session
        first = session.first
        # The intent is kept under an action of this batch: a redelivery of the batch finds what it created.
        key = next(piece.key for piece in session.pieces if piece.key in batch_keys)
        created = self._knowledge.create(
            key,
            workspace_id,
            start=session.start,
            duration=int((session.end - session.start).total_seconds()),
            description=first.description,
            project_id=self._knowledge.project_id(workspace_id, first.project, notes),
            task_id=first.task_id,
            tags=list(session.tags) or None,
            billable=first.billable,
        )
        return SessionEntry(
            created.id, created.workspace_id, session.keys, session.start, session.end, first.description
        )

    @staticmethod
    def _outcome(action: LogAction, piece: Piece, made: tuple[SessionEntry, list[str]]) -> Outcome:
        entry, notes = made
        if entry.deleted:
            return Outcome("skipped", entry.id, notes)
        seconds = int((piece.end - piece.start).total_seconds())
        span = f"{entry.start:%H:%M}-{entry.end:%H:%M} UTC, {len(entry.keys)} piece(s)"
        return Outcome("logged", entry.id, [f"{seconds} s", f"in a session entry {span}", *notes])
