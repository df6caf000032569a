"""The rule tester: a pasted event, or a raw delivery of a source, explained against the rule file, as
``togglbridge explain`` does. Nothing is queued and nothing reaches Toggl."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.rules.deliveries import delivery_events, recognizing_sources
from togglbridge.rules.planner import plan
from togglbridge.sources import SOURCES, SourceError

MAX_TESTED_BYTES = 1024 * 1024


@dataclass
class TesterResult:
    problems: list[str] = field(default_factory=list)  # why nothing could be explained
    plans: list[dict[str, Any]] = field(default_factory=list)  # each event's plan, as JSON

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_headers(text: str) -> tuple[dict[str, str], list[str]]:
    """``Name: value`` lines; a line without a colon is a problem."""
    headers: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            problems.append(f"header line {number}: write Name: value, e.g. X-GitHub-Event: push")
            continue
        headers[name.strip()] = value.strip()
    return headers, problems


def tester_result(
    body: str, source: str, header_text: str, config: Config | None, config_problem: str | None
) -> TesterResult:
    if config is None:
        return TesterResult(problems=[config_problem or "the rule file cannot be read"])
    raw = body.encode()
    if not raw.strip():
        return TesterResult(problems=["paste an event (JSON), or a raw delivery and choose its source"])
    if len(raw) > MAX_TESTED_BYTES:
        return TesterResult(problems=[f"the body is larger than {MAX_TESTED_BYTES} bytes"])
    headers, problems = parse_headers(header_text)
    if problems:
        return TesterResult(problems=problems)
    if source:
        events, problems = _delivery(raw, source, headers)
    else:
        events, problems = _event(raw)
    if problems:
        return TesterResult(problems=problems)
    return TesterResult(plans=[plan(event, config).model_dump(mode="json") for event in events])


def _delivery(raw: bytes, source_name: str, headers: dict[str, str]) -> tuple[list[Event], list[str]]:
    source = SOURCES.get(source_name)
    if source is None:
        return [], [f"no source is named {source_name!r} (sources: {', '.join(sorted(SOURCES))})"]
    try:
        events = delivery_events(source, raw, headers)
    except SourceError as exc:
        return [], [f"not a {source_name} delivery: {exc}"]
    if not events:
        return [], [f"this {source_name} delivery gives no events: nothing to explain"]
    return events, []


def _event(raw: bytes) -> tuple[list[Event], list[str]]:
    try:
        return [Event.model_validate_json(raw)], []
    except ValidationError as exc:
        sources = recognizing_sources(raw)
        if sources:
            return [], [
                f"not an event, but it looks like a raw {' or '.join(sources)} delivery: choose its source above"
            ]
        return [], [
            f"{'.'.join(str(part) for part in error['loc']) or '(the document)'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        ]
