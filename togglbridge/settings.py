"""Process settings, read from the environment (prefix ``TOGGLBRIDGE_``) and from ``.env``.

Every secret is a ``SecretStr`` so that it never shows in a repr, a log line or an error message.
A wrong value fails at start with the variable's name and what was expected (:class:`SettingsError`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from limits import RateLimitItem

ENV_PREFIX = "TOGGLBRIDGE_"

MIN_DASHBOARD_TOKEN_CHARS = 16

TogglMode = Literal["gateway", "direct", "simulator"]


def parse_rate(value: str) -> RateLimitItem | None:
    """A rate setting: ``"1/second"``, ``"10 per second"``, ``"30/minute"``...; ``"off"`` disables."""
    if value.strip().lower() in ("off", "none", "0"):
        return None
    from limits import parse  # imported where a rate is read: the receiver never needs the library

    return parse(value)


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the variable and what is expected."""


class NoRedisURL(SettingsError):
    """TOGGLBRIDGE_REDIS_URL is unset where a process must share the Redis of other processes (a receiver
    apart from the workers, a worker apart from the receiver): an embedded Redis would be a Redis of its own."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis for queues and state. Unset: an embedded Redis server kept under DATA_DIR.",
    )
    gateway_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.maton.ai/toggl-track"),
        description="The gateway's address including the app prefix.",
    )
    gateway_key: SecretStr | None = Field(default=None, description="The gateway's API key (Bearer).")
    toggl_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.track.toggl.com"), description="Toggl's own API address."
    )
    toggl_api_token: SecretStr | None = Field(
        default=None, description="A Toggl API token, for direct access."
    )
    simulator_url: str | None = Field(
        default=None,
        description="A running simulator (togglbridge sim) to use when no Toggl credential is set.",
    )
    config_file: Path = Field(default=Path("togglbridge.yaml"), description="The rule file.")
    data_dir: Path = Field(default=Path("data"), description="Where the embedded Redis keeps its files.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest request body accepted.")
    journal_max_events: int = Field(default=10_000, gt=0, description="How many events the journal keeps.")
    http_timeout_seconds: float = Field(default=20.0, gt=0, description="Timeout of one Toggl request.")
    toggl_rate_limit: str = Field(
        default="1/second",
        description="Requests per Toggl credential, shared by all workers (e.g. 1/second, 30/minute, off).",
    )
    gateway_rate_limit: str = Field(
        default="10/second", description="Requests per gateway account, shared by all workers."
    )
    quota_reserve: int = Field(
        default=5,
        ge=0,
        description="Requests of each hourly quota kept for urgent and normal work: bulk work waits below it.",
    )
    drain_lock_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long an identity's drain lock outlives a worker that died holding it.",
    )
    discord_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://discord.com/api/v10"),
        description="Discord's API, where chat follow-ups and the /toggl command's registration go.",
    )
    dashboard_token: SecretStr | None = Field(
        default=None,
        description="Opens the dashboard (/ui, by a login page), /metrics and /api/* (as a Bearer token). Unset: "
        "they answer 404. At least 16 characters.",
    )
    clock_start: datetime | None = Field(
        default=None,
        description="For demos and tests: the calendar clock (polls, meeting triggers) starts at this instant and "
        "runs at real speed. Unset: the real time.",
    )

    # The sources' secrets are not settings: each source names its own variable (togglbridge.sources.secrets).

    @field_validator("gateway_key", "toggl_api_token", "simulator_url", "dashboard_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``VAR=`` in a .env or compose file means "not set", not "the empty secret"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("dashboard_token")
    @classmethod
    def _a_strong_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_DASHBOARD_TOKEN_CHARS:
            raise ValueError(
                f"expected at least {MIN_DASHBOARD_TOKEN_CHARS} characters, e.g. from "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("toggl_rate_limit", "gateway_rate_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError("expected a rate like 1/second, 30/minute or 10 per second, or off") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://", "redis+socket://")):
            raise ValueError("expected a URL starting with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _lock_outlives_a_request(self) -> Settings:
        if self.drain_lock_seconds <= self.http_timeout_seconds:
            raise ValueError(
                f"{ENV_PREFIX}DRAIN_LOCK_SECONDS must be longer than {ENV_PREFIX}HTTP_TIMEOUT_SECONDS, "
                "or a slow request would outlive its lock"
            )
        return self

    @cached_property
    def toggl_mode(self) -> TogglMode:
        """The gateway when its key is set, else Toggl directly with a token, else the simulator."""
        if self.gateway_key is not None:
            return "gateway"
        if self.toggl_api_token is not None:
            return "direct"
        return "simulator"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into a message that names each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            # Never echo the value back: it may be a secret.
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}" if field else error["msg"])
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
