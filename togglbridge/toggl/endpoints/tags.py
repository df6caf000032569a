"""A workspace's tags."""

from __future__ import annotations

from togglbridge.toggl.models import Tag
from togglbridge.toggl.transport import Transport


class TagEndpoints(Transport):
    def tags(
        self,
        workspace_id: int,
        *,
        search: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> list[Tag]:
        return self._models(
            Tag,
            "GET",
            f"/workspaces/{workspace_id}/tags",
            params={"search": search, "page": page, "per_page": per_page},
        )

    def create_tag(self, workspace_id: int, name: str) -> Tag:
        """Explicit tag creation may be admin-only (403); naming a tag on an entry creates it implicitly."""
        return self._model(
            Tag,
            "POST",
            f"/workspaces/{workspace_id}/tags",
            json_body={"name": name, "workspace_id": workspace_id},
        )

    def update_tag(self, workspace_id: int, tag_id: int, name: str) -> Tag:
        return self._model(
            Tag,
            "PUT",
            f"/workspaces/{workspace_id}/tags/{tag_id}",
            json_body={"name": name, "workspace_id": workspace_id},
        )

    def delete_tag(self, workspace_id: int, tag_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/tags/{tag_id}")
