"""``togglbridge calendar preview NAME [--from DATE] [--days N] [--json] [--config FILE] [--ics FILE]``: a
calendar's meetings and what the rules would do with each, without touching Toggl or anything the bridge keeps.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from togglbridge.calendar_span import Meeting, Span, day_span, read_span
from togglbridge.cli.common import console
from togglbridge.cli.config import CONFIG_ENV, DEFAULT_CONFIG, default_config_path, rule_file_or_exit
from togglbridge.cli.plan_view import brief_action
from togglbridge.config import Calendar, Config
from togglbridge.events import Priority
from togglbridge.feeds.errors import FeedError
from togglbridge.rules.planner import Plan, plan
from togglbridge.sources.calendar import Mode

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The rule file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG}).",
)
ics_option = click.option(
    "--ics",
    "ics_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read this .ics file (an export) instead of the calendar's feed: try rules before setting its address.",
)


@click.group("calendar")
def calendar_group() -> None:
    """Look at a calendar of the rule file."""


@calendar_group.command("preview")
@click.argument("name")
@click.option(
    "--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (default: today)."
)
@click.option("--days", type=click.IntRange(1, 60), default=7, show_default=True, help="How many days.")
@click.option("--json", "as_json", is_flag=True, help="Print the meetings and their plans as JSON.")
@config_option
@ics_option
def preview_command(
    name: str,
    first: datetime | None,
    days: int,
    as_json: bool,
    config_file: Path | None,
    ics_file: Path | None,
) -> None:
    """The meetings of calendar NAME over some days (in the rule file's timezone), and what the rules would do
    with each: the actions, or why none. Nothing is sent to Toggl and nothing the bridge keeps is changed."""
    config = rule_file_or_exit(config_file or default_config_path())
    calendar = calendar_or_exit(config, name)
    zone = config.defaults.zone
    start_day = first.date() if first else datetime.now(zone).date()
    start, end = day_span(start_day, start_day + timedelta(days=days - 1), zone)
    span = span_or_exit(config, calendar, start, end, ics_file)
    planned = [(meeting, [plan(event, config) for event in meeting.events]) for meeting in span.meetings]
    if as_json:
        click.echo(json.dumps([_meeting_json(meeting, plans) for meeting, plans in planned], indent=2))
        return
    out = Console(highlight=False)
    title = f"{calendar.name} ({calendar.mode} mode), {start_day} to {start_day + timedelta(days=days - 1)}"
    out.print(meetings_table(title, planned, config))
    for skipped in span.skipped:
        out.print(f"[yellow]skipped[/yellow] {escape(skipped.uid or 'an event')}: {escape(skipped.reason)}")
    if not span.meetings:
        out.print("No meetings in these days.")


def calendar_or_exit(config: Config, name: str) -> Calendar:
    calendar = config.calendar(name)
    if calendar is None:
        names = ", ".join(c.name for c in config.calendars) or "none: the rule file has no calendars:"
        console.print(f"[red]no calendar is named {escape(name)!r}[/red] (calendars: {escape(names)})")
        sys.exit(2)
    return calendar


def span_or_exit(
    config: Config,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    ics_file: Path | None,
    *,
    mode: Mode | None = None,
    priority: Priority | None = None,
) -> Span:
    """The calendar's meetings in the span, or why the feed cannot be read, and exit 1 (2 for a setting)."""
    body = ics_file.read_text(encoding="utf-8", errors="replace") if ics_file else None
    try:
        with httpx.Client() as http:
            return read_span(
                config, calendar, start=start, end=end, http=http, body=body, mode=mode, priority=priority
            )
    except KeyError as missing:
        console.print(
            f"[red]{missing.args[0]} is not set[/red]: it holds calendar {calendar.name!r}'s address"
            + ("" if ics_file else " (or give --ics FILE, an export of the calendar)")
        )
        sys.exit(2)
    except FeedError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        sys.exit(1)
    except ValueError as error:  # not a calendar at all
        console.print(f"[red]calendar {calendar.name!r}: {escape(str(error))}[/red]")
        sys.exit(1)


def when(meeting: Meeting, config: Config) -> str:
    zone = config.defaults.zone
    occurrence = meeting.occurrence
    start, end = occurrence.start.astimezone(zone), occurrence.end.astimezone(zone)
    if occurrence.all_day:
        return f"{start:%a %Y-%m-%d} all day"
    return f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M}"


def meetings_table(title: str, planned: list[tuple[Meeting, list[Plan]]], config: Config) -> Table:
    """A row per event, a section per meeting."""
    table = Table(title=title, title_justify="left")
    table.add_column("When", no_wrap=True)
    table.add_column("Meeting", overflow="fold")
    table.add_column("Event", no_wrap=True)
    table.add_column("What the rules do", overflow="fold", ratio=1)
    for meeting, plans in planned:
        occurrence = meeting.occurrence
        label = escape(occurrence.title or "(no title)")
        if occurrence.my_status and occurrence.my_status != "accepted":
            label += f" [dim]({occurrence.my_status})[/dim]"
        if meeting.left_out:
            table.add_row(
                when(meeting, config), label, "-", f"[dim]left out: {escape(meeting.left_out)}[/dim]"
            )
        for index, result in enumerate(plans):
            first = index == 0
            table.add_row(
                when(meeting, config) if first else "",
                label if first else "",
                result.event.kind.removeprefix("calendar."),
                escape(what(result)),
            )
        table.add_section()
    return table


def what(result: Plan) -> str:
    """What one plan does, in a line: its actions, or why it has none."""
    if result.actions:
        return "; ".join(brief_action(action) for action in result.actions)
    if result.errors:
        return f"error: {result.errors[0]}"
    return result.note or "no rule matched"


def _meeting_json(meeting: Meeting, plans: list[Plan]) -> dict[str, Any]:
    occurrence = meeting.occurrence
    return {
        "key": occurrence.key,
        "title": occurrence.title,
        "start": occurrence.start.isoformat(),
        "end": occurrence.end.isoformat(),
        "all_day": occurrence.all_day,
        "my_status": occurrence.my_status,
        "status": occurrence.status,
        "left_out": meeting.left_out,
        "events": [
            {
                "id": p.event.id,
                "kind": p.event.kind,
                "occurred_at": p.event.occurred_at.isoformat(),
                "matched_rules": p.matched_rules,
                "actions": [a.model_dump(mode="json") for a in p.actions],
                "errors": p.errors,
                "note": p.note,
            }
            for p in plans
        ],
    }
