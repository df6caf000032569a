"""The examples a new user starts from: each sample event against the example file, on the CLI too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from togglbridge.cli.explain import explain_command
from togglbridge.config import load_config
from togglbridge.events import Event
from togglbridge.rules.planner import plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "togglbridge.yaml"
EVENTS = ROOT / "examples" / "events"

EXPECTED = {
    "git_commit": (["commits to client repos", "issue keys"], ["log", "tag"]),
    "calendar_started": (["meetings"], ["start"]),
    "calendar_ended": (["meeting over"], ["stop"]),
    "calendar_changed": (["meeting renamed", "builtin:calendar"], ["update", "move"]),
    "calendar_cancelled": (["builtin:calendar"], ["withdraw"]),
    "chat_command": (["builtin:chat"], ["start"]),
    "chat_command__client_channel": (["client channels bill the client"], ["start"]),
}


def load_event(name: str) -> Event:
    return Event.model_validate_json((EVENTS / f"{name}.json").read_text())


def test_every_example_event_is_covered() -> None:
    assert sorted(path.stem for path in EVENTS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_example_event_plans_as_documented(name: str) -> None:
    result = plan(load_event(name), load_config(EXAMPLE))
    rules, action_types = EXPECTED[name]
    assert result.identity == "alice"
    assert result.errors == []
    assert result.matched_rules == rules
    assert [action.type for action in result.actions] == action_types


def test_the_meeting_that_started_a_timer_is_the_one_its_end_stops() -> None:
    config = load_config(EXAMPLE)
    (start,) = plan(load_event("calendar_started"), config).actions
    (stop,) = plan(load_event("calendar_ended"), config).actions
    assert start.subject == stop.subject is not None
    assert stop.type == "stop" and stop.only == "started_by_this_event"


def test_githubs_push_fixture_plans_cleanly_against_the_example() -> None:
    from togglbridge.sources.github import SOURCE

    body = (ROOT / "tests" / "fixtures" / "github" / "push__main.json").read_bytes()
    events = SOURCE.parse({"X-GitHub-Event": "push", "X-GitHub-Delivery": "d1"}, body)
    config = load_config(EXAMPLE)
    commits = [plan(event, config) for event in events if event.kind == "git.commit"]
    assert commits
    for result in commits:
        assert result.errors == []
        assert result.identity == "alice"
        assert "commits to client repos" in result.matched_rules


@pytest.mark.parametrize("name", ["git_commit", "calendar_started"])
def test_explain_shows_the_rules_and_the_actions(name: str) -> None:
    result = CliRunner().invoke(explain_command, [str(EVENTS / f"{name}.json"), "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    rules, _ = EXPECTED[name]
    assert "Rules, in file order" in result.stdout and "Actions" in result.stdout
    for rule in rules:
        assert rule in result.stdout
    assert "matched, 1 action" in result.stdout
    assert "✓" in result.stdout


@pytest.mark.parametrize("name", EXPECTED)
def test_explain_json_is_the_plan_as_data(name: str) -> None:
    result = CliRunner().invoke(
        explain_command, [str(EVENTS / f"{name}.json"), "--config", str(EXAMPLE), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == json.loads(plan(load_event(name), load_config(EXAMPLE)).model_dump_json())
    assert [rule["name"] for rule in data["rules"] if rule["matched"]] == EXPECTED[name][0]


def test_explain_reads_the_config_named_by_the_environment() -> None:
    event = str(EVENTS / "chat_command.json")
    result = CliRunner().invoke(
        explain_command, [event, "--json"], env={"TOGGLBRIDGE_CONFIG_FILE": str(EXAMPLE)}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["identity"] == "alice"


def test_explain_says_what_is_wrong_with_a_bad_event(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "source": "s", "kind": "k", "occurred_at": "2024-05-02T09:00:00"}))
    result = CliRunner().invoke(explain_command, [str(bad), "--config", str(EXAMPLE)])
    assert result.exit_code == 1
    assert f"{bad}: occurred_at:" in result.stderr
    assert f"{bad}: actor: Field required" in result.stderr


def test_explain_refuses_a_broken_config_with_its_problems() -> None:
    broken = ROOT / "tests" / "fixtures" / "config" / "three_problems.yaml"
    result = CliRunner().invoke(explain_command, [str(EVENTS / "git_commit.json"), "--config", str(broken)])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 3


def test_explain_shows_an_event_without_identity() -> None:
    event = load_event("chat_command").model_copy(update={"actor": "U0STRANGER"})
    payload = event.model_dump_json()
    result = CliRunner().invoke(explain_command, ["-", "--config", str(EXAMPLE)], input=payload)
    assert result.exit_code == 0, result.output
    assert "no identity" in result.stdout
    assert "No actions." in result.stdout
