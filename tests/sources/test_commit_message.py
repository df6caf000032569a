"""What a commit message says: its time directives (taken out of the description) and its issue keys."""

from __future__ import annotations

import pytest

from togglbridge.sources.commit_message import read_message, spent_seconds


@pytest.mark.parametrize(
    ("message", "spent", "left"),
    [
        ("Fix login #time 45m", "45m", "Fix login"),
        ("Fix login #time 1h30m", "1h 30m", "Fix login"),
        ("ABC-1 #time 1w 2d 4h 30m Worked on the importer", "1w 2d 4h 30m", "ABC-1 Worked on the importer"),
        ("Refactor the parser [toggl 1.5h]", "1.5h", "Refactor the parser"),
        ("[TOGGL 20M] Tidy up", "20m", "Tidy up"),
        ("Subject\n\nBody line\n#time 2h", "2h", "Subject\n\nBody line"),
        ("Two #time 1h then [toggl 30m]", "1h 30m", "Two then"),
        # Not directives: left exactly as written.
        ("Use #timeline for the feed", None, "Use #timeline for the feed"),
        ("Mention a#time 1h inside a word", None, "Mention a#time 1h inside a word"),
        ("#time soon", None, "#time soon"),
        ("[toggl] nothing", None, "[toggl] nothing"),
    ],
)
def test_time_directives_are_read_and_taken_out(message: str, spent: str | None, left: str) -> None:
    said = read_message(message)
    assert (said.time_spent, said.message) == (spent, left)


def test_jiras_units_with_its_default_and_other_working_weeks() -> None:
    assert spent_seconds("1w 2d 4h 30m") == ((5 + 2) * 8 + 4.5) * 3600
    assert spent_seconds("1h 30m") == 5400 == spent_seconds("1.5h")
    assert spent_seconds("1d", hours_per_day=7.5) == 27000
    assert spent_seconds("1w", hours_per_day=6, days_per_week=4) == 24 * 3600
    for wrong in ("", "soon", "1h soon", "1y"):
        with pytest.raises(ValueError, match="not a time spent"):
            spent_seconds(wrong)


@pytest.mark.parametrize(
    ("message", "branch", "issues"),
    [
        ("Fix the login", "feature/ABC-123-login", ["ABC-123"]),
        ("ABC-123: fix, see #42 and GH-7", "feature/ABC-123-login", ["ABC-123", "#42", "GH-7"]),
        ("Closes #12, #12 again", None, ["#12"]),
        ("not-ABC-1 nor ABC-12x nor #0 nor x#3", "main", []),
        ("Merge branch 'PROJ-9-api' into main", None, ["PROJ-9"]),
    ],
)
def test_issue_keys_come_from_the_branch_then_the_message_once_each(
    message: str, branch: str | None, issues: list[str]
) -> None:
    assert read_message(message, branch).issues == issues


def test_punctuation_after_a_directive_and_reverts() -> None:
    assert read_message("Fix login #time 1h.").time_spent == "1h"
    assert read_message("Fix login #time 1h.").message == "Fix login."
    reverted = read_message('Revert "Fix X #time 2h"\n\nThis reverts commit abc.')
    assert reverted.time_spent is None and reverted.message.startswith('Revert "Fix X #time 2h"')
