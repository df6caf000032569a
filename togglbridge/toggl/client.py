"""``TogglClient``: one method per endpoint of the gateway's routing reference for Toggl Track v9.

The transport (``transport``: credentials, the request, the error an answer means) is shared; the endpoints are
grouped by resource in ``endpoints``. One instance per credential. Several instances may share one
``httpx.Client`` (``http=``) so that all identities of a worker reuse the same connection pool.
"""

from __future__ import annotations

from togglbridge.toggl.endpoints.account import AccountEndpoints
from togglbridge.toggl.endpoints.clients import ClientEndpoints
from togglbridge.toggl.endpoints.projects import ProjectEndpoints
from togglbridge.toggl.endpoints.tags import TagEndpoints
from togglbridge.toggl.endpoints.time_entries import TimeEntryEndpoints
from togglbridge.toggl.endpoints.webhooks import WebhookEndpoints


class TogglClient(
    AccountEndpoints, TimeEntryEndpoints, ProjectEndpoints, ClientEndpoints, TagEndpoints, WebhookEndpoints
):
    """A synchronous client for Toggl Track v9, through the gateway or directly."""
