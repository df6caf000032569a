"""What a commit message says beyond its text: how long the work took, and which issues it is about.

Time directives, whichever tool a team's habit comes from, always win over a rule's duration:

- ``#time 1h30m`` and Jira's smart-commit form ``#time 1w 2d 4h 30m`` (weeks and days are converted with the
  rule file's working week and day, Jira's 5 days of 8 hours by default, when the entry is planned);
- ``[toggl 45m]``.

A directive is taken out of the message the entry's description is made from; the message as written stays in
``raw_message``. Issue keys come from the branch and the message, in that order, each once: Jira's ``ABC-123``,
GitHub's and GitLab's ``#123`` and ``GH-12``. Pure: text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = r"\d+(?:\.\d+)?\s*[wdhm]"
_SPENT = rf"{_AMOUNT}(?:\s*{_AMOUNT})*"
_SMART_TIME = re.compile(rf"(?i)(?<![\w#])#time\s+(?P<spent>{_SPENT})(?!\w|\.\d)")
_TOGGL_TIME = re.compile(rf"(?i)\[toggl\s+(?P<spent>{_SPENT})\s*\]")
_AMOUNTS = re.compile(r"(?i)(\d+(?:\.\d+)?)\s*([wdhm])")
_ISSUE = re.compile(r"(?<![\w-])(?:[A-Z][A-Z0-9]{1,9}-[1-9]\d*|#[1-9]\d*)(?![\dA-Za-z_])")
_SPACES = re.compile(r"[ \t]{2,}")
# "Fix login #time 1h." reads "Fix login." once the directive goes.
_BEFORE_STOP = re.compile(r"[ \t]+([.,;:!?])")


@dataclass(frozen=True, slots=True)
class Directives:
    """What a message says: the time spent (``"1w 2d 4h 30m"``, None when it says none), the message without the
    directives, and the issue keys."""

    time_spent: str | None
    message: str
    issues: list[str]


def read_message(message: str, branch: str | None = None) -> Directives:
    if message.startswith('Revert "'):  # quotes the reverted commit's directives: no time was spent on those
        return Directives(None, message, list(dict.fromkeys([*_issues(branch or ""), *_issues(message)])))
    spent: list[str] = []

    def take(match: re.Match[str]) -> str:
        spent.append(_normalized(match["spent"]))
        return ""

    cleaned = _TOGGL_TIME.sub(take, _SMART_TIME.sub(take, message))
    if spent:
        lines = (_BEFORE_STOP.sub(r"\1", _SPACES.sub(" ", line)).strip() for line in cleaned.splitlines())
        cleaned = "\n".join(lines).strip()
    else:
        cleaned = message
    issues = list(dict.fromkeys([*_issues(branch or ""), *_issues(cleaned)]))
    return Directives(" ".join(spent) if spent else None, cleaned, issues)


def spent_seconds(spent: str, *, hours_per_day: float = 8, days_per_week: float = 5) -> int:
    """The seconds a time spent means: ``1w 2d 4h 30m`` with weeks of ``days_per_week`` days of
    ``hours_per_day`` hours. Raises ``ValueError`` for text that is not a time spent."""
    units = {"m": 60.0, "h": 3600.0, "d": hours_per_day * 3600, "w": days_per_week * hours_per_day * 3600}
    amounts = _AMOUNTS.findall(spent)
    if not amounts or _AMOUNTS.sub("", spent).strip():
        raise ValueError(f"{spent!r} is not a time spent like 1h30m or 1w 2d 4h")
    return round(sum(float(number) * units[unit.lower()] for number, unit in amounts))


def _normalized(spent: str) -> str:
    return " ".join(f"{number}{unit.lower()}" for number, unit in _AMOUNTS.findall(spent))


def _issues(text: str) -> list[str]:
    return _ISSUE.findall(text)
