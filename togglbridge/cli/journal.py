"""``togglbridge journal``: one line per event (time, identity, kind, outcome, what became of it), and
``--follow`` to watch new events as the workers settle them."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

import click

from togglbridge.cli.common import console, settings_or_exit
from togglbridge.store.journal import OUTCOMES, Journal, JournalFilter
from togglbridge.store.redis_server import resolve_redis

POLL_SECONDS = 1.0
FOLLOW_WINDOW = 200  # events read per poll: more than arrive in a second unless under a flood
# An event still queued or pending this long is shown anyway (and again when its outcome changes).
SETTLE_SECONDS = 5.0
TRANSIENT = frozenset({"queued", "pending"})
COLOURS = {"applied": "green", "failed": "red", "parked": "yellow", "pending": "cyan", "queued": "cyan"}


def event_line(event: dict[str, Any], *, colour: bool = False) -> str:
    """``2026-11-02 10:00:01Z  alice  git.commit  applied  created entry 123``."""
    when = (event.get("received_at") or "").replace("T", " ")[:19]
    outcome = str(event["outcome"])
    shown = click.style(f"{outcome:<11}", fg=COLOURS.get(outcome)) if colour else f"{outcome:<11}"
    identity = event.get("identity") or "-"
    return f"{when}Z  {identity:<16} {event.get('kind') or '?':<16} {shown} {event.get('summary', '')}"


@click.command()
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they settle (Ctrl+C stops).")
@click.option("--outcome", type=click.Choice(OUTCOMES), default=None, help="Only events with this outcome.")
@click.option("--identity", default=None, help="Only this identity's events.")
@click.option("--source", default=None, help="Only events from this source (github, generic, ...).")
@click.option("--kind", default=None, help="Only events of this kind (git.commit, ...).")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, 10_000), help="Events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event and line.")
def journal(
    follow: bool,
    outcome: str | None,
    identity: str | None,
    source: str | None,
    kind: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest events, oldest of them first: when, whose, what kind, the outcome and what became of it."""
    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    reader = Journal(server.client(), cap=settings.journal_max_events)
    colour = not as_json and sys.stdout.isatty()

    def show(event: dict[str, Any]) -> None:
        click.echo(json.dumps(event) if as_json else event_line(event, colour=colour))

    where = JournalFilter(outcome=outcome, identity=identity, source=source, kind=kind)
    events, _ = reader.query(where, limit=limit)
    for event in reversed(events):
        show(event)
    if not follow:
        return
    console.print("Following new events (Ctrl+C stops)...", style="dim", highlight=False)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is how a follow ends
        _follow(reader, JournalFilter(identity=identity, source=source, kind=kind), outcome, events, show)


def _follow(
    reader: Journal,
    where: JournalFilter,
    outcome: str | None,
    already: list[dict[str, Any]],
    show: Any,
) -> None:
    """Poll the journal: print an event once it settles (or has waited ``SETTLE_SECONDS``), and again when a
    printed event's outcome changes. The outcome filter applies to what is printed, not to what is watched, so
    that an event is caught when it reaches the outcome asked for."""
    printed: dict[str, str] = {e["event_id"]: e["outcome"] for e in already}
    first_seen: dict[str, float] = {}
    # Events settled before we started are not news; the ones still on their way are.
    known = {
        e["event_id"] for e in reader.query(where, limit=FOLLOW_WINDOW)[0] if e["outcome"] not in TRANSIENT
    }
    while True:
        time.sleep(POLL_SECONDS)
        now = time.monotonic()
        window = reader.query(where, limit=FOLLOW_WINDOW)[0]
        for event in reversed(window):
            event_id, state = event["event_id"], event["outcome"]
            if event_id in known and event_id not in printed:
                continue
            first_seen.setdefault(event_id, now)
            if printed.get(event_id) == state:
                continue
            if event_id not in printed and state in TRANSIENT and now - first_seen[event_id] < SETTLE_SECONDS:
                continue
            if outcome is None or state == outcome:
                show(event)
            printed[event_id] = state
        # Forget what left the window, so a long follow does not grow without bound.
        shown_ids = {e["event_id"] for e in window}
        for table in (printed, first_seen):
            for event_id in [i for i in table if i not in shown_ids]:
                del table[event_id]
        known &= shown_ids
