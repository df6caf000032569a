"""``togglbridge discord register [--guild ID] [--print]``: registers the ``/toggl`` command with Discord.

Discord shows an application's slash commands only once they are registered through its API: this PUTs the one
command (``sources.discord.COMMAND``, the shape the Discord source reads) to
``{TOGGLBRIDGE_DISCORD_API_URL}/applications/{id}/commands``, which replaces the application's global commands
with it (``--guild``: one server's commands, which appear at once). Run it again after an upgrade that changes the
command; it is idempotent.

The application id and the bot token come from ``TOGGLBRIDGE_DISCORD_APPLICATION_ID`` and
``TOGGLBRIDGE_DISCORD_BOT_TOKEN`` (the environment, else ``.env``). The token is never printed: a refusal shows
Discord's status and message only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import httpx
from dotenv import dotenv_values

from togglbridge.cli.common import console, settings_or_exit
from togglbridge.sources.discord import COMMAND

APPLICATION_ID_ENV = "TOGGLBRIDGE_DISCORD_APPLICATION_ID"
BOT_TOKEN_ENV = "TOGGLBRIDGE_DISCORD_BOT_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
TIMEOUT_SECONDS = 15.0


@click.group("discord")
def discord_group() -> None:
    """Set up the Discord application that sends /toggl to POST /hooks/discord."""


def _variable(name: str) -> str:
    """The variable from the environment, else ``.env``; a clear exit when it is unset."""
    value = os.environ.get(name)
    if not value and Path(".env").is_file():
        value = dotenv_values(".env").get(name)
    if not value or not value.strip():
        console.print(
            f"[red]{name} is not set.[/red] The Discord Developer Portal shows it: "
            + (
                "the application's General Information, Application ID."
                if name == APPLICATION_ID_ENV
                else "the application's Bot page, Reset Token (keep it secret)."
            ),
            highlight=False,
        )
        sys.exit(2)
    return value.strip()


def _discord_message(response: httpx.Response) -> str:
    """What Discord said about a refusal: its message and code, and the first of its field errors."""
    try:
        payload: Any = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    if not isinstance(payload, dict):
        return "no message"
    said = str(payload.get("message") or response.reason_phrase or "no message")
    if payload.get("code") is not None:
        said += f" (code {payload['code']})"
    errors = payload.get("errors")
    if errors:
        said += ": " + json.dumps(errors)[:300]
    return said


@discord_group.command("register")
@click.option("--guild", "guild_id", default=None, help="Register for this server only (appears at once).")
@click.option("--print", "print_only", is_flag=True, help="Print the command's definition; send nothing.")
def register_command(guild_id: str | None, print_only: bool) -> None:
    """Register the /toggl command (with its subcommands) for the Discord application."""
    if print_only:
        click.echo(json.dumps([COMMAND], indent=2))
        return
    application_id = _variable(APPLICATION_ID_ENV)
    token = _variable(BOT_TOKEN_ENV)
    if not application_id.isascii() or not application_id.isdigit():
        console.print(f"[red]{APPLICATION_ID_ENV} must be the application's numeric id.[/red]")
        sys.exit(2)
    if guild_id is not None and (not guild_id.isascii() or not guild_id.isdigit()):
        console.print("[red]--guild must be the server's numeric id.[/red]")
        sys.exit(2)
    api = str(settings_or_exit().discord_api_url).rstrip("/")
    path = f"/applications/{application_id}" + (f"/guilds/{guild_id}" if guild_id else "") + "/commands"
    where = f"in server {guild_id}" if guild_id else "globally"
    try:
        response = httpx.put(
            api + path,
            json=[COMMAND],
            headers={"Authorization": f"Bot {token}", "User-Agent": "togglbridge (discord register)"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        console.print(f"[red]Could not reach Discord at {api}: {type(exc).__name__}.[/red]", highlight=False)
        sys.exit(1)
    if response.is_error:
        hint = {
            401: f" Check {BOT_TOKEN_ENV}.",
            403: " Is the application in that server, with the applications.commands scope?",
            404: f" Check {APPLICATION_ID_ENV}" + (" and --guild." if guild_id else "."),
        }.get(response.status_code, "")
        console.print(
            f"[red]Discord refused the command: HTTP {response.status_code}, "
            f"{_discord_message(response)}.[/red]{hint}",
            highlight=False,
            markup=True,
        )
        sys.exit(1)
    subcommands = ", ".join(option["name"] for option in COMMAND["options"])
    click.echo(f"Registered /{COMMAND['name']} {where} for application {application_id}: {subcommands}.")
    if not guild_id:
        click.echo(
            "Global commands may take a few minutes to show; --guild ID registers one server's at once."
        )
