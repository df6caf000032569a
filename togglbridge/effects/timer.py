"""Timer actions (start, stop, tag or update the running entry) applied through the identity's timeline
(``togglbridge.timeline``): only what a new action changes is sent, and an action that arrives after later ones
reshapes the entries by time, so any order of the same deliveries ends in the same entries.

Creating a running entry first stops the one already running, so the outcome is right whether or not Toggl stops
it by itself (undocumented for v9). A timer started outside the bridge is stopped, tagged or updated by the newest
action as if the bridge had started it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from togglbridge.actions import Action
from togglbridge.effects.knowledge import Knowledge
from togglbridge.effects.outcome import ADOPTED, Notes, Outcome
from togglbridge.store.identity_state import UNKNOWN, IdentityState, KnownEntry, Running
from togglbridge.timeline import Intended, Mark, changed_entries, ends, intended_entries, mark_of
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import NotFoundError
from togglbridge.toggl.payload import UNSET

STOPPED_ELSEWHERE = "the entry had been stopped elsewhere"
_RESULTS = {"start": "created", "stop": "stopped", "tag": "tagged", "untag": "untagged", "update": "updated"}


def is_timer_action(action: Action) -> bool:
    """Whether the action goes through the timeline (and so can be coalesced with its neighbours)."""
    return mark_of(action, 0.0) is not None


class Timer:
    def __init__(self, client: TogglClient, state: IdentityState, knowledge: Knowledge) -> None:
        self._client = client
        self._state = state
        self._knowledge = knowledge

    def apply(self, batch: list[Mark]) -> list[Outcome]:
        """Apply timer actions through the identity's timeline: change in Toggl what the new marks change.

        Several waiting actions are applied together (coalesced): a start and its stop become one finished
        entry, two tags on one entry one request, so a backlog costs fewer requests than its actions.
        """
        notes = Notes()
        keys = {mark.key for mark in batch}
        marks = [m for m in self._state.marks() if m.key not in keys]
        first = min(batch, key=lambda m: (m.order, m.key))
        newest = all((m.order, m.key) < (first.order, first.key) for m in marks)
        before = intended_entries(marks)
        after = intended_entries([*marks, *batch])
        ours_before = next((e for e in before.values() if e.running), None)
        own = self._own_ids(after)
        external = self._external_before(batch, marks, own, notes) if newest else False
        if not newest:
            notes.append("arrived after later actions: entries reshaped by time, not by arrival")
        changed = changed_entries(before, after)
        known = self._state.known_entries([entry.key for entry in changed])
        touched: dict[str, int] = {}
        for entry in changed:
            entry_id = self._make_so(entry, known.get(entry.key), before.get(entry.key), notes)
            if entry_id is not None:
                touched[entry.key] = entry_id
        last = batch[-1]
        if newest and last.kind == "stop" and STOPPED_ELSEWHERE in notes:
            # Someone stopped our entry by hand and may have started another: a stop means that one now.
            self._state.set_running(UNKNOWN)
            external = self._stop_foreign(last, self._own_ids(after), notes) or external
        for mark in batch:
            self._state.add_mark(mark)
        ours_after = next((e for e in after.values() if e.running), None)
        if ours_after is not None:
            current = self._state.known_entries([ours_after.key]).get(ours_after.key)
            if current is not None and current.deleted:
                self._state.set_running(UNKNOWN)  # ours is gone: whatever runs now, Toggl knows
            elif current is not None:
                self._state.set_running(
                    Running(current.id, current.workspace_id, current.start, current.description)
                )
        elif ours_before is not None:
            self._state.set_running(None)
        if not changed and not external:
            nothing = f"nothing of this identity's to change at {first.at.isoformat()}"
            return [Outcome("skipped", None, [*notes, nothing], foreign=notes.foreign) for _ in batch]
        entry_id = touched.get(first.key) or next(iter(touched.values()), None)
        outcomes = []
        for index, mark in enumerate(batch):
            # What this mark itself changed, given the marks before it: coalesced neighbours get their own verdict.
            did = intended_entries([*marks, *batch[:index]]) != intended_entries(
                [*marks, *batch[: index + 1]]
            )
            result = _RESULTS[mark.kind] if did or (index == 0 and external) else "skipped"
            if index == 0:
                shown = _shown(after, touched, entry_id) if result == "stopped" else None
                outcomes.append(
                    Outcome(
                        "adopted" if ADOPTED in notes else result,
                        entry_id,
                        notes,
                        foreign=notes.foreign,
                        entry=shown,
                    )
                )
            else:
                outcomes.append(
                    Outcome(result, touched.get(mark.key, entry_id), [f"coalesced with {first.key}"])
                )
        return outcomes

    def _own_ids(self, entries: dict[str, Intended]) -> set[int]:
        """The Toggl ids of the entries the bridge made for these marks: never mistaken for a foreign timer."""
        return {known.id for known in self._state.known_entries(list(entries)).values()}

    def _foreign_running(self, own: set[int], *, refresh: bool = False) -> Running | None:
        """The running entry, if one runs that the bridge did not start."""
        running = self._knowledge.refresh_running() if refresh else self._knowledge.running()
        return None if running is None or running.id in own else running

    def _external_before(self, batch: list[Mark], marks: list[Mark], own: set[int], notes: Notes) -> bool:
        """The effect of the newest actions on a timer the bridge did not start, in order."""
        external = False
        for index, mark in enumerate(batch):
            if mark.kind == "start" and self._knowledge.has_intent(mark.key):
                break  # it may have created the running entry already: never stop that as foreign
            so_far = intended_entries([*marks, *batch[:index]])
            ours = next((e for e in so_far.values() if e.running), None)
            external = self._external_timer(mark, ours, own, notes) or external
            if mark.kind == "start":
                break  # after our own start, everything is about entries the bridge made
        return external

    def _external_timer(self, mark: Mark, ours: Intended | None, own: set[int], notes: Notes) -> bool:
        """For the newest action: a timer started outside the bridge (by hand, another tool) is stopped by a
        start or a stop, and tagged or updated by a tag or update, as if the bridge had started it. Returns
        whether that was the action's whole effect."""
        if ours is not None and (mark.kind != "stop" or ends(mark, ours)):
            return False  # the action is about the bridge's own running entry
        if mark.kind == "start":
            running = self._foreign_running(own)
            if running is not None:
                self._knowledge.stop_entry(running.workspace_id, running.id, mark.at, notes)
                self._state.set_running(None)
                notes.append(f"stopped entry {running.id}, started elsewhere")
                notes.foreign = True
            return False  # the start itself is still to be made
        if mark.kind == "stop":
            return mark.only != "started_by_this_event" and self._stop_foreign(mark, own, notes)
        running = self._foreign_running(own)
        if running is None:
            return False
        if mark.kind == "update":
            self._client.update_time_entry(
                running.workspace_id,
                running.id,
                description=mark.description if mark.description is not None else UNSET,
                tags=list(mark.tags) if mark.only == "tags" else UNSET,
            )
        else:
            tag_action: Literal["add", "delete"] = "add" if mark.kind == "tag" else "delete"
            self._client.update_time_entry(
                running.workspace_id, running.id, tags=list(mark.tags), tag_action=tag_action
            )
        notes.append(f"{mark.kind} applied to entry {running.id}, started elsewhere")
        notes.foreign = True
        return True

    def _stop_foreign(self, mark: Mark, own: set[int], notes: Notes) -> bool:
        """Stop the running entry the bridge did not start, if the stop means it."""
        for attempt in range(2):
            running = self._foreign_running(own, refresh=attempt > 0)
            if running is None or (
                mark.only == "same_description" and running.description != mark.description
            ):
                return False
            if self._knowledge.stop_entry(running.workspace_id, running.id, mark.at, notes):
                self._state.set_running(None)
                notes.append(f"stopped entry {running.id}, started elsewhere")
                notes.foreign = True
                return True
            # Toggl says it was stopped already: ask once what runs now.
        return False

    def _make_so(
        self, entry: Intended, known: KnownEntry | None, before: Intended | None, notes: Notes
    ) -> int | None:
        """Bring one entry in Toggl to what the timeline says it should be; returns its id (None for an entry
        deleted in Toggl, which stays deleted: someone removed it on purpose)."""
        if known is None:
            return self._open(entry, notes)
        if known.deleted:
            return None
        try:
            return self._change(entry, known, before, notes)
        except NotFoundError:
            self._state.set_known_entry(entry.key, replace(known, deleted=True))
            self._knowledge.forget_if_running(known.id)
            notes.append(f"entry {known.id} was deleted in Toggl: left deleted")
            return None

    def _change(self, entry: Intended, known: KnownEntry, before: Intended | None, notes: Notes) -> int:
        """Send what differs between the entry as the bridge last knew it and as the timeline wants it."""
        current = known
        if entry.stop != current.stop:
            if current.stop is None and entry.stop is not None:
                if not self._knowledge.stop_entry(current.workspace_id, current.id, entry.stop, notes):
                    notes.append(STOPPED_ELSEWHERE)
                    notes.foreign = True
            elif current.stop is not None and entry.stop is not None:
                self._client.update_time_entry(current.workspace_id, current.id, stop=entry.stop)
            current = replace(current, stop=entry.stop)
            self._state.set_known_entry(entry.key, current)
        added, removed = sorted(entry.tags - set(current.tags)), sorted(set(current.tags) - entry.tags)
        changes: tuple[tuple[list[str], Literal["add", "delete"]], ...] = (
            (added, "add"),
            (removed, "delete"),
        )
        for tags, tag_action in changes:
            if tags:
                self._client.update_time_entry(
                    current.workspace_id, current.id, tags=tags, tag_action=tag_action
                )
        if added or removed:
            current = replace(current, tags=tuple(sorted(entry.tags)))
            self._state.set_known_entry(entry.key, current)
        fields: dict[str, Any] = {}
        if entry.description != current.description:
            fields["description"] = entry.description
        if before is not None:
            if entry.project != before.project:
                fields["project_id"] = self._knowledge.project_id(current.workspace_id, entry.project, notes)
            if entry.billable != before.billable and entry.billable is not None:
                fields["billable"] = entry.billable
            if entry.task_id != before.task_id:
                fields["task_id"] = entry.task_id
        if fields:
            self._client.update_time_entry(current.workspace_id, current.id, **fields)
            current = replace(current, description=entry.description)
            self._state.set_known_entry(entry.key, current)
        return current.id

    def _open(self, entry: Intended, notes: Notes) -> int:
        """Create the entry (running, or finished when later actions already ended it)."""
        workspace_id = self._knowledge.workspace(entry.workspace_id)
        created = self._knowledge.reconcile(entry.key, workspace_id, entry.start, entry.description)
        if created is not None:
            notes.append(ADOPTED)
        else:
            created = self._knowledge.create(
                entry.key,
                workspace_id,
                start=entry.start,
                stop=entry.stop,
                description=entry.description,
                project_id=self._knowledge.project_id(workspace_id, entry.project, notes),
                task_id=entry.task_id,
                tags=sorted(entry.tags) or None,
                billable=entry.billable,
            )
        known = KnownEntry(
            created.id, created.workspace_id, created.start, created.stop, tuple(sorted(created.tags)),
            created.description or "",
        )  # fmt: skip
        if entry.subject:
            self._state.link_subject(entry.subject, entry.key, known)
        else:
            self._state.set_known_entry(entry.key, known)
        if known.stop != entry.stop or set(known.tags) != entry.tags:
            self._make_so(entry, known, None, notes)  # an adopted entry that needs finishing
        return created.id


def _shown(
    after: dict[str, Intended], touched: dict[str, int], entry_id: int | None
) -> dict[str, Any] | None:
    """The stopped entry as the timeline now has it: what a follow-up says of it ("Stopped … after 1h 05m")."""
    key = next((key for key, made in touched.items() if made == entry_id), None)
    entry = after.get(key) if key is not None else None
    if entry is None or entry.stop is None:
        return None
    return {
        "description": entry.description,
        "tags": sorted(entry.tags),
        "start": entry.start.isoformat(),
        "stop": entry.stop.isoformat(),
    }
