"""The well-known secrets `make run` uses when none is set, so that the example sender works at once.

Anyone can sign with them: a bridge that accepts them must never face the internet. The processes warn at start
while one is active.
"""

from __future__ import annotations

from togglbridge.settings import ENV_PREFIX, Settings

DEMO_SECRETS = {
    "github_secret": "togglbridge-demo-secret",
    "webhook_secret": "whsec_dG9nZ2xicmlkZ2UtZGVtby1zZWNyZXQ=",
}


def demo_secrets_in_use(settings: Settings) -> list[str]:
    """The variables that hold a demo secret, by name (never the value)."""
    active = []
    for field, demo in DEMO_SECRETS.items():
        secret = getattr(settings, field)
        if secret is not None and secret.get_secret_value() == demo:
            active.append(f"{ENV_PREFIX}{field.upper()}")
    return active
