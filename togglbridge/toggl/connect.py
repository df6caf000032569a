"""Building a ``TogglClient`` from the process settings: the gateway, Toggl directly, or the simulator."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from togglbridge.settings import Settings
from togglbridge.toggl.client import TogglClient

# The simulator accepts any bearer key; this one only marks requests as the embedded default's.
SIMULATOR_KEY = SecretStr("simulator")


def client_from_settings(
    settings: Settings,
    *,
    connection: str | None = None,
    token: SecretStr | None = None,
    simulator_url: str | None = None,
    **options: Any,
) -> TogglClient:
    """A client for one identity: its gateway ``connection`` or its own ``token``, else the process default.

    ``simulator_url`` (the simulator's base address) is used when the settings name no Toggl credential.
    """
    options.setdefault("timeout", settings.http_timeout_seconds)
    if token is not None:
        return TogglClient.direct(str(settings.toggl_api_url), token, **options)
    if settings.gateway_key is not None:
        return TogglClient.via_gateway(str(settings.gateway_url), settings.gateway_key, connection, **options)
    if settings.toggl_api_token is not None:
        return TogglClient.direct(str(settings.toggl_api_url), settings.toggl_api_token, **options)
    if simulator_url is None:
        raise ValueError(
            "no Toggl credential: set TOGGLBRIDGE_GATEWAY_KEY (the gateway) or TOGGLBRIDGE_TOGGL_API_TOKEN "
            "(Toggl directly), or run against the simulator"
        )
    return TogglClient.via_gateway(
        simulator_url.rstrip("/") + "/toggl-track", SIMULATOR_KEY, connection, **options
    )
