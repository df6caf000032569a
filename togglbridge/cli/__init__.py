"""The ``togglbridge`` command: one group, its commands in modules beside this one."""

from __future__ import annotations

import click

from togglbridge import __version__
from togglbridge.cli.backfill import backfill_group
from togglbridge.cli.backfill_git import backfill_git
from togglbridge.cli.calendar import calendar_group
from togglbridge.cli.config import config_group
from togglbridge.cli.discord import discord_group
from togglbridge.cli.doctor import doctor
from togglbridge.cli.explain import explain_command
from togglbridge.cli.git_hook import git_hook_group
from togglbridge.cli.journal import journal
from togglbridge.cli.serve import api, beat, up, worker
from togglbridge.cli.sim import sim_command
from togglbridge.cli.status import retry_dead, status
from togglbridge.cli.toggl_webhooks import toggl_webhooks_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="togglbridge")
def main() -> None:
    """togglbridge: calendar meetings, commits and chat commands become Toggl Track time entries."""


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


for command in (
    up,
    api,
    worker,
    beat,
    status,
    retry_dead,
    doctor,
    config_group,
    explain_command,
    journal,
    calendar_group,
    backfill_group,
    git_hook_group,
    discord_group,
    toggl_webhooks_group,
):
    main.add_command(command)
main.add_command(sim_command, name="sim")
backfill_group.add_command(backfill_git)

__all__ = ["main"]
