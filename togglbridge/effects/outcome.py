"""What applying an action did, as the ledger keeps it and the journal shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ADOPTED = "found the entry an interrupted attempt created"


@dataclass
class Outcome:
    result: str  # created, stopped, tagged, updated, logged, adopted, or skipped
    entry_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "entry_id": self.entry_id, "notes": self.notes}
