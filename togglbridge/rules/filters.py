"""Template filters for turning event fields into entry descriptions, projects and tags."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from togglbridge.durations import format_duration

_ISSUE_KEY = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Z0-9]{0,9}-[1-9][0-9]*|#[1-9][0-9]*)(?![A-Za-z0-9])")


def first_line(value: Any) -> str:
    """The first non-blank line, stripped: a commit message's subject."""
    for line in str(value).splitlines():
        if line.strip():
            return line.strip()
    return ""


def truncate(value: Any, length: int = 80, end: str = "…") -> str:
    """At most ``length`` characters, ``end`` included when it had to cut (unlike Jinja's, no leeway)."""
    text = str(value)
    if length < len(end) + 1:
        raise ValueError(f"truncate needs a length of at least {len(end) + 1}")
    return text if len(text) <= length else text[: length - len(end)].rstrip() + end


def issue_keys(value: Any) -> list[str]:
    """Issue references in order, once each: Jira-style ``ABC-123`` and GitHub-style ``#123``."""
    found: list[str] = []
    for key in _ISSUE_KEY.findall(str(value)):
        if key not in found:
            found.append(key)
    return found


def slug(value: Any) -> str:
    """Lower-case ASCII words joined by dashes: "Café Review #2" -> "cafe-review-2"."""
    ascii_text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def duration(value: Any) -> str:
    """Seconds as people read them: 5400 -> "1h 30m"."""
    if isinstance(value, bool):
        raise ValueError(f"duration needs a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"duration needs a number of seconds, got {value!r}") from None
    return format_duration(seconds)


FILTERS = {
    "first_line": first_line,
    "truncate": truncate,
    "issue_keys": issue_keys,
    "slug": slug,
    "duration": duration,
}
