"""The rule file: what loads, and every kind of problem reported as FILE:LINE with its exact line.

Problem cases mark the line they expect with ``#!``; the test reads the expected line numbers from the marks.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from togglbridge.cli.config import config_group
from togglbridge.config import ConfigError, ConfigProblem, config_json_schema, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "togglbridge.yaml"
FIXTURES = Path(__file__).parent / "fixtures" / "config"

IDENTITY = """
identities:
  alice:
    emails: [alice@acme.io]
    github: [alice-gh]
"""


def problems_in(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "t.yaml")
    return caught.value.errors


def marked_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), 1) if "#!" in line]


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.summary() == "2 identities, 1 calendar, 10 rules"
    assert config.defaults.timezone == "Europe/Berlin"
    assert config.identities["alice"].toggl is not None
    assert config.identities["alice"].toggl.connection == "conn_8f2a"
    assert config.identities["bob"].toggl is not None
    assert config.identities["bob"].toggl.token_env == "BOB_TOGGL_TOKEN"
    assert config.calendars[0].poll_every == 300


def test_an_empty_file_is_a_file_with_no_rules() -> None:
    config = parse_config("# nothing yet\n")
    assert config.summary() == "0 identities, 0 calendars, 0 rules"
    assert config.chat.enabled
    assert config.defaults.created_with == "togglbridge"


def test_scalars_read_as_they_look() -> None:
    """YAML 1.1 would read `on` and `no` as booleans, 18:00 as 1080 and 010 as 8."""
    config = parse_config(
        dedent(
            """
            defaults: {workspace_id: 010}
            rules:
              - name: evening
                on: build.finished
                if: {answer: no, occurred_at: {gt: 18:00}, day: 2024-05-02}
            """
        )
    )
    assert config.defaults.workspace_id == 10
    rule = config.rules[0]
    assert rule.on == ["build.finished"]
    assert rule.model_dump(by_alias=True)["if"] == {
        "answer": "no",
        "occurred_at": {"gt": "18:00"},
        "day": "2024-05-02",
    }


CASES = {
    "yaml syntax": (
        "rules:\n  - name: x\n    on: [git.commit  #!\n  - name: y\n",
        "'[' here is never closed",
    ),
    "unknown key with a suggestion": (
        "defaults:\n  timezon: UTC  #!\n",
        "unknown key 'timezon'; did you mean 'timezone'?",
    ),
    "unknown top-level key": ("rule:  #!\n  - name: x\n", "unknown key 'rule'; did you mean 'rules'?"),
    "wrong type": ("defaults:\n  workspace_id: abc  #!\n", "should be a valid integer, got 'abc'"),
    "not a boolean": ("chat:\n  enabled: yes  #!\n", "should be a valid boolean, got 'yes'"),
    "missing key": (
        IDENTITY + "rules:\n  - name: x  #!\n    do: []\n",
        "rules[0].on: is required",
    ),
    "bad regex": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      message: {regex: '(unclosed'}  #!\n",
        "bad regex '(unclosed': missing ), unterminated subpattern at position 0",
    ),
    "unknown action": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - stop: {}\n      - begin: {}  #!\n",
        "unknown action 'begin' (expected one of: start, stop, log, tag, untag, update)",
    ),
    "two actions in one item": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - {stop: {}, tag: {tags: [a]}}  #!\n",
        "one action per item",
    ),
    "template that does not parse": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - log:\n          duration: 5m\n"
        "          description: '{{ message | first_line }'  #!\n",
        "template does not parse: unexpected '}'",
    ),
    "template with an unknown filter": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - start: {description: '{{ m | shout }}'}  #!\n",
        "No filter named 'shout'",
    ),
    "identity named but not defined": (
        IDENTITY + "calendars:\n  - name: work\n    identity: alise  #!\n    url_env: CAL\n",
        "no identity is named 'alise'; did you mean 'alice'?",
    ),
    "identity named by a rule but not defined": (
        IDENTITY + "rules:\n  - name: x\n    on: git.commit\n    identities: [bob]  #!\n",
        "no identity is named 'bob' (defined: alice)",
    ),
    "calendar named but not defined": (
        IDENTITY + "rules:\n  - name: x\n    on: calendar.started\n    calendars: [work]  #!\n",
        "no calendar is named 'work' (none is defined under calendars)",
    ),
    "bad glob in a condition": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {repo.full_name: {glob: 'acme/[ab'}}  #!\n",
        "has a '[' that is never closed",
    ),
    "bad glob in on": ("rules:\n  - name: x\n    on: ['git.[commit']  #!\n", "never closed"),
    "a kind no source sends": (
        "rules:\n  - name: x\n    on:\n      - git.commit\n      - calendar.endd  #!\n",
        "no event has kind 'calendar.endd'; did you mean 'calendar.ended'?",
    ),
    "bad time window": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      when: {between: '25:00-26:00'}  #!\n",
        "a time that does not exist",
    ),
    "empty time window": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {when: {between: '09:00-09:00'}}  #!\n",
        "is empty",
    ),
    "bad weekday": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      when:\n        weekdays: [mon, funday]  #!\n",
        "'funday' is not a day",
    ),
    "unknown timezone in a condition": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      when:\n        between: '09:00-17:00'\n"
        "        timezone: Mars/Olympus  #!\n",
        "unknown timezone 'Mars/Olympus'",
    ),
    "unknown default timezone": ("defaults:\n  timezone: Berlin  #!\n", "unknown timezone 'Berlin'"),
    "timezone without a time test": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      branch: {eq: main, timezone: UTC}  #!\n",
        "timezone applies to weekdays, between, gt and lt",
    ),
    "unknown operator": (
        "rules:\n  - name: x\n    on: git.commit\n    if:\n      message: {regx: a}  #!\n",
        "unknown operator 'regx'; did you mean 'regex'?",
    ),
    "bad field path": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {repo..name: a}  #!\n",
        "is not a field path",
    ),
    "bad comparison": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {added: {gt: lots}}  #!\n",
        "gt compares with a number",
    ),
    "in needs a list": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {branch: {in: main}}  #!\n",
        "in takes a list",
    ),
    "exists needs a boolean": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {branch: {exists: maybe}}  #!\n",
        "exists takes true or false",
    ),
    "not needs a condition": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {not: declined}  #!\n",
        "write {field: {not: value}}",
    ),
    "empty any": (
        "rules:\n  - name: x\n    on: git.commit\n    if: {any: []}  #!\n",
        "any takes a non-empty list",
    ),
    "duplicate key": (
        "defaults:\n  timezone: UTC\n  timezone: Europe/Berlin  #!\n",
        "given twice here (first on line 2)",
    ),
    "duplicate rule name": (
        "rules:\n  - name: x\n    on: git.commit\n  - name: x  #!\n    on: git.push\n",
        "another rule is already named 'x'",
    ),
    "reserved rule name": ("rules:\n  - name: 'builtin:chat'  #!\n    on: git.commit\n", "are ours"),
    "duplicate calendar name": (
        IDENTITY
        + "calendars:\n  - {name: w, identity: alice, url_env: A}\n  - {name: w, identity: alice, url_env: B}  #!\n",
        "another calendar is already named 'w'",
    ),
    "one handle under two identities": (
        IDENTITY + "  bob:\n    emails: [bob@acme.io, Alice@Acme.io]  #!\n",
        "'Alice@Acme.io' is also listed under identity 'alice'",
    ),
    "a secret in the file": (
        "identities:\n  alice:\n    toggl: {token: 1971800d4d82861d8f2c1651fea4d212}  #!\n",
        "secrets are never in this file",
    ),
    "both credentials": (
        "identities:\n  alice:\n    toggl: {connection: c, token_env: T}  #!\n",
        "exactly one of connection (gateway) and token_env",
    ),
    "not an environment variable name": (
        IDENTITY
        + "calendars:\n  - name: w\n    identity: alice\n    url_env: 'https://cal.example/x.ics'  #!\n",
        "should be the name of an environment variable",
    ),
    "a calendar address in the file": (
        IDENTITY
        + "calendars:\n  - name: w\n    identity: alice\n    url_env: A\n    url: 'https://cal.example/x'  #!\n",
        "a calendar's address is a secret",
    ),
    "bad duration": (
        IDENTITY + "calendars:\n  - {name: w, identity: alice, url_env: A, poll_every: soon}  #!\n",
        "expected a duration like 90s",
    ),
    "polling too often": (
        IDENTITY + "calendars:\n  - name: w\n    identity: alice\n    url_env: A\n    poll_every: 10s  #!\n",
        "should be 1m or more",
    ),
    "unknown chat platform": (
        "chat:\n  platforms: [slack, teams]  #!\n",
        "'teams' is not a chat platform",
    ),
    "log without a duration": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - log: {description: x}  #!\n",
        "log needs exactly one of duration",
    ),
    "log duration that is not one": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - log: {duration: a while}  #!\n",
        "should be a duration like 90s",
    ),
    "estimate with an unknown key": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - log:\n          duration:\n"
        "            estimate: session\n            max_gaps: 2h  #!\n",
        "unknown key 'max_gaps'; did you mean 'max_gap'?",
    ),
    "stop description without same_description": (
        "rules:\n  - name: x\n    on: calendar.ended\n    do:\n      - stop: {description: x}  #!\n",
        "description is used only with only: same_description",
    ),
    "stop that cannot know what to compare": (
        "rules:\n  - name: x\n    on: calendar.ended\n    do:\n      - stop: {only: same_description}  #!\n",
        "needs a description",
    ),
    "bad stop only": (
        "rules:\n  - name: x\n    on: calendar.ended\n    do:\n      - stop: {only: everything}  #!\n",
        "should be 'any', 'started_by_this_event' or 'same_description', got 'everything'",
    ),
    "update that changes nothing": (
        "rules:\n  - name: x\n    on: calendar.changed\n    do:\n      - update: {target: subject}  #!\n",
        "update changes nothing",
    ),
    "tag with no tags": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - tag: {tags: []}  #!\n",
        "should have at least 1 item",
    ),
    "project that is neither a name nor an id": (
        "rules:\n  - name: x\n    on: git.commit\n    do:\n      - start: {project: [a]}  #!\n",
        "should be a project name",
    ),
    "bad priority": (
        "rules:\n  - name: x\n    on: git.commit\n    priority: high  #!\n",
        "should be 'urgent', 'normal' or 'bulk'",
    ),
    "the file is a list": ("- name: x  #!\n", "the file must be a mapping"),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_each_problem_is_reported_on_its_line(text: str, expected: str) -> None:
    problems = problems_in(text)
    assert [problem.line for problem in problems] == marked_lines(text), problems
    assert expected in problems[0].message, problems
    assert str(problems[0]).startswith(f"t.yaml:{problems[0].line}: ")


def test_every_problem_is_reported_at_once() -> None:
    text = (FIXTURES / "three_problems.yaml").read_text()
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / "three_problems.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    regex_line = next(n for n, line in enumerate(text.splitlines(), 1) if "(sync" in line)
    assert lines[0].startswith(f"{FIXTURES / 'three_problems.yaml'}:{regex_line}: ")
    assert "bad regex" in lines[0]
    assert "unknown action 'begin'" in lines[1]
    assert "rules[2].stop: should be a valid boolean, got 'maybe'" in lines[2]


def test_problems_come_in_line_order_from_every_section() -> None:
    text = dedent(
        """\
        defaults:
          billable: sometimes
        identities:
          alice: {github: alice}
        rules:
          - name: x
            on: git.comit
        """
    )
    problems = problems_in(text)
    assert [(problem.line, problem.message.split(":")[0]) for problem in problems] == [
        (2, "defaults.billable"),
        (4, "identities.alice.github"),
        (7, "rules[0].on[0]"),
    ]


def test_a_file_that_cannot_be_read_says_so() -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(FIXTURES / "missing.yaml")


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules: []  # café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8"):
        load_config(path)


def test_an_alias_bomb_or_loop_is_a_problem_not_a_hang() -> None:
    problems = problems_in("rules: &a [*a]\n")
    assert any("refers to a value that contains it" in problem.message for problem in problems)


def test_the_schema_describes_the_file() -> None:
    schema = config_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) == {"defaults", "identities", "calendars", "chat", "rules"}
    rule = schema["$defs"]["Rule"]
    assert {"name", "on", "if", "do", "stop", "enabled", "priority"} <= set(rule["properties"])
    assert rule["additionalProperties"] is False
    action = schema["$defs"]["ActionItem"]
    assert set(action["properties"]) == {"start", "stop", "log", "tag", "untag", "update"}
    json.dumps(schema)  # plain JSON all the way down


def test_config_check_passes_the_example() -> None:
    result = CliRunner().invoke(config_group, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: ok — 2 identities, 1 calendar, 10 rules\n"


def test_config_check_reports_every_problem_and_fails() -> None:
    path = FIXTURES / "three_problems.yaml"
    result = CliRunner().invoke(config_group, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}:") and line.split(":")[1].isdigit() for line in lines)


def test_config_check_reads_the_file_named_by_the_environment() -> None:
    path = FIXTURES / "minimal.yaml"
    result = CliRunner().invoke(config_group, ["check"], env={"TOGGLBRIDGE_CONFIG_FILE": str(path)})
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: ok — 1 identity, 0 calendars, 1 rule\n"


def test_config_schema_prints_json() -> None:
    result = CliRunner().invoke(config_group, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == config_json_schema()
