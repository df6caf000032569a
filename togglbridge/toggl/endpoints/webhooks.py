"""Toggl's webhooks API v1 (``/webhooks/api/v1`` on the API's host): a workspace's subscriptions."""

from __future__ import annotations

from collections.abc import Sequence

from togglbridge.toggl.models import EventFilter, WebhookSubscription
from togglbridge.toggl.transport import Transport

WEBHOOKS_PREFIX = "/webhooks/api/v1"


class WebhookEndpoints(Transport):
    def webhook_subscriptions(self, workspace_id: int) -> list[WebhookSubscription]:
        raw = self.request("GET", f"/subscriptions/{workspace_id}", prefix=WEBHOOKS_PREFIX) or []
        return [WebhookSubscription.model_validate(item) for item in raw]

    def create_webhook_subscription(
        self,
        workspace_id: int,
        *,
        url_callback: str,
        event_filters: Sequence[EventFilter],
        secret: str,
        description: str,
        enabled: bool = True,
    ) -> WebhookSubscription:
        """Toggl validates the URL with a ping (``validation_code``) the receiver answers."""
        body = {
            "url_callback": url_callback,
            "event_filters": [f.model_dump() for f in event_filters],
            "secret": secret,
            "description": description,
            "enabled": enabled,
        }
        return WebhookSubscription.model_validate(
            self.request("POST", f"/subscriptions/{workspace_id}", json_body=body, prefix=WEBHOOKS_PREFIX)
        )

    def delete_webhook_subscription(self, workspace_id: int, subscription_id: int) -> None:
        self.request("DELETE", f"/subscriptions/{workspace_id}/{subscription_id}", prefix=WEBHOOKS_PREFIX)
