"""An event's story, from its journal records: the delivery, whose it is and why, each rule's verdict, and what
became of each action with every Toggl request. Pure: records in, a view out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTION_STAGES = ("applied", "skipped", "healed", "retry", "parked", "held", "dead")
FINAL_STAGES = frozenset({"applied", "skipped", "dead"})


@dataclass
class ActionStory:
    """One planned action and everything that happened to it, in order."""

    key: str
    type: str
    rule: str
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> str:
        """What became of it so far: the last step's stage, or ``waiting``."""
        return str(self.steps[-1]["stage"]) if self.steps else "waiting"

    @property
    def entry_id(self) -> int | None:
        for step in reversed(self.steps):
            if isinstance(step.get("entry_id"), int):
                return int(step["entry_id"])
        return None

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [request for step in self.steps for request in step.get("requests") or []]


@dataclass
class Story:
    received: dict[str, Any]
    planned: dict[str, Any] | None
    actions: list[ActionStory]
    other: list[dict[str, Any]]  # records of stages this view does not know: shown as they are

    @property
    def toggl_requests(self) -> int:
        return sum(len(action.requests) for action in self.actions)


def story(records: list[dict[str, Any]]) -> Story:
    """The story of one event from its records (oldest first, as the journal keeps them)."""
    received = next((r for r in records if r.get("stage") == "received"), records[0] if records else {})
    planned = next((r for r in records if r.get("stage") == "planned"), None)
    actions = {
        str(a.get("key")): ActionStory(str(a.get("key")), str(a.get("type", "")), str(a.get("rule", "")))
        for a in (planned or {}).get("actions") or []
    }
    other = []
    for record in records:
        stage = record.get("stage")
        if stage in ("received", "planned"):
            continue
        key = record.get("action")
        if stage in ACTION_STAGES and isinstance(key, str):
            actions.setdefault(
                key, ActionStory(key, str(record.get("type", "")), str(record.get("rule", "")))
            )
            actions[key].steps.append(record)
        else:
            other.append(record)
    return Story(received=received, planned=planned, actions=list(actions.values()), other=other)


def shown_value(value: Any) -> str:
    """A compared value as a person reads it: strings bare, lists comma-separated, nothing as "(none)"."""
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(shown_value(item) for item in value) or "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
