"""A workspace's projects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal

from togglbridge.toggl.models import Project
from togglbridge.toggl.payload import UNSET, Unset, given_fields
from togglbridge.toggl.transport import Transport

PROJECTS_MAX_PER_PAGE: Final = 200


class ProjectEndpoints(Transport):
    def projects(
        self,
        workspace_id: int,
        *,
        active: bool | Literal["both"] | None = None,
        name: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> list[Project]:
        """One page of projects (Toggl's default page size is 151, at most 200)."""
        params = {
            "active": ("true" if active else "false") if isinstance(active, bool) else active,
            "name": name,
            "page": page,
            "per_page": per_page,
        }
        return self._models(Project, "GET", f"/workspaces/{workspace_id}/projects", params=params)

    def iter_projects(
        self,
        workspace_id: int,
        *,
        active: bool | Literal["both"] | None = None,
        per_page: int = PROJECTS_MAX_PER_PAGE,
    ) -> Iterator[Project]:
        """Every project, page after page, until a page comes back short."""
        page = 1
        while True:
            batch = self.projects(workspace_id, active=active, page=page, per_page=per_page)
            yield from batch
            if len(batch) < per_page:
                return
            page += 1

    def project(self, workspace_id: int, project_id: int) -> Project:
        return self._model(Project, "GET", f"/workspaces/{workspace_id}/projects/{project_id}")

    def create_project(
        self,
        workspace_id: int,
        name: str,
        *,
        client_id: int | None = None,
        is_private: bool | None = None,
        billable: bool | None = None,
        color: str | None = None,
        active: bool | None = None,
    ) -> Project:
        body = {
            k: v
            for k, v in {
                "name": name,
                "client_id": client_id,
                "is_private": is_private,
                "billable": billable,
                "color": color,
                "active": active,
            }.items()
            if v is not None
        }
        return self._model(Project, "POST", f"/workspaces/{workspace_id}/projects", json_body=body)

    def update_project(
        self,
        workspace_id: int,
        project_id: int,
        *,
        name: str | Unset = UNSET,
        client_id: int | Unset | None = UNSET,
        is_private: bool | Unset = UNSET,
        billable: bool | Unset = UNSET,
        color: str | Unset = UNSET,
        active: bool | Unset = UNSET,
    ) -> Project:
        body = given_fields(
            name=name,
            client_id=client_id,
            is_private=is_private,
            billable=billable,
            color=color,
            active=active,
        )
        return self._model(
            Project, "PUT", f"/workspaces/{workspace_id}/projects/{project_id}", json_body=body
        )

    def delete_project(self, workspace_id: int, project_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/projects/{project_id}")
