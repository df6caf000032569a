"""A workspace's clients (the customers projects belong to)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from togglbridge.toggl.models import Client
from togglbridge.toggl.payload import UNSET, Unset, given_fields
from togglbridge.toggl.transport import Transport


class ClientEndpoints(Transport):
    def clients(
        self,
        workspace_id: int,
        *,
        status: Literal["active", "archived", "both"] | None = None,
        name: str | None = None,
    ) -> list[Client]:
        return self._models(
            Client, "GET", f"/workspaces/{workspace_id}/clients", params={"status": status, "name": name}
        )

    def client(self, workspace_id: int, client_id: int) -> Client:
        return self._model(Client, "GET", f"/workspaces/{workspace_id}/clients/{client_id}")

    def create_client(self, workspace_id: int, name: str, *, notes: str | None = None) -> Client:
        body = {"name": name, "wid": workspace_id} | ({"notes": notes} if notes is not None else {})
        return self._model(Client, "POST", f"/workspaces/{workspace_id}/clients", json_body=body)

    def update_client(
        self,
        workspace_id: int,
        client_id: int,
        *,
        name: str | Unset = UNSET,
        notes: str | Unset | None = UNSET,
    ) -> Client:
        return self._model(
            Client,
            "PUT",
            f"/workspaces/{workspace_id}/clients/{client_id}",
            json_body=given_fields(name=name, notes=notes),
        )

    def delete_client(self, workspace_id: int, client_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/clients/{client_id}")

    def archive_client(self, workspace_id: int, client_id: int) -> list[int]:
        """Archive a client (and its projects); Toggl answers the ids of the projects it archived."""
        body = self.request("POST", f"/workspaces/{workspace_id}/clients/{client_id}/archive")
        return [int(i) for i in body] if isinstance(body, list) else []

    def restore_client(
        self,
        workspace_id: int,
        client_id: int,
        *,
        restore_all_projects: bool = False,
        projects: Sequence[int] | None = None,
    ) -> Client:
        body = {"restore_all_projects": restore_all_projects, "projects": list(projects or [])}
        return self._model(
            Client, "POST", f"/workspaces/{workspace_id}/clients/{client_id}/restore", json_body=body
        )
