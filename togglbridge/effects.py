"""What each action does in Toggl, for one identity, spending as few requests as the facts allow.

- Timer actions (start, stop, tag or update the running entry) go through the identity's timeline
  (``togglbridge.timeline``): only what a new action changes is sent, and an action that arrives after later ones
  reshapes the entries by time, so any order of the same deliveries ends in the same entries.
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
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

from togglbridge.actions import Action, LogAction, TagAction, UntagAction, UpdateAction
from togglbridge.store.identity_state import UNKNOWN, IdentityState, KnownEntry, Running, Unknown
from togglbridge.store.ledger import Ledger
from togglbridge.timeline import Intended, Mark, changed_entries, ends, intended_entries, mark_of
from togglbridge.toggl.client import UNSET, TogglClient
from togglbridge.toggl.errors import AuthenticationError, BadRequestError, NotFoundError, TogglError
from togglbridge.toggl.limiter import Paced
from togglbridge.toggl.models import TimeEntry

# A stop that Toggl recorded this much later than the event asked for is corrected to the event's time.
LATE_STOP_TOLERANCE = timedelta(seconds=60)
# How often an unknown project name may trigger a fresh listing of the workspace's projects.
PROJECT_REFRESH_SECONDS = 300
RECONCILE_WINDOW = timedelta(minutes=2)
ADOPTED = "found the entry an interrupted attempt created"
STOPPED_ELSEWHERE = "the entry had been stopped elsewhere"
_RESULTS = {"start": "created", "stop": "stopped", "tag": "tagged", "untag": "untagged", "update": "updated"}


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


def is_timer_action(action: Action) -> bool:
    """Whether the action goes through the timeline (and so can be coalesced with its neighbours)."""
    return mark_of(action, 0.0) is not None


class Effects:
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
    ) -> None:
        self._client = client
        self._state = state
        self._ledger = ledger
        self._configured_workspace = workspace_id
        self._honour_action_workspaces = honour_action_workspaces
        self._known_workspace = known_workspace  # the account's default workspace, when already read
        self._known_intents = dict(known_intents or {})  # what the drain already read of the ledger's intents

    def apply(self, action: Action, order: float) -> Outcome:
        """Apply one action; ``order`` is its place in the identity's outbox (time, then plan position)."""
        mark = mark_of(action, order)
        if mark is not None:
            return self._timer([mark])[0]
        if isinstance(action, LogAction):
            return self._log(action)
        if isinstance(action, TagAction | UntagAction):
            return self._tag(action)
        if isinstance(action, UpdateAction):
            return self._update(action)
        raise TypeError(f"no effect for {type(action).__name__}")

    # -- shared knowledge -----------------------------------------------------------------------------------

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
        except BadRequestError as exc:
            # Most often: an earlier attempt created it and died before remembering its id. Look again.
            listing = {p.name: p.id for p in self._client.iter_projects(workspace_id, active="both")}
            self._state.cache_projects(listing)
            found = self._state.project_id(name)
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
        self._state.cache_projects({created.name: created.id})
        notes.append(f"created project {name!r}")
        return created.id

    def _reconcile(self, key: str, workspace_id: int, start: Any, description: str) -> TimeEntry | None:
        """After a crash between create and record: the entry this action already created, if any."""
        if not self._has_intent(key):
            return None
        try:
            since, until = start - RECONCILE_WINDOW, start + RECONCILE_WINDOW
        except OverflowError:  # a start at the edge of time: nothing can have been created there
            return None
        candidates = self._client.time_entries(start_date=since, end_date=until)
        for entry in candidates:
            same_start = abs((entry.start - start).total_seconds()) < 1
            if same_start and (entry.description or "") == description and entry.workspace_id == workspace_id:
                return entry
        return None

    def _has_intent(self, key: str) -> bool:
        """Whether a create for ``key`` was sent before with an unknown outcome (read once, then known)."""
        if key not in self._known_intents:
            self._known_intents[key] = self._ledger.intent(key) is not None
        return self._known_intents[key]

    def _create(self, key: str, workspace_id: int, **fields: Any) -> TimeEntry:
        """Create an entry, recording the intent first; an answer that refused it clears the intent again, so
        only an unknown outcome (a timeout, a 5xx, a crash) costs a lookup on the next attempt."""
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

    def _stop_entry(self, workspace_id: int, entry_id: int, at: Any, notes: list[str]) -> bool:
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

    def apply_timer_actions(self, batch: list[tuple[Action, float]]) -> list[Outcome]:
        """Apply consecutive timer actions (see ``is_timer_action``) together, in outbox order."""
        marks = [mark_of(action, order) for action, order in batch]
        return self._timer([m for m in marks if m is not None])

    # -- the timer: starts, stops, and changes to the running entry -------------------------------------

    def _timer(self, batch: list[Mark]) -> list[Outcome]:
        """Apply timer actions through the identity's timeline: change in Toggl what the new marks change.

        Several waiting actions are applied together (coalesced): a start and its stop become one finished
        entry, two tags on one entry one request, so a backlog costs fewer requests than its actions.
        """
        notes: list[str] = []
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
            return [Outcome("skipped", None, [*notes, nothing]) for _ in batch]
        entry_id = touched.get(first.key) or next(iter(touched.values()), None)
        outcomes = []
        for index, mark in enumerate(batch):
            # What this mark itself changed, given the marks before it: coalesced neighbours get their own verdict.
            did = intended_entries([*marks, *batch[:index]]) != intended_entries(
                [*marks, *batch[: index + 1]]
            )
            result = _RESULTS[mark.kind] if did or (index == 0 and external) else "skipped"
            if index == 0:
                outcomes.append(Outcome("adopted" if ADOPTED in notes else result, entry_id, notes))
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
        running = self._refresh_running() if refresh else self._running()
        return None if running is None or running.id in own else running

    def _external_before(self, batch: list[Mark], marks: list[Mark], own: set[int], notes: list[str]) -> bool:
        """The effect of the newest actions on a timer the bridge did not start, in order."""
        external = False
        for index, mark in enumerate(batch):
            if mark.kind == "start" and self._has_intent(mark.key):
                break  # it may have created the running entry already: never stop that as foreign
            so_far = intended_entries([*marks, *batch[:index]])
            ours = next((e for e in so_far.values() if e.running), None)
            external = self._external_timer(mark, ours, own, notes) or external
            if mark.kind == "start":
                break  # after our own start, everything is about entries the bridge made
        return external

    def _external_timer(self, mark: Mark, ours: Intended | None, own: set[int], notes: list[str]) -> bool:
        """For the newest action: a timer started outside the bridge (by hand, another tool) is stopped by a
        start or a stop, and tagged or updated by a tag or update, as if the bridge had started it. Returns
        whether that was the action's whole effect."""
        if ours is not None and (mark.kind != "stop" or ends(mark, ours)):
            return False  # the action is about the bridge's own running entry
        if mark.kind == "start":
            running = self._foreign_running(own)
            if running is not None:
                self._stop_entry(running.workspace_id, running.id, mark.at, notes)
                self._state.set_running(None)
                notes.append(f"stopped entry {running.id}, started elsewhere")
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
        return True

    def _stop_foreign(self, mark: Mark, own: set[int], notes: list[str]) -> bool:
        """Stop the running entry the bridge did not start, if the stop means it."""
        for attempt in range(2):
            running = self._foreign_running(own, refresh=attempt > 0)
            if running is None or (
                mark.only == "same_description" and running.description != mark.description
            ):
                return False
            if self._stop_entry(running.workspace_id, running.id, mark.at, notes):
                self._state.set_running(None)
                notes.append(f"stopped entry {running.id}, started elsewhere")
                return True
            # Toggl says it was stopped already: ask once what runs now.
        return False

    def _make_so(
        self, entry: Intended, known: KnownEntry | None, before: Intended | None, notes: list[str]
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
            self._forget_if_running(known.id)
            notes.append(f"entry {known.id} was deleted in Toggl: left deleted")
            return None

    def _change(self, entry: Intended, known: KnownEntry, before: Intended | None, notes: list[str]) -> int:
        """Send what differs between the entry as the bridge last knew it and as the timeline wants it."""
        current = known
        if entry.stop != current.stop:
            if current.stop is None and entry.stop is not None:
                if not self._stop_entry(current.workspace_id, current.id, entry.stop, notes):
                    notes.append(STOPPED_ELSEWHERE)
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
                fields["project_id"] = self._project_id(current.workspace_id, entry.project, notes)
            if entry.billable != before.billable and entry.billable is not None:
                fields["billable"] = entry.billable
            if entry.task_id != before.task_id:
                fields["task_id"] = entry.task_id
        if fields:
            self._client.update_time_entry(current.workspace_id, current.id, **fields)
            current = replace(current, description=entry.description)
            self._state.set_known_entry(entry.key, current)
        return current.id

    def _open(self, entry: Intended, notes: list[str]) -> int:
        """Create the entry (running, or finished when later actions already ended it)."""
        workspace_id = self.workspace(entry.workspace_id)
        created = self._reconcile(entry.key, workspace_id, entry.start, entry.description)
        if created is not None:
            notes.append(ADOPTED)
        else:
            created = self._create(
                entry.key,
                workspace_id,
                start=entry.start,
                stop=entry.stop,
                description=entry.description,
                project_id=self._project_id(workspace_id, entry.project, notes),
                task_id=entry.task_id,
                tags=sorted(entry.tags) or None,
                billable=entry.billable,
            )
        known = KnownEntry(
            created.id, created.workspace_id, created.start, created.stop, tuple(sorted(created.tags)),
            created.description or "",
        )  # fmt: skip
        self._state.set_known_entry(entry.key, known)
        if entry.subject:
            self._state.set_subject_entry(entry.subject, created.id)
        if known.stop != entry.stop or set(known.tags) != entry.tags:
            self._make_so(entry, known, None, notes)  # an adopted entry that needs finishing
        return created.id

    # -- entries named by a subject, and finished entries -----------------------------------------------

    def _log(self, action: LogAction) -> Outcome:
        notes: list[str] = []
        workspace_id = self.workspace(action.workspace_id)
        if action.estimate is not None:
            duration = action.estimate.resolve(action.end, self._state.commit_before(action.end))
        else:
            duration = action.duration_seconds or 0
        start = action.end - timedelta(seconds=duration)
        entry = self._reconcile(action.key, workspace_id, start, action.description)
        if entry is not None:
            notes.append(ADOPTED)
        else:
            entry = self._create(
                action.key,
                workspace_id,
                start=start,
                duration=duration,
                description=action.description,
                project_id=self._project_id(workspace_id, action.project, notes),
                task_id=action.task_id,
                tags=action.tags or None,
                billable=action.billable,
            )
        if action.estimate is not None:
            self._state.add_commit(action.end)
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
