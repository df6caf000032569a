"""``togglbridge discord register``: the /toggl command PUT where Discord takes it (global, or one server's), with
the bot token in ``Authorization`` and never on screen; clear errors for a missing variable or a refusal. Against
a local server that records what it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from togglbridge.cli import main
from togglbridge.serving import serve_in_thread
from togglbridge.sources.discord import COMMAND

TOKEN = "MTE0OTU4NzM1MTM5NjA2MTI0NA.bot-test-token.not-real"
APPLICATION = "1149587351396061244"


class Discord:
    """Discord's API as far as registering goes: what was sent, and what to answer."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 200
        self.answer: Any = None

    async def commands(self, request: Request) -> JSONResponse:
        sent = await request.json()
        self.calls.append(
            {
                "method": request.method,
                "path": request.url.path,
                "authorization": request.headers.get("authorization"),
                "json": sent,
            }
        )
        if self.status != 200:
            return JSONResponse(self.answer, status_code=self.status)
        return JSONResponse([{**command, "id": "1150000000000000000"} for command in sent])


@pytest.fixture
def discord() -> Iterator[tuple[Discord, str]]:
    made = Discord()
    app = Starlette(routes=[Route("/{path:path}", made.commands, methods=["PUT"])])
    with serve_in_thread(app, name="discord") as url:
        yield made, f"{url}/api/v10"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where no ``.env`` of the project's is read."""
    monkeypatch.chdir(tmp_path)


def run(args: list[str], env: dict[str, str | None]) -> Result:
    base: dict[str, str | None] = {
        "TOGGLBRIDGE_DISCORD_APPLICATION_ID": APPLICATION,
        "TOGGLBRIDGE_DISCORD_BOT_TOKEN": TOKEN,
    }
    return CliRunner().invoke(main, ["discord", "register", *args], env=base | env)


def test_register_puts_the_command_as_the_applications_global_commands(discord: tuple[Discord, str]) -> None:
    recorded, api = discord
    result = run([], {"TOGGLBRIDGE_DISCORD_API_URL": api})
    assert result.exit_code == 0, result.output
    assert recorded.calls == [
        {
            "method": "PUT",
            "path": f"/api/v10/applications/{APPLICATION}/commands",
            "authorization": f"Bot {TOKEN}",
            "json": [COMMAND],
        }
    ]
    assert "Registered /toggl globally" in result.output and "start, stop" in result.output
    assert TOKEN not in result.output


def test_register_for_one_guild(discord: tuple[Discord, str]) -> None:
    recorded, api = discord
    result = run(["--guild", "290926798626357250"], {"TOGGLBRIDGE_DISCORD_API_URL": api})
    assert result.exit_code == 0, result.output
    assert (
        recorded.calls[0]["path"] == f"/api/v10/applications/{APPLICATION}/guilds/290926798626357250/commands"
    )
    assert "in server 290926798626357250" in result.output


@pytest.mark.parametrize(
    ("status", "answer", "says"),
    [
        (401, {"message": "401: Unauthorized", "code": 0}, "HTTP 401, 401: Unauthorized (code 0)"),
        (
            400,
            {"message": "Invalid Form Body", "code": 50035, "errors": {"0": {"name": {"_errors": []}}}},
            "HTTP 400, Invalid Form Body (code 50035)",
        ),
        (403, {"message": "Missing Access", "code": 50001}, "Missing Access"),
        (502, "upstream down", "HTTP 502"),
    ],
)
def test_a_refusal_says_discords_status_and_message_but_never_the_token(
    discord: tuple[Discord, str], status: int, answer: Any, says: str
) -> None:
    recorded, api = discord
    recorded.status, recorded.answer = status, answer
    result = run([], {"TOGGLBRIDGE_DISCORD_API_URL": api})
    assert result.exit_code == 1
    assert says in " ".join(result.output.split())
    assert TOKEN not in result.output


@pytest.mark.parametrize("missing", ["TOGGLBRIDGE_DISCORD_APPLICATION_ID", "TOGGLBRIDGE_DISCORD_BOT_TOKEN"])
def test_a_missing_variable_is_named_and_nothing_is_sent(discord: tuple[Discord, str], missing: str) -> None:
    recorded, api = discord
    result = run([], {"TOGGLBRIDGE_DISCORD_API_URL": api, missing: None})
    assert result.exit_code == 2
    assert missing in " ".join(result.output.split())
    assert recorded.calls == []


def test_an_application_id_that_is_not_one_is_refused_before_sending(discord: tuple[Discord, str]) -> None:
    recorded, api = discord
    result = run([], {"TOGGLBRIDGE_DISCORD_API_URL": api, "TOGGLBRIDGE_DISCORD_APPLICATION_ID": "../x"})
    assert result.exit_code == 2 and recorded.calls == []


def test_an_unreachable_discord_is_said_without_the_token() -> None:
    result = run([], {"TOGGLBRIDGE_DISCORD_API_URL": "http://127.0.0.1:9/api"})
    assert result.exit_code == 1
    assert "Could not reach Discord" in result.output and TOKEN not in result.output


def test_print_shows_the_definition_without_credentials() -> None:
    result = run(["--print"], {"TOGGLBRIDGE_DISCORD_BOT_TOKEN": None})
    assert result.exit_code == 0 and '"name": "toggl"' in result.output
