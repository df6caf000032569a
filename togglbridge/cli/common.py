"""What every command shares: the console, and settings or the rule file loaded or a clear exit."""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit, urlunsplit

import click
from rich.console import Console

from togglbridge.config import Config, ConfigError, load_config
from togglbridge.demo import demo_secrets_in_use
from togglbridge.logs import quiet_routine
from togglbridge.settings import Settings, SettingsError, load_settings
from togglbridge.sources import SOURCES
from togglbridge.sources.secrets import SourceSecrets

console = Console(stderr=True)
log = logging.getLogger("togglbridge")


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


def toggl_target(settings: Settings) -> str:
    """Which Toggl this process talks to, for people: never a credential."""
    if settings.toggl_mode == "gateway":
        return f"Toggl through the gateway at {settings.gateway_url}"
    if settings.toggl_mode == "direct":
        return f"Toggl directly at {settings.toggl_api_url}"
    if settings.simulator_url:
        return f"the simulator at {settings.simulator_url} (no Toggl credential is set)"
    return "nothing yet: no Toggl credential and no simulator"


LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"  # Celery's, so one log reads as one


def setup_logging(settings: Settings) -> None:
    """Log to stderr at the configured level from the start (Celery keeps a root handler it finds)."""
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    logging.getLogger().setLevel(settings.log_level)
    quiet_routine(settings.log_level)


def secrets_or_exit() -> SourceSecrets:
    """The enabled sources' secrets, or what is wrong with one (never its value), and exit 2."""
    try:
        return SourceSecrets.load(SOURCES.values())
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        sys.exit(2)


def announce(settings: Settings, secrets: SourceSecrets | None = None, *, toggl: bool = True) -> None:
    """At start: where entries go, and a warning while a demo secret is active."""
    if toggl:
        log.info("entries go to %s", toggl_target(settings))
    for name in demo_secrets_in_use(secrets or {}):
        log.warning(
            "%s holds the public demo secret: anyone can send events. Set your own before exposing the bridge.",
            SOURCES[name].variable,
        )
