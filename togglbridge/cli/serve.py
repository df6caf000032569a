"""Running the bridge: ``up`` (everything in one process), and ``api``, ``worker``, ``beat`` apart."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import stat
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import click
import redis

from togglbridge.cli.common import (
    announce,
    config_or_exit,
    console,
    redacted_url,
    secrets_or_exit,
    settings_or_exit,
    setup_logging,
)
from togglbridge.settings import MIN_DASHBOARD_TOKEN_CHARS, Settings
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys
from togglbridge.store.redis_server import RedisServer, resolve_redis

SIMULATOR_STATE_FILE = "simulator.json"  # in the data dir, beside the embedded Redis: both or neither
# In the data dir: one token across restarts, so sessions survive them.
DASHBOARD_TOKEN_FILE = "dashboard-token"  # noqa: S105  (a file name)

BEAT_STOP_SECONDS = 5.0


def _receiver_app(settings: Settings, redis_url: str, secrets: SourceSecrets) -> Any:
    from togglbridge.api.factory import build_receiver

    return build_receiver(settings, redis_url, secrets)


def _clear_local_state(settings: Settings) -> None:
    """``up --fresh``: forget everything the embedded Redis and the simulator hold. Never an external Redis:
    its ledger is what keeps a real Toggl account free of duplicates."""
    if settings.redis_url:
        console.print(
            "[red]--fresh clears only the embedded Redis and the simulator; TOGGLBRIDGE_REDIS_URL is set, "
            "so nothing was cleared. Unset it, or clear that Redis yourself.[/red]"
        )
        sys.exit(2)
    cleared = []
    redis_dir = settings.data_dir / "redis"
    if redis_dir.exists():
        shutil.rmtree(redis_dir)
        cleared.append(str(redis_dir))
    sim_state = settings.data_dir / SIMULATOR_STATE_FILE
    if sim_state.exists():
        sim_state.unlink()
        cleared.append(str(sim_state))
    console.print(f"Fresh start: cleared {', '.join(cleared) or 'nothing (no state yet)'}.", highlight=False)


def _publish_simulator_url(server: RedisServer, sim_url: str, stack: ExitStack) -> None:
    """Tell ``togglbridge status`` (another process) where the simulator answers, while it does."""
    client = server.client()
    client.set(keys.SIMULATOR_URL, sim_url)

    def withdraw() -> None:
        with contextlib.suppress(redis.RedisError):
            client.delete(keys.SIMULATOR_URL)
        client.close()

    stack.callback(withdraw)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_dashboard_token(settings: Settings, host: str) -> bool:
    """On a loopback address with no token set, open the dashboard with a token of its own, kept in the data dir
    (readable by its owner only) so that a restart keeps it. Anywhere else the operator sets the token."""
    if settings.dashboard_token is not None or not _is_loopback(host):
        return False
    path = settings.data_dir / DASHBOARD_TOKEN_FILE
    token = _private_token(path)
    if token is None:
        token = token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A new file (mkstemp: 0600, never through a link), then renamed over the old one.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".dashboard-token-")
        with os.fdopen(descriptor, "w") as file:
            file.write(token + "\n")
        os.replace(temporary, path)
    os.environ["TOGGLBRIDGE_DASHBOARD_TOKEN"] = token
    return True


def _private_token(path: Path) -> str | None:
    """The token kept in ``path``, if it is a regular file of this user that nobody else can read; else None (a
    new one is made: a token others could have read is no secret)."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    token = path.read_text().strip()
    return token if len(token) >= MIN_DASHBOARD_TOKEN_CHARS else None


def _dashboard_banner(settings: Settings, url: str, generated: bool) -> None:
    if settings.dashboard_token is None:
        console.print(
            "Dashboard (/ui), /metrics and /api: off. Set TOGGLBRIDGE_DASHBOARD_TOKEN to open them.",
            highlight=False,
            soft_wrap=True,  # a link broken across lines is no link
        )
        return
    if generated:
        # The token travels after '#': a browser never sends that part, so it reaches no access log.
        link = f"{url}/ui/login#token={settings.dashboard_token.get_secret_value()}"
        console.print(
            f"Dashboard: {link}\n  (the token is in {settings.data_dir / DASHBOARD_TOKEN_FILE}; "
            'curl -H "Authorization: Bearer $(cat <that file>)" for /api and /metrics)',
            highlight=False,
            soft_wrap=True,  # a link broken across lines is no link
        )
    else:
        console.print(
            f"Dashboard: {url}/ui (sign in with TOGGLBRIDGE_DASHBOARD_TOKEN)", highlight=False, soft_wrap=True
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


@click.command()
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
@click.option(
    "--fresh",
    is_flag=True,
    help="Start from nothing: clear the embedded Redis and the simulator's state in the data dir first.",
)
def up(host: str, port: int, config_file: Path | None, concurrency: int, fresh: bool) -> None:
    """Run everything in one process: receiver, worker and scheduler (and Toggl's simulator when no
    credential is set), with the embedded Redis when TOGGLBRIDGE_REDIS_URL is unset. The embedded Redis and
    the simulator keep their state in TOGGLBRIDGE_DATA_DIR, so a restart goes on where it stopped."""
    from celery.beat import EmbeddedService

    from togglbridge.serving import serve_in_thread
    from workers.app import ALL_QUEUES, app, configure

    if config_file is not None:
        os.environ["TOGGLBRIDGE_CONFIG_FILE"] = str(config_file)
    settings = settings_or_exit()
    config = config_or_exit(settings)
    secrets = secrets_or_exit()
    setup_logging(settings)
    if fresh:
        _clear_local_state(settings)
    server = resolve_redis(settings.redis_url, settings.data_dir)
    with ExitStack() as stack:
        stack.callback(server.close)
        # The worker's runtime reads the settings from the environment, like a separate worker process would.
        os.environ["TOGGLBRIDGE_REDIS_URL"] = server.url
        if settings.toggl_mode == "simulator" and not settings.simulator_url:
            from togglbridge.toggl.sim import Simulator
            from togglbridge.toggl.sim import serve_in_thread as serve_simulator

            simulator = Simulator(state_file=settings.data_dir / SIMULATOR_STATE_FILE)
            sim_url = stack.enter_context(serve_simulator(simulator, host="127.0.0.1", port=0))
            os.environ["TOGGLBRIDGE_SIMULATOR_URL"] = sim_url
            _simulator_banner(sim_url)
            _publish_simulator_url(server, sim_url, stack)
        where = "embedded" if server.is_embedded else "external"
        console.print(f"Redis ({where}): {redacted_url(server.url)}")
        generated_token = _local_dashboard_token(settings, host)
        settings = settings_or_exit()
        announce(settings, secrets)
        receiver = _receiver_app(settings, server.url, secrets)
        url = stack.enter_context(
            serve_in_thread(
                receiver, host, port, name="receiver", lifespan="on", log_level=settings.log_level.lower()
            )
        )
        console.print(
            f"Receiver on {url}: POST /hooks/<source>; with the dashboard token /ui, /metrics, /api/*; /docs. "
            f"{len(config.identities)} identities, {len(config.rules)} rules.",
            highlight=False,
        )
        _dashboard_banner(settings, url, generated_token)
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


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", "processes", default=1, show_default=True, type=int, help="uvicorn worker processes."
)
def api(host: str, port: int, processes: int) -> None:
    """Run the receiver alone (HTTP endpoints), for deployments that run the pieces apart."""
    import uvicorn

    settings = settings_or_exit()
    if not settings.redis_url:
        console.print(
            "[red]TOGGLBRIDGE_REDIS_URL must be set: the workers read what the receiver queues.[/red]"
        )
        sys.exit(2)
    secrets = secrets_or_exit()
    setup_logging(settings)
    announce(settings, secrets, toggl=False)
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
            _receiver_app(settings, settings.redis_url, secrets),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
        )


@click.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: one per core).")
@click.option("--queues", "-Q", default=None, help="Comma-separated queues to consume (default: all).")
@click.option(
    "--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "threads", "solo"])
)
def worker(concurrency: int | None, queues: str | None, pool: str) -> None:
    """Run a Celery worker: plans events and applies actions to Toggl. Start as many as you like."""
    from workers.app import ALL_QUEUES, app, configure

    settings = settings_or_exit()
    config_or_exit(settings)  # a bad rule file fails here, at start, not on the first event
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

    setup_logging(settings)
    announce(settings)
    argv = ["worker", "--loglevel", settings.log_level, "--pool", pool, "-Q", queues or ",".join(ALL_QUEUES)]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)


@click.command()
def beat() -> None:
    """Run the scheduler. Start one or several: a Redis lock lets only one tick at a time."""
    from workers.app import app, configure

    settings = settings_or_exit()
    server = resolve_redis(settings.redis_url, settings.data_dir)
    configure(app, server.url)
    import workers.tasks  # noqa: F401  (the beat schedule)

    setup_logging(settings)
    app.start(["beat", "--loglevel", settings.log_level])
