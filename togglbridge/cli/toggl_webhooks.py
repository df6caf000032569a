"""``togglbridge toggl-webhooks subscribe|list|unsubscribe``: Toggl's own webhooks, so the bridge hears of what
people change in Toggl (an entry started in the app, one renamed or deleted) without asking.

Each identity's workspace gets a subscription to its time entries' and projects' changes, posting to the bridge's
``/hooks/toggl``, signed with ``TOGGLBRIDGE_TOGGL_WEBHOOK_SECRET`` (which Toggl never shows back, and these
commands never print). Toggl validates the address with a ping the receiver answers, so the receiver must be up
and reachable when subscribing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from togglbridge.cli.calendar import config_option
from togglbridge.cli.common import console, settings_or_exit
from togglbridge.cli.config import default_config_path, rule_file_or_exit
from togglbridge.config import Config
from togglbridge.runtime import accounts_from_config
from togglbridge.toggl.access import SettingsAccess
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import TogglError
from togglbridge.toggl.models import EventFilter, WebhookSubscription

SIGNING_VARIABLE = "TOGGLBRIDGE_TOGGL_WEBHOOK_SECRET"
HOOK_PATH = "/hooks/toggl"
FILTERS = (EventFilter(entity="time_entry", action="*"), EventFilter(entity="project", action="*"))
"""Every change to entries and projects: what the bridge remembers (the running entry, project names) stays
true whatever the rules listen to."""
DESCRIPTION = "togglbridge"

identity_option = click.option(
    "--identity", "only", default=None, metavar="NAME", help="Only this identity (default: every identity)."
)


@click.group("toggl-webhooks")
def toggl_webhooks_group() -> None:
    """Toggl's own webhooks: changes made in Toggl reach the bridge."""


@toggl_webhooks_group.command("subscribe")
@click.option(
    "--url", required=True, help=f"The bridge's public address (…{HOOK_PATH} is added when missing)."
)
@identity_option
@config_option
def subscribe(url: str, only: str | None, config_file: Path | None) -> None:
    """Subscribe each identity's workspace to its entries' and projects' changes (once: an existing subscription
    to the same address is kept)."""
    secret = os.environ.get(SIGNING_VARIABLE, "").strip()
    if not secret:
        console.print(
            f"[red]{SIGNING_VARIABLE} is not set[/red]: it signs the deliveries; set it for the receiver too"
        )
        sys.exit(2)
    callback = hook_url(url)
    out = Console(highlight=False)
    with _clients(config_file, only) as clients:
        for identity, workspace_id, client in clients:
            try:
                existing = [
                    s for s in client.webhook_subscriptions(workspace_id) if s.url_callback == callback
                ]
                if existing:
                    out.print(
                        f"{identity}: workspace {workspace_id} is subscribed already ({existing[0].subscription_id})"
                    )
                    continue
                made = client.create_webhook_subscription(
                    workspace_id,
                    url_callback=callback,
                    event_filters=FILTERS,
                    secret=secret,
                    description=DESCRIPTION,
                )
            except TogglError as error:
                console.print(f"[red]{identity}: Toggl refused the subscription: {escape(str(error))}[/red]")
                sys.exit(1)
            validated = "validated" if made.validated_at else "not validated yet (is the receiver reachable?)"
            out.print(
                f"{identity}: subscribed workspace {workspace_id} ({made.subscription_id}), {validated}"
            )


@toggl_webhooks_group.command("list")
@identity_option
@config_option
def list_command(only: str | None, config_file: Path | None) -> None:
    """Each identity's workspace's subscriptions."""
    table = Table(title="Toggl webhook subscriptions", title_justify="left")
    for column in ("identity", "workspace", "id", "address", "events", "enabled", "validated"):
        table.add_column(column)
    with _clients(config_file, only) as clients:
        for identity, workspace_id, client in clients:
            for sub in _subscriptions(identity, workspace_id, client):
                events = ", ".join(f"{f.entity}.{f.action}" for f in sub.event_filters)
                table.add_row(
                    identity, str(workspace_id), str(sub.subscription_id), escape(sub.url_callback), events,
                    "yes" if sub.enabled else "no", sub.validated_at.isoformat() if sub.validated_at else "no",
                )  # fmt: skip
    Console(highlight=False).print(table)


@toggl_webhooks_group.command("unsubscribe")
@click.option("--url", default=None, help="Remove the subscriptions posting to this address.")
@click.option("--id", "subscription_id", type=int, default=None, help="Remove this subscription.")
@identity_option
@config_option
def unsubscribe(
    url: str | None, subscription_id: int | None, only: str | None, config_file: Path | None
) -> None:
    """Remove subscriptions, by address or id."""
    if (url is None) == (subscription_id is None):
        raise click.UsageError("give --url or --id")
    callback = hook_url(url) if url else None
    removed = 0
    with _clients(config_file, only) as clients:
        for identity, workspace_id, client in clients:
            for sub in _subscriptions(identity, workspace_id, client):
                if sub.subscription_id == subscription_id or (callback and sub.url_callback == callback):
                    client.delete_webhook_subscription(workspace_id, sub.subscription_id)
                    click.echo(
                        f"{identity}: removed subscription {sub.subscription_id} of workspace {workspace_id}"
                    )
                    removed += 1
    if not removed:
        click.echo("no subscription matched")


def hook_url(url: str) -> str:
    """The receiver's ``/hooks/toggl`` address, from the bridge's public address or the whole hook address."""
    url = url.strip().rstrip("/")
    return url if url.endswith(HOOK_PATH) else url + HOOK_PATH


def _subscriptions(identity: str, workspace_id: int, client: TogglClient) -> list[WebhookSubscription]:
    try:
        return client.webhook_subscriptions(workspace_id)
    except TogglError as error:
        console.print(f"[red]{identity}: Toggl refused to list subscriptions: {escape(str(error))}[/red]")
        sys.exit(1)


@contextmanager
def _clients(config_file: Path | None, only: str | None) -> Iterator[list[tuple[str, int, TogglClient]]]:
    """(identity, workspace id, client) for each identity asked for."""
    config = rule_file_or_exit(config_file or default_config_path())
    names = [only] if only else list(config.identities)
    if only and only not in config.identities:
        console.print(
            f"[red]no identity is named {escape(only)!r}[/red] (identities: {', '.join(config.identities)})"
        )
        sys.exit(2)
    access = SettingsAccess(settings_or_exit(), accounts_from_config(config), simulator_url=_simulator())
    clients = []
    try:
        for name in names:
            client = access.client(name, lambda record: None)
            clients.append((name, _workspace(config, name, client), client))
        yield clients
    finally:
        for _, _, client in clients:
            client.close()
        access.close()


def _simulator() -> str | None:
    return os.environ.get("TOGGLBRIDGE_SIMULATOR_URL") or None


def _workspace(config: Config, identity: str, client: TogglClient) -> int:
    settings = config.identities[identity]
    workspace = settings.workspace_id or config.defaults.workspace_id
    if workspace is not None:
        return workspace
    found = client.me().default_workspace_id
    if found is None:
        console.print(f"[red]{identity}: the Toggl account has no default workspace: set workspace_id[/red]")
        sys.exit(1)
    return found
