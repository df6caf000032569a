"""``togglbridge backfill``: what happened before the bridge watched becomes the entries the rules make of it.

- ``backfill calendar NAME --from DATE --to DATE``: past meetings, as log mode would have made them.
- ``backfill git --repo PATH --since DATE`` (``cli/backfill_git.py``): local commits, as a push of them would.

The events are the ones live sources give (same ids): one the bridge saw is a duplicate the queue drops, and one
whose actions the bridge applied (or whose meeting has its entry) is skipped before sending, so running a backfill
twice, or over days the bridge watched live, adds nothing. They go through the same queues as everything else at
bulk priority, behind live work, with a progress bar until they are applied.
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
from togglbridge.events import Event
from togglbridge.rules.planner import Plan, plan
from togglbridge.store.identity_state import IdentityState
from togglbridge.store.journal import Journal
from togglbridge.store.ledger import Ledger
from togglbridge.store.redis_server import resolve_redis

FINISHED = frozenset({"applied", "failed", "no identity", "no action"})  # journal outcomes that are final
POLL_SECONDS = 0.5


@dataclass
class Row:
    """One thing of the past (a meeting, a commit): its event, its plan, and what became of it."""

    when: str
    what: str
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
    rows = [
        Row(when(m, config), m.occurrence.title, event, plan(event, config))
        for m in over
        if not m.left_out
        for event in m.events
    ]
    later = len(span.meetings) - len(over)
    out = Console(highlight=False)
    title = f"{calendar.name}: " + ("what a backfill would do (nothing sent)" if dry_run else "backfill")
    run(rows, dry_run=dry_run, title=title, out=out, what_header="Meeting")
    _footnotes(out, span.meetings, over, later)
    if any(row.result.startswith("failed") for row in rows):
        sys.exit(1)


def run(rows: list[Row], *, dry_run: bool, title: str, out: Console, what_header: str) -> None:
    """Say what each row would do (a dry run), or send them and follow them to the end; then the table."""
    if dry_run:
        client = _redis_if_running()
        for row in rows:
            row.result = _already(client, row) or _would(row.plan)
    else:
        _send(rows, out)
    out.print(_table(title, rows, what_header))


def _would(result: Plan) -> str:
    return "would " + what(result) if result.actions else what(result)


def _send(rows: list[Row], out: Console) -> None:
    """Queue each row's event unless the bridge did it already, then follow them to the end."""
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
        accepted = queue.accept_sync(row.event.source, row.event.id, [row.event])
        if accepted.duplicate:
            row.result = "seen before (live, or backfilled already)"
        else:
            sent.append(row)
    if not sent:
        return
    workers = ping_workers(app)
    if not workers.get("answering"):
        for row in sent:
            row.result = "queued"
        out.print(
            f"[yellow]{len(sent)} event(s) queued, but no worker answers[/yellow]: they are applied when one runs "
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
    """Why the row needs nothing more because the bridge did it already (None: it does not know that it did):
    a meeting's entry made (live or by a backfill), or every action applied (the ledger keeps them 60 days)."""
    identity, subject = row.plan.identity, row.event.subject
    if client is None or identity is None:
        return None
    if subject is not None:
        state = IdentityState(client, identity)
        view = state.subject_view(subject)
        if view is not None and view[1].deleted:
            return f"its entry {view[1].id} was deleted in Toggl: left deleted"
        entry_id = state.subject_entry(subject)
        if entry_id is not None:
            return f"has entry {entry_id} already"
    if row.plan.actions:
        ledger = Ledger(client)
        done = [ledger.done(action.key) for action in row.plan.actions]
        if all(done):
            entries = sorted({str(d["entry_id"]) for d in done if d and d.get("entry_id")})
            return "applied already" + (f" (entry {', '.join(entries)})" if entries else "")
    return None


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


def _table(title: str, rows: list[Row], what_header: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("When", no_wrap=True)
    table.add_column(what_header, overflow="fold")
    table.add_column("Result", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(row.when, escape(row.what), escape(row.result))
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
