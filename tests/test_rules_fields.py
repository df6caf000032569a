"""The rule file is checked against the fields each kind of event carries: a typo in a field path or a template
variable is a load error at its line, with the field meant; a wrongly indented file says what to fix where."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from togglbridge.cli.config import check_command
from togglbridge.cli.explain import explain_command
from togglbridge.config import ConfigError, load_config, parse_config
from togglbridge.sources import REGISTRY, SOURCES
from togglbridge.sources.kinds import PLANNED_KINDS, KindSchema

ROOT = Path(__file__).parent.parent
CONFIGS = ROOT / "tests" / "fixtures" / "config"
EVENTS = ROOT / "examples" / "events"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), "rules.yaml")
    return [str(problem) for problem in caught.value.errors]


def test_every_typo_is_reported_at_its_line_with_the_field_meant() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "unknown_fields.yaml")
    name = CONFIGS / "unknown_fields.yaml"
    assert [str(problem) for problem in caught.value.errors] == [
        f"{name}:7: rules[0].if.repo.full_nme.glob: 'repo.full_nme' is not a field of git.commit events; "
        "did you mean 'repo.full_name'?",
        f"{name}:10: rules[0].do[0].log.description: 'repo.nmae' is not a field of git.commit events; "
        "did you mean 'repo.name'?",
        f"{name}:13: rules[0].do[0].log.tags[0]: 'athor.username' is not a field of git.commit events; "
        "did you mean 'author.username'?",
        f"{name}:18: rules[1].do[0].start.description: 'titel' is not a field of calendar.started events; "
        "did you mean 'title'?",
        f"{name}:18: rules[1].do[0].start.project: 'event.sourc' is not a field of an event; "
        "did you mean 'event.source'? (event has: id, kind, source, actor, occurred_at, subject)",
    ]


def test_config_check_reports_a_template_typo_and_exits_1() -> None:
    result = CliRunner().invoke(check_command, [str(CONFIGS / "unknown_fields.yaml")])
    assert result.exit_code == 1
    assert "unknown_fields.yaml:10: " in result.stderr and "did you mean 'repo.name'?" in result.stderr


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("on: git.push\n    if: {sha: {exists: true}}", "'sha' is not a field of git.push events"),
        (
            "on: git.commit\n    if: {data.brnch: main}",
            "'data.brnch' is not a field of git.commit events; did you mean 'data.branch'?",
        ),
        ("on: git.commit\n    if: {event.data.repo.nam: x}", "did you mean 'event.data.repo.name'?"),
        ("on: chat.command\n    if: {verbb: start}", "did you mean 'verb'?"),
        ("on: [calendar.started, calendar.ended, calendar.changed]\n    if: {titel: x}", "calendar.* events"),
        ("on: git.commit\n    if: {repo.nmae.x: y}", "did you mean 'repo.name.x'?"),
        ("on: git.commit\n    if: {zzz: 1}", "(it has: added, author, branch,"),
    ],
)
def test_condition_paths_are_checked(rule: str, says: str) -> None:
    (problem,) = problems(f"rules:\n  - name: r\n    {rule}\n")
    assert problem.startswith("rules.yaml:4: rules[0].if.") and says in problem


@pytest.mark.parametrize(
    "template",
    [
        "{{ repo.name }} {{ repo.full_name | upper }} {{ message.splitlines()[0] }} {{ data.repo.owner }}",
        "{{ author['email'] }} {{ event.occurred_at.strftime('%H:%M') }} {{ identity }} {{ event.kind }}",
        "{{ project | default('Internal') }}",  # guarded: meant to be optional
        "{% for t in [1, 2] %}{{ t.real }}{% endfor %}{% set x = 1 %}{{ x }}",  # defined by the template
        "{{ issue }}",  # a named group of the rule's regex
        "{{ range(3) | join(',') }} {{ data }}",
    ],
)
def test_what_a_template_may_read(template: str) -> None:
    parse_config(
        dedent(f"""
        rules:
          - name: r
            on: git.commit
            if: {{message: {{regex: '(?P<issue>[A-Z]+-\\d+)'}}}}
            do: [{{log: {{description: "{template}", duration: 30m}}}}]
        """)
    )


@pytest.mark.parametrize("on", ['"*"', "build.finished", "[git.commit, deploy.*]"])
def test_kinds_whose_data_nobody_declares_are_not_checked(on: str) -> None:
    parse_config(
        f"rules:\n  - name: r\n    on: {on}\n    if: {{anything.at.all: 1}}\n    do: [{{tag: {{tags: ['{{{{ x.y }}}}']}}}}]\n"
    )


def test_a_field_of_one_of_the_rules_kinds_is_enough() -> None:
    parse_config("rules:\n  - name: r\n    on: [git.push, git.commit]\n    if: {sha: {exists: true}}\n")


def test_every_example_rule_file_passes() -> None:
    load_config(ROOT / "examples" / "togglbridge.yaml")
    load_config(CONFIGS / "minimal.yaml")


@pytest.mark.parametrize(
    ("fixture", "line", "says"),
    [
        ("broken_indent__option_dedented", 10, "'duration: 30m' is indented by 9 spaces"),
        ("broken_indent__key_without_colon", 6, "'on git.commit' has no ':' after its key"),
        ("broken_indent__key_too_deep", 7, "indented deeper than the key above it"),
        ("broken_indent__item_misaligned", 11, "'- stop' is indented by 5 spaces"),
        ("broken_indent__flow_unclosed", 7, "the '{' here is never closed with '}'"),
        (
            "option_beside_its_action",
            11,
            "'tags' is an option of 'log', not an action: indent it under 'log'",
        ),
    ],
)
def test_a_wrongly_indented_file_says_what_to_fix_at_the_line_to_fix(
    fixture: str, line: int, says: str
) -> None:
    path = CONFIGS / f"{fixture}.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.errors
    assert problem.line == line and says in problem.message, str(problem)


def test_explain_exits_1_when_a_rule_fails_for_the_event(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "identities: {me: {}}\nrules:\n  - name: r\n    on: build.finished\n"
        "    do: [{log: {description: '{{ nope }}', duration: 30m}}]\n"
    )
    event = {
        "id": "e",
        "source": "generic",
        "kind": "build.finished",
        "occurred_at": "2024-05-02T09:00:00Z",
        "actor": "me",
        "data": {},
    }
    result = CliRunner().invoke(explain_command, ["-", "--config", str(rules)], input=json.dumps(event))
    assert result.exit_code == 1
    assert "'nope' is undefined" in result.stdout
    assert "1 error while planning" in result.stderr


def test_explain_exits_0_when_every_rule_evaluates() -> None:
    config = ROOT / "examples" / "togglbridge.yaml"
    result = CliRunner().invoke(explain_command, [str(EVENTS / "git_commit.json"), "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_the_known_kinds_come_from_the_sources_declarations() -> None:
    from togglbridge.events import known_kinds

    assert known_kinds() == REGISTRY.known_kinds
    assert set(REGISTRY.known_kinds) == {kind for source in SOURCES.values() for kind in source.kinds} | set(
        PLANNED_KINDS
    )
    assert {"git.push", "git.commit", "calendar.ended", "chat.command", "webhook.received"} <= set(
        REGISTRY.known_kinds
    )
    # not webhook: generic senders use it
    assert {"git", "calendar", "chat", "toggl"} == REGISTRY.builtin_namespaces
    assert REGISTRY.kind_schema("build.finished").open and REGISTRY.kind_schema("webhook.received").open
    assert not REGISTRY.kind_schemas["git.commit"].open


def test_the_github_schema_matches_what_the_parser_gives() -> None:
    body = (ROOT / "tests" / "fixtures" / "github" / "push__main.json").read_bytes()
    for event in SOURCES["github"].parse({"X-GitHub-Event": "push"}, body):
        assert _paths(event.data) == set(REGISTRY.kind_schemas[event.kind].fields), event.kind


def test_the_example_events_match_their_kinds_schemas() -> None:
    for path in EVENTS.glob("*.json"):
        event = json.loads(path.read_text())
        declared = REGISTRY.kind_schemas[event["kind"]].fields
        assert _paths(event["data"]) <= declared, path.name


def test_a_schema_declares_the_parents_of_its_paths() -> None:
    schema = KindSchema.of("repo.full_name", "repo.name", "message")
    assert schema.fields == {"repo", "repo.full_name", "repo.name", "message"}
    assert schema.children("") == ("message", "repo") and schema.children("repo") == ("full_name", "name")
    assert schema.children("message") == ()


def _paths(data: dict[str, object], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in data.items():
        found.add(prefix + key)
        if isinstance(value, dict):
            found |= _paths(value, f"{prefix}{key}.")
    return found
