"""`togglbridge explain --source NAME RAW.json`: a raw delivery parsed by its source, then each event explained;
and a raw delivery given without --source is recognized and the right command suggested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from togglbridge.cli.explain import explain_command
from togglbridge.rules.deliveries import delivery_headers, recognizing_sources
from togglbridge.sources import SOURCES

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / "tests" / "fixtures" / "github"
GENERIC = ROOT / "tests" / "fixtures" / "generic"
RULES = """
identities:
  coder: {github: [Codertocat]}
  alice: {emails: [alice@acme.io]}
rules:
  - name: commits
    on: git.commit
    do: [{log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 30m}}]
  - name: pushes
    on: git.push
    do: [{tag: {tags: ["{{ branch or tag }}"]}}]
  - name: builds
    on: build.finished
    do: [{log: {description: "{{ pipeline | default('build') }}", duration: 5m}}]
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def explain(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(explain_command, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_a_raw_github_push_is_explained_event_by_event(rules: Path) -> None:
    raw = GITHUB / "push__with_new_branch.json"
    code, out, err = explain("--source", "github", str(raw), "--config", str(rules), "--json")
    assert code == 0, err
    plans = json.loads(out)
    assert [p["event"]["kind"] for p in plans] == ["git.push", "git.commit"]
    assert [p["identity"] for p in plans] == ["coder", "coder"]
    assert plans[1]["actions"][0]["description"] == "Hello-World: Initial commit"
    assert plans[0]["event"]["delivery_id"]  # made up, since a saved payload has no headers


def test_the_made_up_delivery_id_is_the_same_for_the_same_file() -> None:
    body = (GITHUB / "push__with_new_branch.json").read_bytes()
    first = delivery_headers(SOURCES["github"], body, {})
    assert first == delivery_headers(SOURCES["github"], body, {})
    assert first["X-GitHub-Event"] == "push"


def test_tables_show_each_event(rules: Path) -> None:
    code, out, _ = explain("--source", "github", str(GITHUB / "push__main.json"), "--config", str(rules))
    assert code == 0
    assert out.count("Event git.commit from github") == 2 and "Event git.push from github" in out


def test_a_header_given_wins_over_the_sources_default(rules: Path) -> None:
    raw = str(GITHUB / "push__main.json")
    code, _, err = explain(
        "--source", "github", raw, "--config", str(rules), "--header", "x-github-event: ping"
    )
    assert code == 0
    assert "gives no events" in err and "x-github-event: ping" in err
    code, out, _ = explain(
        "--source", "github", raw, "--config", str(rules), "--json", "--header", "X-GitHub-Delivery:d-42"
    )
    assert json.loads(out)[0]["event"]["id"] == "github:push:d-42"


def test_a_ping_is_recognized_and_gives_nothing_to_explain(rules: Path) -> None:
    code, _, err = explain("--source", "github", str(GITHUB / "ping__default.json"), "--config", str(rules))
    assert code == 0 and "X-GitHub-Event: ping" in err and "nothing to explain" in err


def test_a_raw_generic_delivery_is_explained(rules: Path) -> None:
    raw = GENERIC / "build_finished__default.json"
    code, out, err = explain("--source", "generic", str(raw), "--config", str(rules), "--json")
    assert code == 0, err
    (only,) = json.loads(out)
    assert only["event"]["kind"] == "build.finished" and only["event"]["id"].startswith(
        "generic:msg_explain_"
    )


def test_a_payload_its_source_refuses_says_why(rules: Path) -> None:
    code, _, err = explain("--source", "generic", str(GITHUB / "push__main.json"), "--config", str(rules))
    assert code == 1
    assert "not a generic delivery: missing fields: kind, actor, occurred_at" in err


@pytest.mark.parametrize(
    ("raw", "source"),
    [
        (GITHUB / "push__with_new_branch.json", "github"),
        (GENERIC / "build_finished__default.json", "generic"),
    ],
)
def test_without_source_a_raw_delivery_gets_the_command_to_use(rules: Path, raw: Path, source: str) -> None:
    code, _, err = explain(str(raw), "--config", str(rules))
    assert code == 1
    assert f"looks like a raw {source} delivery" in err
    assert f"togglbridge explain --source {source} {raw}" in err
    assert "Field required" not in err  # not pydantic's list of what an Event lacks


def test_an_unknown_source_is_refused_naming_the_registered_ones(tmp_path: Path) -> None:
    raw = tmp_path / "raw.json"
    raw.write_text("{}")
    result = CliRunner().invoke(explain_command, ["--source", "gitlub", str(raw)])
    assert result.exit_code == 2
    assert "no source is named 'gitlub'" in result.output
    assert all(name in result.output for name in SOURCES)


def test_only_payloads_that_look_like_a_source_are_recognized() -> None:
    assert recognizing_sources(b'{"id": "x", "source": "s"}') == []
    assert recognizing_sources(b"not json") == []
    # A Gitea push reads as GitHub's too (github.py reads both)
    assert recognizing_sources((GITHUB / "push__gitea.json").read_bytes()) == ["github", "gitea"]


def test_header_without_source_is_a_usage_error(rules: Path) -> None:
    code, _, err = explain(str(GITHUB / "push__main.json"), "--header", "A:b", "--config", str(rules))
    assert code == 2 and "--header goes with --source" in err
