"""``togglbridge doctor``: check what the bridge needs, and say how to fix what is wrong."""

from __future__ import annotations

import sys

import click
import redis

from togglbridge.cli.common import console, redacted_url
from togglbridge.settings import SettingsError, load_settings
from togglbridge.store.redis_server import ping
from togglbridge.toggl.connect import client_from_settings
from togglbridge.toggl.errors import TogglError


@click.command()
def doctor() -> None:
    """Check the settings, Redis and the Toggl credential (one request), and say how to fix what is wrong."""
    problems = 0
    try:
        settings = load_settings()
    except SettingsError as exc:
        console.print(f"[red]✗ settings[/red]: {exc}", highlight=False)
        sys.exit(1)
    console.print("[green]✓ settings[/green] read (environment and .env)")

    if settings.redis_url:
        try:
            ping(settings.redis_url)
            console.print(f"[green]✓ redis[/green] answers at {redacted_url(settings.redis_url)}")
        except redis.RedisError as exc:
            problems += 1
            console.print(
                f"[red]✗ redis[/red] at {redacted_url(settings.redis_url)} does not answer ({type(exc).__name__})."
                " Start it, or unset TOGGLBRIDGE_REDIS_URL to use the embedded server."
            )
    else:
        console.print(
            f"[green]✓ redis[/green]: embedded server (TOGGLBRIDGE_REDIS_URL unset), files in "
            f"{settings.data_dir / 'redis'}"
        )

    if settings.toggl_mode == "simulator":
        console.print(
            "[yellow]! toggl[/yellow]: no credential, so `togglbridge up` uses the built-in simulator. "
            "Set TOGGLBRIDGE_GATEWAY_KEY (gateway) or TOGGLBRIDGE_TOGGL_API_TOKEN (direct) to use Toggl."
        )
    else:
        client = client_from_settings(settings)
        where = settings.gateway_url if settings.toggl_mode == "gateway" else settings.toggl_api_url
        try:
            with client:
                workspaces = client.workspaces()
            names = ", ".join(f"{w.name or '(unnamed)'} [{w.id}]" for w in workspaces) or "none"
            console.print(f"[green]✓ toggl[/green] via {settings.toggl_mode} ({where}): workspaces {names}")
        except TogglError as exc:
            problems += 1
            console.print(
                f"[red]✗ toggl[/red] via {settings.toggl_mode} ({where}): {exc}. {_toggl_hint(exc)}",
                highlight=False,
            )
    sys.exit(1 if problems else 0)


def _toggl_hint(error: TogglError) -> str:
    if error.status == 401:
        return "The gateway refused its key: check TOGGLBRIDGE_GATEWAY_KEY."
    if error.status == 403:
        return "Toggl refused the credential: check the token or the gateway connection."
    if error.status == 400:
        return (
            "The gateway may need a connection id (Maton-Connection): set one per identity in the rule file."
        )
    if error.status == 402:
        return "The hourly quota is spent; it resets in the time Toggl says."
    if error.status is None or error.status >= 500:
        return (
            "Toggl or the gateway is unreachable or failing; check TOGGLBRIDGE_GATEWAY_URL / TOGGL_API_URL."
        )
    return ""
