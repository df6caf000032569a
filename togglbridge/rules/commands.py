"""The CLI's rule-file commands, as click objects the main ``togglbridge`` command adds:

- ``togglbridge config check [FILE]``: every problem as ``FILE:LINE: reason`` (exit 1), or a one-line summary.
- ``togglbridge config schema``: the JSON Schema of the file, for editors.
- ``togglbridge explain EVENT.json [--config FILE] [--json]``: what the rules make of an event, without Toggl.

FILE defaults to ``$TOGGLBRIDGE_CONFIG_FILE``, else ``togglbridge.yaml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

import click
from pydantic import ValidationError
from rich.console import Console

from togglbridge.config import Config, ConfigError, config_json_schema, load_config
from togglbridge.events import Event
from togglbridge.rules.explain import plan_json, render_plan
from togglbridge.rules.planner import plan

CONFIG_ENV = "TOGGLBRIDGE_CONFIG_FILE"
DEFAULT_CONFIG = "togglbridge.yaml"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def _load_or_exit(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None


@click.group("config")
def config_group() -> None:
    """Check the rule file, or print its JSON Schema."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_command(file: Path | None) -> None:
    """Validate FILE (default: $TOGGLBRIDGE_CONFIG_FILE, else togglbridge.yaml) and report every problem."""
    path = file or default_config_path()
    config = _load_or_exit(path)
    click.echo(f"{path}: ok — {config.summary()}")


@config_group.command("schema")
def schema_command() -> None:
    """Print the rule file's JSON Schema (point your editor's YAML support at it)."""
    click.echo(json.dumps(config_json_schema(), indent=2))


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
def explain_command(event_file: IO[bytes], config_file: Path | None, as_json: bool) -> None:
    """Show which rules match an event (a JSON file in the Event shape; - for stdin) and the actions they plan.

    Nothing is sent to Toggl. Exit status 1 when a rule's evaluation failed (a template naming a field the event
    lacks, ...): the plan is shown, but the event would not be handled as the rules say."""
    event = _read_event(event_file)
    config = _load_or_exit(config_file or default_config_path())
    result = plan(event, config)
    if as_json:
        click.echo(plan_json(result))
    else:
        render_plan(result, Console(highlight=False))
    if result.errors:
        count = len(result.errors)
        click.echo(f"{count} error{'s' if count > 1 else ''} while planning: see above", err=True)
        raise SystemExit(1)


def _read_event(source: IO[bytes]) -> Event:
    name = getattr(source, "name", "<stdin>")
    try:
        return Event.model_validate_json(source.read())
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(the document)"
            click.echo(f"{name}: {where}: {error['msg']}", err=True)
        raise SystemExit(1) from None
