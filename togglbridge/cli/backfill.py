"""``togglbridge backfill calendar NAME --from DATE --to DATE [--dry-run] [--config FILE] [--ics FILE]``: the
meetings of past days become the entries the rules make of them, as log mode would have made them.

The events are the ones polling gives (same ids): a meeting polling saw is a duplicate the queue drops, and one
whose entry the bridge made is skipped before sending, so running it twice, or over days the bridge watched live,
adds nothing. They go through the same queues as everything else at bulk priority, behind live work.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import redis
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from togglbridge.calendar_span import Meeting, day_span
from togglbridge.cli.calendar import calendar_or_exit, config_option, ics_option, span_or_exit, what, when
from togglbridge.cli.common import settings_or_exit
from togglbridge.cli.config import default_config_path, rule_file_or_exit
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.rules.planner import Plan, plan
from togglbridge.sources.calendar import SOURCE
from togglbridge.store.identity_state import IdentityState
from togglbridge.store.journal import Journal
from togglbridge.store.redis_server import resolve_redis

FINISHED = frozenset({"applied", "failed", "no identity", "no action"})  # journal outcomes that are final
POLL_SECONDS = 0.5


@dataclass
class Row:
    """One meeting of the backfill and what became of it."""

    meeting: Meeting
    event: Event
    plan: Plan
    result: str = ""


@click.group("backfill")
def backfill_group() -> None:
    """Make entries for days the bridge did not watch."""


@backfill_group.command("calendar")
@click.argument("name")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (included).")
@click.option("--dry-run", is_flag=True, help="Show what would be logged; send nothing.")
@config_option
@ics_option
def backfill_calendar(
    name: str,
    first: datetime,
    last: datetime,
    dry_run: bool,
    config_file: Path | None,
    ics_file: Path | None,
) -> None:
    """Meetings of calendar NAME that started between --from and --to (both included, in the rule file's
    timezone) and are over become the entries the rules make of a finished meeting (log mode's
    calendar.ended), with a progress bar until they are applied and a summary table."""
    config = rule_file_or_exit(config_file or default_config_path())
    calendar = calendar_or_exit(config, name)
    try:
        start, end = day_span(first.date(), last.date(), config.defaults.zone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--to") from None
    span = span_or_exit(config, calendar, start, end, ics_file, mode="log", priority="bulk")
    now = datetime.now(UTC)
    over = [m for m in span.meetings if m.occurrence.end <= now]
    rows = [Row(m, event, plan(event, config)) for m in over if not m.left_out for event in m.events]
    later = len(span.meetings) - len(over)
    out = Console(highlight=False)
    if dry_run:
        client = _redis_if_running()
        for row in rows:
            row.result = _already(client, row) or (
                "would " + what(row.plan) if row.plan.actions else what(row.plan)
            )
        out.print(_table(f"{calendar.name}: what a backfill would do (nothing sent)", rows, config))
        _footnotes(out, span.meetings, over, later)
        return
    _send(rows, config, out)
    out.print(_table(f"{calendar.name}: backfill", rows, config))
    _footnotes(out, span.meetings, over, later)
    if any(row.result.startswith("failed") for row in rows):
        sys.exit(1)


def _send(rows: list[Row], config: Config, out: Console) -> None:
    """Queue each meeting's event unless the bridge made its entry already, then follow them to the end."""
    from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
    from togglbridge.status import ping_workers
    from togglbridge.store.enqueue import EventQueue
    from workers.app import app, configure

    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    configure(app, server.url)
    client = server.client()
    queue = EventQueue(
        client, app, task=TASK_PLAN, queue=QUEUE_INGEST, journal_cap=settings.journal_max_events
    )
    sent: list[Row] = []
    for row in rows:
        already = _already(client, row)
        if already:
            row.result = already
            continue
        if not row.plan.actions:
            row.result = what(row.plan)  # nothing to log: not worth a trip through the queues
            continue
        accepted = queue.accept_sync(SOURCE, row.event.id, [row.event])
        if accepted.duplicate:
            row.result = "seen before (polled live, or backfilled already)"
        else:
            sent.append(row)
    if not sent:
        return
    workers = ping_workers(app)
    if not workers.get("answering"):
        for row in sent:
            row.result = "queued"
        out.print(
            f"[yellow]{len(sent)} meeting(s) queued, but no worker answers[/yellow]: they are applied when one runs "
            "(togglbridge worker, or make run)."
        )
        return
    _follow(sent, Journal(client, cap=settings.journal_max_events), out)


def _follow(sent: list[Row], journal: Journal, out: Console) -> None:
    """A progress bar until every sent event has its final outcome in the journal (Ctrl-C leaves them queued)."""
    waiting = {row.event.id: row for row in sent}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=out, transient=True) as progress:
            task = progress.add_task("applying (bulk: behind live work)", total=len(sent))
            while waiting:
                for event_id in list(waiting):
                    summary = journal.summary(event_id) or {}
                    if summary.get("outcome") in FINISHED:
                        waiting.pop(event_id).result = _result(summary)
                        progress.advance(task)
                if waiting:
                    time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        for row in waiting.values():
            row.result = "queued (still being applied)"
        out.print(f"[yellow]stopped watching: {len(waiting)} still queued, and applied all the same[/yellow]")


def _result(summary: dict[str, Any]) -> str:
    outcome = str(summary.get("outcome"))
    line = str(summary.get("summary") or "")
    return f"{outcome}: {line}" if line and outcome != "applied" else line or outcome


def _already(client: redis.Redis | None, row: Row) -> str | None:
    """Why the meeting needs no entry because the bridge made one already (None: it does not know of one)."""
    identity, subject = row.plan.identity, row.event.subject
    if client is None or identity is None or subject is None:
        return None
    state = IdentityState(client, identity)
    view = state.subject_view(subject)
    if view is not None and view[1].deleted:
        return f"its entry {view[1].id} was deleted in Toggl: left deleted"
    entry_id = state.subject_entry(subject)
    return f"has entry {entry_id} already" if entry_id is not None else None


def _redis_if_running() -> redis.Redis | None:
    """The bridge's Redis (the configured one, or the embedded one of the data directory), for a dry run to say
    which meetings have their entry already; None when it does not answer."""
    settings = settings_or_exit()
    if not settings.redis_url and not (settings.data_dir / "redis").is_dir():
        return None  # the bridge never ran here: nothing to ask, and no embedded server to start for it
    try:
        client = resolve_redis(settings.redis_url, settings.data_dir).client()
        client.ping()
    except (redis.RedisError, OSError):
        return None
    return client


def _table(title: str, rows: list[Row], config: Config) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("When", no_wrap=True)
    table.add_column("Meeting", overflow="fold")
    table.add_column("Result", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(when(row.meeting, config), escape(row.meeting.occurrence.title), escape(row.result))
    return table


def _footnotes(out: Console, meetings: list[Meeting], over: list[Meeting], later: int) -> None:
    left_out = sum(1 for m in over if m.left_out)
    notes = [f"{len(over) - left_out} meeting(s) over"]
    if left_out:
        notes.append(f"{left_out} left out by the calendar's settings (cancelled, declined, all-day, free)")
    if later:
        notes.append(f"{later} not over yet, left to polling")
    if not meetings:
        notes = ["no meetings in these days"]
    out.print("; ".join(notes) + ".")
