"""Reports for a chat (``status``, ``today``, ``week``): read from Toggl with one request (for ``status``, two
when a timer the bridge believes runs began before the day and the day before it), so asking costs the quota
almost nothing.
An entry counts for the part of it inside the period: one running since before midnight counts from midnight.
Nothing is changed."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from togglbridge.actions import ReportAction
from togglbridge.chat_text import entry_phrase
from togglbridge.durations import hours_minutes
from togglbridge.effects.knowledge import Knowledge
from togglbridge.effects.outcome import Outcome
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.models import TimeEntry

# Entries that began this long before the period are listed too, for the part of them that falls inside it (a
# timer running since before midnight counts from midnight); an older running one only ``status`` looks for.
LOOKBACK = timedelta(days=1)


class Reports:
    def __init__(self, client: TogglClient, knowledge: Knowledge) -> None:
        self._client = client
        self._knowledge = knowledge

    def report(self, action: ReportAction) -> Outcome:
        now = action.occurred_at  # as of when it was asked, however long the answer waited for Toggl's quota
        since = action.since
        until = action.until or since + (timedelta(days=7) if action.report == "week" else timedelta(days=1))
        listed = self._client.time_entries(start_date=since - LOOKBACK, end_date=until, meta=True)
        running = next((e for e in listed if e.is_running), None)
        if action.report == "status" and running is None and self._knowledge.running() is not None:
            # began before the day and the day before it, or the bridge's knowledge is stale: ask
            running = self._client.current_time_entry()
        counted = {entry.id: entry for entry in listed}
        if running is not None:
            counted.setdefault(running.id, running)
        seconds = {
            entry.id: spent
            for entry in counted.values()
            if (spent := _within(entry, since, until, now)) is not None
        }
        total = sum(seconds.values())
        if action.report == "status":
            lines = [
                _running_line(running, now) if running else "Nothing is running.",
                f"Today: {hours_minutes(total)}.",
            ]
            return Outcome("reported", running.id if running else None, lines)
        by_project: dict[str, int] = defaultdict(int)
        for entry in counted.values():
            if entry.id in seconds:
                by_project[entry.project_name or "(no project)"] += seconds[entry.id]
        period = "Today" if action.report == "today" else "This week"
        lines = [f"{period}: {hours_minutes(total)}."]
        lines += [
            f"{name}: {hours_minutes(spent)}"
            for name, spent in sorted(by_project.items(), key=lambda kv: -kv[1])
        ]
        return Outcome("reported", None, lines)


def _within(entry: TimeEntry, since: datetime, until: datetime, now: datetime) -> int | None:
    """The seconds of ``entry`` between ``since`` and ``until`` (a running one: until ``now``); None for an entry
    wholly outside them (one that ended before, or one listed for the day before that did not reach into it)."""
    if entry.is_running:
        end = now
    elif entry.stop is not None:
        end = entry.stop
    else:
        end = entry.start + timedelta(seconds=entry.duration)
    if entry.start >= until or (entry.start < since and end <= since):
        return None
    if since <= entry.start and end <= until and not entry.is_running:
        return entry.duration  # wholly inside: Toggl's own figure
    return max(0, int((min(end, until) - max(entry.start, since)).total_seconds()))


def _running_line(entry: TimeEntry, now: datetime) -> str:
    what = entry_phrase(entry.description or "", entry.project_name, entry.tags)
    return f"Running: {what} for {hours_minutes(entry.elapsed_seconds(now))}."
