"""``togglbridge status`` and ``retry-dead``: what waits, what is parked, what failed."""

from __future__ import annotations

import click
from rich.console import Console

from togglbridge.cli.common import settings_or_exit
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

    from togglbridge.status import collect_status, ping_workers, render_status, status_view
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
