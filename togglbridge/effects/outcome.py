"""What applying an action did, as the ledger keeps it and the journal shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ADOPTED = "found the entry an interrupted attempt created"


class Notes(list[str]):
    """What applying an action says, line by line, and whether it met a timer the bridge did not start or stop
    (stopped or changed one started by hand, or found its own stopped by hand): a change ``undo`` cannot take
    back."""

    foreign: bool = False


@dataclass
class Outcome:
    result: str  # created, stopped, tagged, updated, logged, adopted, or skipped
    entry_id: int | None = None
    notes: list[str] = field(default_factory=list)
    # Not kept in the ledger: what the executor needs right after applying (``Notes.foreign``).
    foreign: bool = False
    # The entry as the action left it, for a follow-up to describe (a stop's: what ran, and how long).
    entry: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        done = {"result": self.result, "entry_id": self.entry_id, "notes": self.notes}
        return done if self.entry is None else {**done, "entry": self.entry}
