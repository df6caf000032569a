"""Commits as rules see them: a time directive wins over the rule's duration, merge commits only when asked for."""

from __future__ import annotations

from typing import Any

from tests.test_planner import IDENTITIES, config, event, only_action
from togglbridge.actions import LogAction
from togglbridge.rules.planner import plan

LOG_RULES = """
- name: commits
  on: git.commit
  do:
    - log:
        description: "{{ message | first_line }}"
        duration: {estimate: session, max_gap: 2h, first: 30m}
        tags: [code, "{{ issues[0] if issues else '' }}"]
"""


def commit(message: str = "Fix the login", **data: Any) -> Any:
    fields: dict[str, Any] = {
        "message": message,
        "raw_message": message,
        "time_spent": None,
        "issues": [],
        "merge": False,
    }
    return event("git.commit", data=fields | data)


def test_a_time_directive_wins_over_the_rules_duration() -> None:
    said = commit("Fix the login", raw_message="Fix the login #time 45m", time_spent="45m")
    action = only_action(plan(said, config(LOG_RULES)))
    assert isinstance(action, LogAction)
    assert (action.duration_seconds, action.estimate, action.description) == (2700, None, "Fix the login")
    assert only_action(plan(commit(), config(LOG_RULES))).estimate is not None  # none said: the estimate


def test_issue_keys_are_there_for_templates() -> None:
    action = only_action(plan(commit(issues=["ABC-123", "#4"]), config(LOG_RULES)))
    assert action.tags == ["code", "ABC-123"]
    assert only_action(plan(commit(), config(LOG_RULES))).tags == ["code"]  # none: the tag renders empty


def test_weeks_and_days_use_the_files_working_week() -> None:
    said = commit(time_spent="1w 1d")
    assert only_action(plan(said, config(LOG_RULES))).duration_seconds == 6 * 8 * 3600
    head = IDENTITIES.replace(
        "timezone: Europe/Berlin}", "timezone: Europe/Berlin, hours_per_day: 7, days_per_week: 4}"
    )
    assert only_action(plan(said, config(LOG_RULES, head))).duration_seconds == 5 * 7 * 3600


def test_a_time_spent_that_cannot_be_an_entry_is_an_error_on_the_action() -> None:
    result = plan(commit(time_spent="40w"), config(LOG_RULES))
    assert result.actions == [] and "time_spent" in result.errors[0]


def test_merge_commits_are_taken_only_by_rules_that_ask_for_them() -> None:
    rules = (
        LOG_RULES
        + """
- name: merges
  on: git.commit
  if: {merge: true}
  do:
    - log: {description: "{{ message | first_line }}", duration: 5m}
"""
    )
    merge = commit("Merge branch 'ABC-1-x' into main", merge=True)
    result = plan(merge, config(rules))
    assert [a.rule for a in result.actions] == ["merges"]
    (skipped,) = [r for r in result.rules if r.name == "commits"]
    assert skipped.skipped is not None and "merge commit" in skipped.skipped
    assert [a.rule for a in plan(commit(), config(rules)).actions] == ["commits"]


def test_a_coalescing_log_groups_by_rule_and_repository() -> None:
    rules = """
- name: sessions
  on: git.commit
  do:
    - log: {description: "{{ message }}", duration: 10m, coalesce: 20m}
"""
    action = only_action(plan(commit(repo={"full_name": "acme/webapp"}), config(rules)))
    assert (action.coalesce_seconds, action.coalesce_group) == (1200, "sessions|acme/webapp")
    assert only_action(plan(commit(), config(LOG_RULES))).coalesce_group is None


def test_only_messages_shaped_as_git_writes_merges_are_merges() -> None:
    from togglbridge.sources.git import looks_like_merge

    for merge in ("Merge branch 'x' into main", "Merge branches 'a' and 'b'", "Merge pull request #12 from a/b",
                  "Merge pull request 'Add x' (#3) from y into main", "Merge remote-tracking branch 'origin/main'",
                  "Merge 1234567abc into main", "Merge tag 'v1.0'"):  # fmt: skip
        assert looks_like_merge(merge), merge
    for normal in ("Merge branch protection rules into settings", "Merge tag parsing into the lexer",
                   "Merge commit history views", "Merged the two parsers"):  # fmt: skip
        assert not looks_like_merge(normal), normal
