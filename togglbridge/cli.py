"""The ``togglbridge`` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import redis
from rich.console import Console

from togglbridge import __version__
from togglbridge.settings import Settings, SettingsError, load_settings
from togglbridge.store.redis_server import ping, resolve_redis
from togglbridge.toggl.connect import client_from_settings
from togglbridge.toggl.errors import TogglError

console = Console(stderr=True)


def _settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="togglbridge")
def main() -> None:
    """togglbridge: calendar meetings, commits and chat commands become Toggl Track time entries."""


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


@main.command()
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
            console.print(f"[green]✓ redis[/green] answers at {_redacted_url(settings.redis_url)}")
        except redis.RedisError as exc:
            problems += 1
            console.print(
                f"[red]✗ redis[/red] at {_redacted_url(settings.redis_url)} does not answer ({type(exc).__name__})."
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


def _redacted_url(url: str) -> str:
    """A Redis URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The rule file (default: TOGGLBRIDGE_CONFIG_FILE).",
)
def up(host: str, port: int, config_file: Path | None) -> None:
    """Run everything in one process: the receiver, and Toggl's simulator when no credential is set."""
    import uvicorn

    from togglbridge.api.app import create_app

    overrides: dict[str, object] = {"config_file": config_file} if config_file else {}
    settings = _settings_or_exit(**overrides)
    server = resolve_redis(settings.redis_url, settings.data_dir)
    sim_context = None
    try:
        if settings.toggl_mode == "simulator":
            from togglbridge.toggl.sim import Simulator, serve_in_thread

            sim_context = serve_in_thread(Simulator(), host="127.0.0.1", port=0)
            sim_url = sim_context.__enter__()
            console.rule("[yellow]SIMULATOR[/yellow]")
            console.print(
                f"No Toggl credential is set: entries go to the built-in simulator at {sim_url} "
                f"(see {sim_url}/_sim/state). Set TOGGLBRIDGE_GATEWAY_KEY or TOGGLBRIDGE_TOGGL_API_TOKEN "
                "to track into Toggl.",
                highlight=False,
            )
            console.rule()
        else:
            console.print(f"Toggl via {settings.toggl_mode}.")
        where = "embedded" if server.is_embedded else "external"
        console.print(f"Redis ({where}): {_redacted_url(server.url)}")
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())
    finally:
        if sim_context is not None:
            sim_context.__exit__(None, None, None)
        server.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
def api(host: str, port: int) -> None:
    """Run the receiver alone (HTTP endpoints), for deployments that run the pieces apart."""
    import uvicorn

    from togglbridge.api.app import create_app

    settings = _settings_or_exit()
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


@main.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: one per core).")
@click.option("--queues", "-Q", default=None, help="Comma-separated queues to consume (default: all).")
@click.option(
    "--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "threads", "solo"])
)
def worker(concurrency: int | None, queues: str | None, pool: str) -> None:
    """Run a Celery worker: plans events and applies actions to Toggl. Start as many as you like."""
    from workers.app import ALL_QUEUES, app, configure

    settings = _settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    configure(app, server.url)
    argv = ["worker", "--loglevel", settings.log_level, "--pool", pool, "-Q", queues or ",".join(ALL_QUEUES)]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)


@main.command()
def beat() -> None:
    """Run the scheduler. Start one or several: a Redis lock lets only one tick at a time."""
    from workers.app import app, configure

    settings = _settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    configure(app, server.url)
    app.start(["beat", "--loglevel", settings.log_level])


def _register_optional_commands() -> None:
    """Commands that live beside the pieces they drive."""
    from togglbridge.toggl.sim.cli import sim_command

    main.add_command(sim_command, name="sim")


_register_optional_commands()


if __name__ == "__main__":
    main()
