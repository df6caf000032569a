"""What every command shares: the console, and settings or the rule file loaded or a clear exit."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import click
from rich.console import Console

from togglbridge.config import Config, ConfigError, load_config
from togglbridge.settings import Settings, SettingsError, load_settings

console = Console(stderr=True)


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        sys.exit(2)


def config_or_exit(settings: Settings) -> Config:
    """The rule file, or every problem in it as FILE:LINE: reason, and exit 1."""
    try:
        return load_config(settings.config_file)
    except ConfigError as exc:
        console.print(f"[red]{settings.config_file} has problems:[/red]", highlight=False)
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        sys.exit(1)


def redacted_url(url: str) -> str:
    """A Redis URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
