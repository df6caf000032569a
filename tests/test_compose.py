"""docker-compose.yml cannot run here (no Docker engine): check its shape and every command against the CLI."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from togglbridge.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _parse_cli(argv: list[str]) -> None:
    """Parse argv exactly as the `togglbridge` entry point would, without running the command."""
    program, name, *rest = argv
    assert program == "togglbridge"
    context = main.make_context(program, [name])
    command = main.get_command(context, name)
    if command is None:
        raise click.UsageError(f"{name} is not a togglbridge command")
    command.make_context(name, rest, parent=context)


def test_the_services_are_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"redis", "api", "worker", "beat", "flower"}


def test_redis_is_durable_and_never_evicts(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    volume = redis["volumes"][0]
    assert volume.endswith(":/data") and volume.split(":")[0] in compose["volumes"]


def test_one_beat_and_flower_behind_a_profile(compose: dict[str, Any]) -> None:
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1
    assert compose["services"]["flower"]["profiles"] == ["monitoring"]
    for name in ("api", "worker", "beat"):
        assert "profiles" not in compose["services"][name]


@pytest.mark.parametrize("service", ["api", "worker", "beat"])
def test_each_command_is_a_real_cli_command(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    _parse_cli(spec["command"])
    assert spec["environment"]["TOGGLBRIDGE_REDIS_URL"].startswith("redis://redis:")


def test_a_wrong_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        _parse_cli(["togglbridge", "worker", "--no-such-option"])
    with pytest.raises(click.UsageError):
        _parse_cli(["togglbridge", "serve-everything"])


def test_flower_points_at_the_celery_app(compose: dict[str, Any]) -> None:
    command = compose["services"]["flower"]["command"]
    assert command[:3] == ["celery", "-A", "workers.app"] and command[3] == "flower"
    assert hasattr(importlib.import_module("workers.app"), "app")


def test_the_image_installs_what_the_commands_need() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY togglbridge" in dockerfile and "COPY workers" in dockerfile
    assert "[monitoring]" in dockerfile  # flower
