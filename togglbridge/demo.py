"""The well-known secrets `make run` uses when none is set, so that the example sender works at once.

Anyone can sign with them: a bridge that accepts them must never face the internet. The processes warn at start
while one is active.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

DEMO_SECRETS = {
    "github": "togglbridge-demo-secret",
    "generic": "whsec_dG9nZ2xicmlkZ2UtZGVtby1zZWNyZXQ=",
}
"""Source name -> its demo secret."""


def demo_secrets_in_use(secrets: Mapping[str, SecretStr]) -> list[str]:
    """The sources whose secret is the demo's, by name (never the value)."""
    return [
        name
        for name, demo in DEMO_SECRETS.items()
        if name in secrets and secrets[name].get_secret_value() == demo
    ]
