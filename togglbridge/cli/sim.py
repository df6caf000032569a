"""``togglbridge sim``: run the Toggl simulator in the foreground, with its knobs as options."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from togglbridge.toggl.sim import SimKnobs, Simulator, StateFileError
from togglbridge.toggl.sim.server import banner, base_url


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=9100, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Leaky bucket drain rate, requests/s per credential (429 above it). Default: off.",
)
@click.option(
    "--bucket-capacity",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Burst the leaky bucket allows.",
)
@click.option(
    "--quota-per-hour",
    type=click.IntRange(min=0),
    default=None,
    help="Requests per credential per sliding hour (402 above it). Default: off.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of requests answered 500/502/503.",
)
@click.option(
    "--throttle-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of requests answered 429 with Retry-After: 1, whatever the rate limit.",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Delay added to each answer.",
)
@click.option(
    "--autostop/--no-autostop",
    default=True,
    show_default=True,
    help="Whether starting an entry stops the running one.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for injected errors and jitter.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Keep users, workspaces, projects, clients, tags and entries in FILE across restarts "
    "(loaded at start if it exists, saved after every change). Delete FILE to reset. Default: in memory.",
)
def sim_command(
    host: str,
    port: int,
    rate_limit: float | None,
    bucket_capacity: int,
    quota_per_hour: int | None,
    error_rate: float,
    throttle_rate: float,
    latency_ms: float,
    autostop: bool,
    seed: int,
    state_file: Path | None,
) -> None:
    """Serve a simulated Toggl Track API v9, on the gateway path and the direct path, until interrupted."""
    knobs = SimKnobs(
        rate_limit=rate_limit,
        bucket_capacity=bucket_capacity,
        quota_per_hour=quota_per_hour,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        latency_ms=latency_ms,
        autostop=autostop,
        seed=seed,
    )
    try:
        sim = Simulator(knobs=knobs, state_file=state_file)
    except StateFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(banner(base_url(host, port), state_file))
    uvicorn.run(sim.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
