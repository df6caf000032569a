"""``togglbridge config check [FILE]`` (every problem as ``FILE:LINE: reason``, exit 1; or a one-line summary)
and ``togglbridge config schema`` (the file's JSON Schema, for editors).

FILE defaults to ``$TOGGLBRIDGE_CONFIG_FILE``, else ``togglbridge.yaml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from togglbridge.config import Config, ConfigError, config_json_schema, load_config

CONFIG_ENV = "TOGGLBRIDGE_CONFIG_FILE"
DEFAULT_CONFIG = "togglbridge.yaml"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def rule_file_or_exit(path: Path) -> Config:
    """The rule file at ``path``, or every problem in it as FILE:LINE: reason, and exit 1."""
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
    config = rule_file_or_exit(path)
    click.echo(f"{path}: ok — {config.summary()}")


@config_group.command("schema")
def schema_command() -> None:
    """Print the rule file's JSON Schema (point your editor's YAML support at it)."""
    click.echo(json.dumps(config_json_schema(), indent=2))
