"""Everything a worker process needs, built once per process from the settings and the rule file."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from togglbridge.config import Config, load_config
from togglbridge.executor import Executor
from togglbridge.settings import NoRedisURL, Settings, load_settings
from togglbridge.store.journal import Journal
from togglbridge.toggl.access import IdentityAccount, SettingsAccess
from togglbridge.toggl.limiter import TogglRateLimiter


def accounts_from_config(config: Config) -> dict[str, IdentityAccount]:
    """Each identity's way into Toggl; the file's default workspace applies where an identity names none."""
    accounts = {}
    for name, identity in config.identities.items():
        credential = identity.toggl
        accounts[name] = IdentityAccount(
            connection=credential.connection if credential else None,
            token_env=credential.token_env if credential else None,
            workspace_id=identity.workspace_id or config.defaults.workspace_id,
        )
    return accounts


class NoToggl(Exception):
    """No way to Toggl: no credential and no simulator."""


@dataclass
class Runtime:
    settings: Settings
    config: Config
    redis: redis.Redis
    journal: Journal
    access: SettingsAccess
    executor: Executor

    @classmethod
    def build(cls, settings: Settings | None = None, config: Config | None = None) -> Runtime:
        settings = settings or load_settings()
        if not settings.redis_url:
            raise NoRedisURL("TOGGLBRIDGE_REDIS_URL must name the Redis the receiver writes to")
        if settings.toggl_mode == "simulator" and not settings.simulator_url:
            raise NoToggl(
                "no Toggl credential: set TOGGLBRIDGE_GATEWAY_KEY (gateway) or TOGGLBRIDGE_TOGGL_API_TOKEN "
                "(direct), or TOGGLBRIDGE_SIMULATOR_URL to a running `togglbridge sim`"
            )
        config = config or load_config(settings.config_file)
        client = redis.Redis.from_url(settings.redis_url, health_check_interval=30)
        journal = Journal(client, cap=settings.journal_max_events)
        access = SettingsAccess(
            settings,
            accounts_from_config(config),
            simulator_url=settings.simulator_url,
            created_with=config.defaults.created_with,
            limiter=TogglRateLimiter(
                settings.redis_url,
                per_credential=settings.toggl_rate_limit,
                per_gateway_account=settings.gateway_rate_limit,
            ),
        )
        executor = Executor(
            client,
            access,
            journal,
            lock_timeout=settings.drain_lock_seconds,
            quota_reserve=settings.quota_reserve,
        )
        return cls(settings, config, client, journal, access, executor)


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This process's runtime, built on first use (after a prefork worker forked, never before)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.build()
    return _runtime
