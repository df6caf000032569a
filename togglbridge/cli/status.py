"""``togglbridge status`` and ``retry-dead``: what waits, what is parked, what failed."""

from __future__ import annotations

import click
from rich.console import Console

from togglbridge.cli.common import settings_or_exit
from togglbridge.store.redis_server import resolve_redis


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Queue depths, parked work, dead letters and each identity's remaining quota."""
    import json

    from togglbridge.status import collect_status, render_status

    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    snapshot = collect_status(server.client())
    if as_json:
        click.echo(json.dumps(snapshot, indent=2))
    else:
        render_status(snapshot, Console())


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
