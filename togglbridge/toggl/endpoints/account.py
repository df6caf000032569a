"""The user and their workspaces."""

from __future__ import annotations

from togglbridge.toggl.models import User, Workspace, WorkspaceUser
from togglbridge.toggl.transport import Transport


class AccountEndpoints(Transport):
    def me(self) -> User:
        """GET /me. Counts against the 30/hour ``/me`` quota on every plan: call once and cache."""
        return self._model(User, "GET", "/me")

    def workspaces(self) -> list[Workspace]:
        return self._models(Workspace, "GET", "/me/workspaces")

    def workspace(self, workspace_id: int) -> Workspace:
        return self._model(Workspace, "GET", f"/workspaces/{workspace_id}")

    def workspace_users(self, workspace_id: int) -> list[WorkspaceUser]:
        return self._models(WorkspaceUser, "GET", f"/workspaces/{workspace_id}/users")
