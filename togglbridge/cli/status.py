"""``togglbridge status`` and ``retry-dead``: what waits, what is parked, what failed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from togglbridge.cli.common import settings_or_exit
from togglbridge.status import WORKER_PING_SECONDS
from togglbridge.store.redis_server import resolve_redis

WATCH_SECONDS = 2.0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--watch", is_flag=True, help="Refresh the status in place every few seconds (Ctrl+C stops).")
def status(as_json: bool, watch: bool) -> None:
    """Queue depths, parked work, dead letters, remaining quota, deliveries of the last hour, the beat's last
    tick, the simulator, and whether workers answer a ping."""
    import json
    import time

    from rich.live import Live

    from togglbridge.status import collect_status, ping_workers
    from workers.app import app, configure

    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    configure(app, server.url)
    client = server.client()

    def snapshot() -> dict[str, object]:
        return collect_status(client, workers=ping_workers(app))

    if not watch:
        if as_json:
            click.echo(json.dumps(snapshot(), indent=2))
        else:
            render_status(snapshot(), Console())
        return
    try:
        if as_json:
            while True:
                click.echo(json.dumps(snapshot()))
                time.sleep(WATCH_SECONDS)
        with Live(status_view(snapshot()), console=Console(), auto_refresh=False) as live:
            while True:
                time.sleep(WATCH_SECONDS)
                live.update(status_view(snapshot()), refresh=True)
    except KeyboardInterrupt:
        pass


@click.command("retry-dead")
def retry_dead() -> None:
    """Put every dead letter back in its identity's outbox, and kick the workers."""
    from togglbridge.store.dead_letters import DeadLetters
    from workers.app import app, configure

    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    letters = DeadLetters(server.client())
    count = letters.count()
    identities = letters.retry()
    configure(app, server.url)
    from workers.tasks import kick

    for identity in identities:
        kick(identity)
    click.echo(f"{count} dead letter(s) back in the outboxes of: {', '.join(identities) or 'nobody'}")


def render_status(snapshot: dict[str, Any], console: Console) -> None:
    """The status as tables a person reads at a glance."""
    console.print(status_view(snapshot))


def status_view(snapshot: dict[str, Any]) -> RenderableType:
    """The status as one renderable (printed once, or refreshed in place by ``--watch``)."""
    parts: list[RenderableType] = [_overview(snapshot)]
    queues = Table(title="Celery queues", show_header=True)
    queues.add_column("queue")
    queues.add_column("messages", justify="right")
    for name, depth in snapshot["queues"].items():
        queues.add_row(name, str(depth))
    parts.append(queues)

    identities = Table(title="Identities", show_header=True)
    for column in ("identity", "waiting actions", "parked for", "quota left", "quota resets in"):
        identities.add_column(column, justify="left" if column == "identity" else "right")
    parked = {p["identity"]: p["resumes_in_seconds"] for p in snapshot["parked"]}
    for name, depth in snapshot["outboxes"].items():
        quota = snapshot["quota"].get(name, {})
        identities.add_row(
            name,
            str(depth),
            f"{parked[name]:g} s" if name in parked else "-",
            str(quota.get("remaining", "-")),
            f"{quota['resets_in_seconds']:g} s" if quota.get("resets_in_seconds") is not None else "-",
        )
    parts.append(identities)
    if snapshot.get("calendars"):
        parts.append(_calendars(snapshot["calendars"]))

    dead = snapshot["dead_letters"]
    parts.append(
        Text(
            f"Dead letters: {dead['count']}"
            + (" (togglbridge retry-dead re-drives them)" if dead["count"] else "")
        )
    )
    for letter in dead["latest"]:
        parts.append(
            Text(
                f"  {letter['identity']}: {letter['action']['type']} {letter['key']}: "
                f"{letter['status']} {letter['message']}"
            )
        )
    return Group(*parts)


def _overview(snapshot: dict[str, Any]) -> RenderableType:
    """Workers, beat, simulator and deliveries: one line each."""
    lines = []
    workers = snapshot.get("workers")
    if workers is None:
        lines.append("Workers: not asked")
    elif workers["answering"]:
        lines.append(f"Workers: {workers['answering']} answering ({', '.join(workers['names'])})")
    else:
        why = f" ({workers['error']})" if workers.get("error") else ""
        lines.append(f"Workers: none answered a ping within {WORKER_PING_SECONDS:g} s{why}")
    tick = snapshot.get("last_tick")
    if tick is None:
        lines.append("Beat: no tick recorded yet")
    else:
        ago = f", {tick['seconds_ago']:g} s ago" if tick.get("seconds_ago") is not None else ""
        lines.append(f"Beat: last tick at {tick['at']}{ago}")
    if snapshot.get("simulator_url"):
        lines.append(f"Simulator: {snapshot['simulator_url']}")
    delivered = snapshot.get("deliveries") or {"window": "last hour", "by_status": {}}
    counts = ", ".join(f"{status}: {count}" for status, count in delivered["by_status"].items()) or "none"
    lines.append(f"Deliveries, {delivered['window']}: {counts}")
    return Text("\n".join(lines))


def _calendars(feeds: dict[str, Any]) -> Table:
    """Each calendar feed's health: when it last worked, what failed since, when it is read next."""
    table = Table(title="Calendars", show_header=True)
    for column in ("calendar", "last success", "last error", "failures", "next poll", "occurrences known"):
        table.add_column(column, justify="right" if column in ("failures", "occurrences known") else "left")
    for name, feed in feeds.items():
        next_poll = feed["next_poll"]
        table.add_row(
            name,
            feed["last_success"] or "never",
            feed["last_error"] or "-",
            str(feed["failures"]),
            datetime.fromtimestamp(next_poll, UTC).isoformat(timespec="seconds") if next_poll else "-",
            str(feed["known"]),
        )
    return table
