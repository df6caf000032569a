"""Reports for a chat (``status``, ``today``, ``week``): read from Toggl with one request, and from what the
bridge knows of the running entry, so asking costs the quota almost nothing. Nothing is changed."""

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


class Reports:
    def __init__(self, client: TogglClient, knowledge: Knowledge) -> None:
        self._client = client
        self._knowledge = knowledge

    def report(self, action: ReportAction) -> Outcome:
        now = action.occurred_at  # as of when it was asked, however long the answer waited for Toggl's quota
        until = action.since + (timedelta(days=7) if action.report == "week" else timedelta(days=1))
        listed = self._client.time_entries(start_date=action.since, end_date=until, meta=True)
        entries = [e for e in listed if action.since <= e.start < until]
        total = sum(e.elapsed_seconds(now) for e in entries)
        if action.report == "status":
            running = next((e for e in entries if e.is_running), None)
            if running is None and self._knowledge.running() is not None:
                running = self._client.current_time_entry()  # began before the day: not among today's
            lines = [
                _running_line(running, now) if running else "Nothing is running.",
                f"Today: {hours_minutes(total)}.",
            ]
            return Outcome("reported", running.id if running else None, lines)
        by_project: dict[str, int] = defaultdict(int)
        for entry in entries:
            by_project[entry.project_name or "(no project)"] += entry.elapsed_seconds(now)
        period = "Today" if action.report == "today" else "This week"
        lines = [f"{period}: {hours_minutes(total)}."]
        lines += [
            f"{name}: {hours_minutes(seconds)}"
            for name, seconds in sorted(by_project.items(), key=lambda kv: -kv[1])
        ]
        return Outcome("reported", None, lines)


def _running_line(entry: TimeEntry, now: datetime) -> str:
    what = entry_phrase(entry.description or "", entry.project_name, entry.tags)
    return f"Running: {what} for {hours_minutes(entry.elapsed_seconds(now))}."
