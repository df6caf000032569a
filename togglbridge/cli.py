"""The ``togglbridge`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import redis
from rich.console import Console

from togglbridge import __version__
from togglbridge.config import Config, ConfigError, load_config
from togglbridge.settings import Settings, SettingsError, load_settings
from togglbridge.store.redis_server import ping, resolve_redis
from togglbridge.toggl.connect import client_from_settings
from togglbridge.toggl.errors import TogglError

console = Console(stderr=True)
BEAT_STOP_SECONDS = 5.0


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


def _config_or_exit(settings: Settings) -> Config:
    """The rule file, or every problem in it as FILE:LINE: reason, and exit 1."""
    try:
        return load_config(settings.config_file)
    except ConfigError as exc:
        console.print(f"[red]{settings.config_file} has problems:[/red]", highlight=False)
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _receiver_app(settings: Settings, redis_url: str) -> Any:
    from togglbridge.api.app import create_app
    from workers.app import QUEUE_INGEST, app, configure

    configure(app, redis_url)
    return create_app(
        settings,
        redis_url=redis_url,
        celery_app=app,
        ingest_task="togglbridge.plan_events",
        ingest_queue=QUEUE_INGEST,
    )


def _simulator_banner(sim_url: str) -> None:
    console.rule("[yellow]SIMULATOR[/yellow]")
    console.print(
        f"No Toggl credential is set: entries go to the built-in simulator at {sim_url} "
        f"(see {sim_url}/_sim/state). Set TOGGLBRIDGE_GATEWAY_KEY or TOGGLBRIDGE_TOGGL_API_TOKEN "
        "to track into Toggl.",
        highlight=False,
    )
    console.rule()


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
@click.option("--concurrency", "-c", default=4, show_default=True, type=int, help="Worker threads.")
def up(host: str, port: int, config_file: Path | None, concurrency: int) -> None:
    """Run everything in one process: receiver, worker and scheduler (and Toggl's simulator when no
    credential is set), with the embedded Redis when TOGGLBRIDGE_REDIS_URL is unset."""
    from contextlib import ExitStack

    from celery.beat import EmbeddedService

    from togglbridge.serving import serve_in_thread
    from workers.app import ALL_QUEUES, app, configure

    if config_file is not None:
        os.environ["TOGGLBRIDGE_CONFIG_FILE"] = str(config_file)
    settings = _settings_or_exit()
    config = _config_or_exit(settings)
    server = resolve_redis(settings.redis_url, settings.data_dir)
    with ExitStack() as stack:
        stack.callback(server.close)
        # The worker's runtime reads the settings from the environment, like a separate worker process would.
        os.environ["TOGGLBRIDGE_REDIS_URL"] = server.url
        if settings.toggl_mode == "simulator" and not settings.simulator_url:
            from togglbridge.toggl.sim import Simulator
            from togglbridge.toggl.sim import serve_in_thread as serve_simulator

            sim_url = stack.enter_context(serve_simulator(Simulator(), host="127.0.0.1", port=0))
            os.environ["TOGGLBRIDGE_SIMULATOR_URL"] = sim_url
            _simulator_banner(sim_url)
        else:
            console.print(f"Toggl via {settings.toggl_mode}.")
        where = "embedded" if server.is_embedded else "external"
        console.print(f"Redis ({where}): {_redacted_url(server.url)}")
        settings = _settings_or_exit()
        receiver = _receiver_app(settings, server.url)
        url = stack.enter_context(
            serve_in_thread(
                receiver, host, port, name="receiver", lifespan="on", log_level=settings.log_level.lower()
            )
        )
        console.print(
            f"Receiver on {url}: POST /hooks/<source>, GET /api/journal, GET /api/status, GET /docs. "
            f"{len(config.identities)} identities, {len(config.rules)} rules.",
            highlight=False,
        )
        configure(app, server.url)
        import workers.tasks  # noqa: F401  (registers the tasks)

        # The scheduler named in the app's configuration (RedBeat and its lock): the embedded service would
        # otherwise use Celery's file-based default.
        beat = EmbeddedService(app, thread=True, scheduler_cls=app.conf.beat_scheduler)
        beat.start()
        # Ask it to stop, and give it a moment to release its lock before Redis goes; never wait on its own
        # "stopped" signal, which a beat thread that already ended would never give.
        stack.callback(beat.join, BEAT_STOP_SECONDS)
        stack.callback(beat.service.stop)
        app.worker_main(
            [
                "worker",
                "--loglevel",
                settings.log_level,
                "--pool",
                "threads",
                "--concurrency",
                str(concurrency),
                "-Q",
                ",".join(ALL_QUEUES),
                "--without-mingle",
                "--without-gossip",
            ]
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", "processes", default=1, show_default=True, type=int, help="uvicorn worker processes."
)
def api(host: str, port: int, processes: int) -> None:
    """Run the receiver alone (HTTP endpoints), for deployments that run the pieces apart."""
    import uvicorn

    settings = _settings_or_exit()
    if not settings.redis_url:
        console.print(
            "[red]TOGGLBRIDGE_REDIS_URL must be set: the workers read what the receiver queues.[/red]"
        )
        sys.exit(2)
    if processes > 1:
        uvicorn.run(
            "togglbridge.api.factory:create_from_env",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            log_level=settings.log_level.lower(),
        )
    else:
        uvicorn.run(
            _receiver_app(settings, settings.redis_url),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
        )


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
    _config_or_exit(settings)  # a bad rule file fails here, at start, not on the first event
    if settings.toggl_mode == "simulator" and not settings.simulator_url:
        console.print(
            "[red]No Toggl credential: set TOGGLBRIDGE_GATEWAY_KEY or TOGGLBRIDGE_TOGGL_API_TOKEN, "
            "or TOGGLBRIDGE_SIMULATOR_URL to a running `togglbridge sim`.[/red]"
        )
        sys.exit(2)
    server = resolve_redis(settings.redis_url, settings.data_dir)
    os.environ["TOGGLBRIDGE_REDIS_URL"] = server.url
    configure(app, server.url)
    import workers.tasks  # noqa: F401  (registers the tasks)

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
    import workers.tasks  # noqa: F401  (the beat schedule)

    app.start(["beat", "--loglevel", settings.log_level])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Queue depths, parked work, dead letters and each identity's remaining quota."""
    import json

    from togglbridge.status import collect_status, render_status

    settings = _settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    snapshot = collect_status(server.client())
    if as_json:
        click.echo(json.dumps(snapshot, indent=2))
    else:
        render_status(snapshot, Console())


@main.command("retry-dead")
def retry_dead() -> None:
    """Put every dead letter back in its identity's outbox, and kick the workers."""
    from togglbridge.store.dead_letters import DeadLetters
    from workers.app import app, configure

    settings = _settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    letters = DeadLetters(server.client())
    count = letters.count()
    identities = letters.retry()
    configure(app, server.url)
    from workers.tasks import kick

    for identity in identities:
        kick(identity)
    click.echo(f"{count} dead letter(s) back in the outboxes of: {', '.join(identities) or 'nobody'}")


def _register_optional_commands() -> None:
    """Commands that live beside the pieces they drive."""
    from togglbridge.rules.commands import config_group, explain_command
    from togglbridge.toggl.sim.cli import sim_command

    main.add_command(sim_command, name="sim")
    main.add_command(config_group)
    main.add_command(explain_command)


_register_optional_commands()


if __name__ == "__main__":
    main()
