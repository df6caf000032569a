"""How workers reach each identity's Toggl account: the gateway, Toggl directly, or the simulator.

An identity names a gateway connection or an environment variable holding its own token (the rule file never
holds a secret). Every identity's client shares one HTTP connection pool per worker process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from togglbridge.settings import Settings
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.connect import client_from_settings
from togglbridge.toggl.limiter import TogglRateLimiter, credential_key
from togglbridge.toggl.transport import RequestRecord


@dataclass(frozen=True, slots=True)
class IdentityAccount:
    """One identity's way into Toggl, as the rule file gives it."""

    connection: str | None = None  # the gateway's connection id
    token_env: str | None = None  # the environment variable holding a Toggl API token
    workspace_id: int | None = None


class MissingToken(LookupError):
    """An identity's token variable is not set in this process's environment."""


class SettingsAccess:
    """The executor's ``TogglAccess`` for real deployments and for the simulator."""

    def __init__(
        self,
        settings: Settings,
        accounts: Mapping[str, IdentityAccount],
        *,
        simulator_url: str | None = None,
        created_with: str = "togglbridge",
        limiter: TogglRateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._accounts = dict(accounts)
        self._simulator_url = simulator_url
        self._created_with = created_with
        self._limiter = limiter
        self._http = httpx.Client(
            timeout=settings.http_timeout_seconds, limits=httpx.Limits(max_connections=50)
        )

    def knows(self, identity: str) -> bool:
        return identity in self._accounts

    @property
    def simulated(self) -> bool:
        """True against the simulator, whose accounts have workspaces of their own: the rule file's
        workspace ids (real Toggl ids) are then ignored."""
        return self._settings.toggl_mode == "simulator"

    def workspace_id(self, identity: str) -> int | None:
        return None if self.simulated else self._accounts[identity].workspace_id

    def client(self, identity: str, on_request: Callable[[RequestRecord], None]) -> TogglClient:
        account = self._accounts[identity]
        token: SecretStr | None = None
        connection = account.connection
        if self._settings.toggl_mode == "simulator":
            # Each identity is its own simulated account, told apart without any secret.
            connection = account.connection or account.token_env or identity
        elif account.token_env:
            value = os.environ.get(account.token_env)
            if not value:
                raise MissingToken(
                    f"identity {identity!r}: environment variable {account.token_env} is not set"
                )
            token = SecretStr(value)
        return client_from_settings(
            self._settings,
            connection=connection,
            token=token,
            simulator_url=self._simulator_url,
            http=self._http,
            on_request=on_request,
            created_with=self._created_with,
            pace=self._pacer(connection, token),
        )

    def _pacer(self, connection: str | None, token: SecretStr | None) -> Callable[[], None] | None:
        """The pacing of one credential's requests, keyed by a hash of it (never the secret itself)."""
        limiter = self._limiter
        if limiter is None:
            return None
        settings = self._settings
        account: str | None = None
        if token is not None:
            credential = credential_key("token", token.get_secret_value())
        elif settings.toggl_mode == "gateway" and settings.gateway_key is not None:
            key = settings.gateway_key.get_secret_value()
            credential = credential_key("gateway", key, connection or "")
            account = credential_key("gateway-account", key)
        elif settings.toggl_mode == "direct" and settings.toggl_api_token is not None:
            credential = credential_key("token", settings.toggl_api_token.get_secret_value())
        else:
            credential = credential_key("simulator", connection or "")
        return lambda: limiter.pace(credential, account)

    def close(self) -> None:
        self._http.close()
