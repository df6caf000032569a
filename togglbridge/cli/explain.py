"""``togglbridge explain EVENT.json [--config FILE] [--json]``: what the rules make of an event, without Toggl;
``togglbridge explain --source NAME [--header NAME:VALUE ...] RAW.json``: the same for each event of a raw
delivery of a source (a webhook's body), parsed by that source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import click
from pydantic import ValidationError
from rich.console import Console

from togglbridge.cli.config import CONFIG_ENV, DEFAULT_CONFIG, default_config_path, rule_file_or_exit
from togglbridge.cli.plan_view import render_plan
from togglbridge.events import Event
from togglbridge.rules.deliveries import delivery_events, delivery_headers, recognizing_sources
from togglbridge.rules.planner import Plan, plan
from togglbridge.sources import SOURCES, SourceError


def _header(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip():
            raise click.BadParameter(f"{value!r}: write NAME:VALUE, e.g. 'X-GitHub-Event: push'")
        headers[name.strip()] = content.strip()
    return headers


@click.command("explain")
@click.argument("event_file", metavar="EVENT.json", type=click.File("rb"))
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The rule file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON instead of tables.")
@click.option(
    "--source",
    "source_name",
    callback=lambda ctx, param, value: _registered(value),
    default=None,
    metavar="NAME",
    help="The file is a raw delivery of this source (github, generic, ...: its webhook's body): parse it as the "
    "receiver would, then explain each event it gives. --json prints a list of plans.",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    callback=_header,
    metavar="NAME:VALUE",
    help="With --source: a header of the delivery (repeatable). The source's own are filled in when absent: "
    "GitHub's event type from the payload, a made-up delivery id.",
)
def explain_command(
    event_file: IO[bytes],
    config_file: Path | None,
    as_json: bool,
    source_name: str | None,
    headers: dict[str, str],
) -> None:
    """Show which rules match an event (a JSON file in the Event shape; - for stdin) and the actions they plan;
    with --source, the events of a raw delivery of that source.

    Nothing is sent to Toggl. Exit status 1 when a rule's evaluation failed (a template naming a field the event
    lacks, ...): the plan is shown, but the event would not be handled as the rules say."""
    if headers and source_name is None:
        raise click.UsageError("--header goes with --source (the headers of a raw delivery)")
    body = event_file.read()
    name = getattr(event_file, "name", "<stdin>")
    events = (
        [_read_event(body, name)] if source_name is None else _read_delivery(body, name, source_name, headers)
    )
    config = rule_file_or_exit(config_file or default_config_path())
    plans = [plan(event, config) for event in events]
    if as_json:
        click.echo(plans[0].model_dump_json(indent=2) if source_name is None else _plans_json(plans))
    else:
        console = Console(highlight=False)
        for number, result in enumerate(plans):
            if number:
                console.print()
            render_plan(result, console)
    errors = sum(len(result.errors) for result in plans)
    if errors:
        click.echo(f"{errors} error{'s' if errors > 1 else ''} while planning: see above", err=True)
        raise SystemExit(1)


def _registered(name: str | None) -> str | None:
    """A registered source's name (read when the command runs: sources may be registered after import)."""
    if name is not None and name not in SOURCES:
        raise click.BadParameter(f"no source is named {name!r} (sources: {', '.join(sorted(SOURCES))})")
    return name


def _plans_json(plans: list[Plan]) -> str:
    return json.dumps([result.model_dump(mode="json") for result in plans], indent=2)


def _read_delivery(body: bytes, name: str, source_name: str, headers: dict[str, str]) -> list[Event]:
    source = SOURCES[source_name]
    try:
        events = delivery_events(source, body, headers)
    except SourceError as exc:
        click.echo(f"{name}: not a {source_name} delivery: {exc}", err=True)
        raise SystemExit(1) from None
    if not events:
        sent = delivery_headers(source, body, headers)
        shown = ", ".join(f"{key}: {value}" for key, value in sorted(sent.items()))
        click.echo(
            f"{name}: this {source_name} delivery gives no events ({shown}); nothing to explain", err=True
        )
        raise SystemExit(0)
    return events


def _read_event(body: bytes, name: str) -> Event:
    try:
        return Event.model_validate_json(body)
    except ValidationError as exc:
        sources = recognizing_sources(body)
        if sources:
            usage = " or ".join(f"togglbridge explain --source {source} {name}" for source in sources)
            click.echo(
                f"{name}: not an event, but it looks like a raw {' or '.join(sources)} delivery; "
                f"to parse it as that source does, run: {usage}",
                err=True,
            )
            raise SystemExit(1) from None
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(the document)"
            click.echo(f"{name}: {where}: {error['msg']}", err=True)
        raise SystemExit(1) from None
