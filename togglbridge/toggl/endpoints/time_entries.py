"""Time entries: listed, the running one, created, stopped, updated, deleted, bulk-patched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, Literal

from togglbridge.toggl.errors import ConflictError
from togglbridge.toggl.models import BulkUpdateResult, TimeEntry
from togglbridge.toggl.payload import UNSET, Unset, date_param, given_fields, unix
from togglbridge.toggl.transport import Transport

BULK_UPDATE_MAX_IDS: Final = 100


class TimeEntryEndpoints(Transport):
    def time_entries(
        self,
        *,
        since: datetime | int | None = None,
        before: date | datetime | str | None = None,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        meta: bool = False,
    ) -> list[TimeEntry]:
        """GET /me/time_entries. ``since`` (unix or datetime) also returns entries deleted since then."""
        params = {
            "since": unix(since) if since is not None else None,
            "before": date_param(before) if before is not None else None,
            "start_date": date_param(start_date) if start_date is not None else None,
            "end_date": date_param(end_date) if end_date is not None else None,
            "meta": "true" if meta else None,
        }
        return self._models(TimeEntry, "GET", "/me/time_entries", params=params)

    def current_time_entry(self) -> TimeEntry | None:
        """The running entry, or None when nothing runs (Toggl answers ``null``)."""
        body = self.request("GET", "/me/time_entries/current")
        return TimeEntry.model_validate(body) if body else None

    def time_entry(self, entry_id: int) -> TimeEntry:
        return self._model(TimeEntry, "GET", f"/me/time_entries/{entry_id}")

    def create_time_entry(
        self,
        workspace_id: int,
        *,
        start: datetime,
        description: str | None = None,
        duration: int | None = None,
        stop: datetime | None = None,
        project_id: int | None = None,
        task_id: int | None = None,
        tags: Sequence[str] | None = None,
        tag_ids: Sequence[int] | None = None,
        billable: bool | None = None,
        created_with: str | None = None,
    ) -> TimeEntry:
        """POST a time entry. Without ``duration`` and ``stop`` it starts a running entry (duration -1)."""
        if duration is None and stop is None:
            duration = -1
        elif duration is None and stop is not None:
            duration = int((stop - start).total_seconds())
        body = given_fields(
            workspace_id=workspace_id,
            start=start,
            duration=duration,
            created_with=created_with or self.created_with,
            stop=stop if stop is not None else UNSET,
            description=description if description is not None else UNSET,
            project_id=project_id if project_id is not None else UNSET,
            task_id=task_id if task_id is not None else UNSET,
            tags=list(tags) if tags is not None else UNSET,
            tag_ids=list(tag_ids) if tag_ids is not None else UNSET,
            billable=billable if billable is not None else UNSET,
        )
        return self._model(TimeEntry, "POST", f"/workspaces/{workspace_id}/time_entries", json_body=body)

    def stop_time_entry(
        self, workspace_id: int, entry_id: int, *, already_stopped_ok: bool = False
    ) -> TimeEntry | None:
        """PATCH .../stop. With ``already_stopped_ok``, Toggl's 409 for a stopped entry returns None."""
        try:
            return self._model(TimeEntry, "PATCH", f"/workspaces/{workspace_id}/time_entries/{entry_id}/stop")
        except ConflictError:
            if already_stopped_ok:
                return None
            raise

    def update_time_entry(
        self,
        workspace_id: int,
        entry_id: int,
        *,
        description: str | Unset | None = UNSET,
        project_id: int | Unset | None = UNSET,
        task_id: int | Unset | None = UNSET,
        billable: bool | Unset = UNSET,
        start: datetime | Unset = UNSET,
        stop: datetime | Unset | None = UNSET,
        duration: int | Unset = UNSET,
        tags: Sequence[str] | Unset = UNSET,
        tag_ids: Sequence[int] | Unset = UNSET,
        tag_action: Literal["add", "delete"] | None = None,
    ) -> TimeEntry:
        """PUT a partial update; ``tag_action`` makes ``tags``/``tag_ids`` add or delete, not replace."""
        body = given_fields(
            description=description,
            project_id=project_id,
            task_id=task_id,
            billable=billable,
            start=start,
            stop=stop,
            duration=duration,
            tags=list(tags) if not isinstance(tags, Unset) else UNSET,
            tag_ids=list(tag_ids) if not isinstance(tag_ids, Unset) else UNSET,
            tag_action=tag_action if tag_action is not None else UNSET,
        )
        return self._model(
            TimeEntry, "PUT", f"/workspaces/{workspace_id}/time_entries/{entry_id}", json_body=body
        )

    def delete_time_entry(self, workspace_id: int, entry_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/time_entries/{entry_id}")

    def bulk_update_time_entries(
        self, workspace_id: int, entry_ids: Sequence[int], operations: Sequence[Mapping[str, Any]]
    ) -> BulkUpdateResult:
        """PATCH many entries with JSON-patch ``operations``; more than 100 ids are sent in several calls."""
        result = BulkUpdateResult()
        for offset in range(0, len(entry_ids), BULK_UPDATE_MAX_IDS):
            chunk = ",".join(str(i) for i in entry_ids[offset : offset + BULK_UPDATE_MAX_IDS])
            part = self._model(
                BulkUpdateResult,
                "PATCH",
                f"/workspaces/{workspace_id}/time_entries/{chunk}",
                json_body=list(operations),
            )
            result.success.extend(part.success)
            result.failure.extend(part.failure)
        return result
