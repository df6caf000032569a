"""The rule file's people: identities, their handles in every tool, and their way into Toggl.

An identity lists its actors per platform (``github: [login]``, ``slack: [U024BE7LH]``): the handle lists are the
sources registry's (``togglbridge.sources.REGISTRY.handles``), kept as extra keys of the model so that a new
source's list needs no field here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from togglbridge.rules.strict_model import Problem, StrictModel
from togglbridge.sources import REGISTRY

ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: Any) -> str:
    if isinstance(value, str) and ENV_NAME_PATTERN.match(value):
        return value
    raise PydanticCustomError(
        "rule_file",
        "should be the name of an environment variable that holds the secret (like ALICE_TOGGL_TOKEN), got {value}",
        {"value": repr(value)},
    )


EnvName = Annotated[
    str,
    PlainValidator(_env_name),
    WithJsonSchema(
        {"type": "string", "pattern": ENV_NAME_PATTERN.pattern, "description": "An environment variable."}
    ),
]

USE_ENV_HINT = (
    "secrets are never in this file: put it in an environment variable and name that with token_env"
)


class TogglCredential(StrictModel):
    """How to reach the identity's Toggl account: a gateway connection, or a token from the environment."""

    key_hints = {"token": USE_ENV_HINT, "api_token": USE_ENV_HINT, "password": USE_ENV_HINT}

    connection: str | None = Field(default=None, min_length=1, description="The gateway's connection id.")
    token_env: EnvName | None = Field(default=None, description="The variable holding a Toggl API token.")

    @model_validator(mode="after")
    def _exactly_one(self) -> TogglCredential:
        if (self.connection is None) == (self.token_env is None):
            raise PydanticCustomError(
                "rule_file",
                "give exactly one of connection (gateway) and token_env (direct), e.g. {token_env: X}",
            )
        return self


class Identity(StrictModel):
    """A person (or service) and their handles in every tool, mapped to one Toggl account."""

    key_hints = {
        "token": USE_ENV_HINT,
        "api_token": USE_ENV_HINT,
        "token_env": "write it under toggl: {token_env: ...}",
    }

    toggl: TogglCredential | None = Field(
        default=None, description="None: the process's own Toggl settings (gateway, token, or the simulator)."
    )
    workspace_id: int | None = None
    emails: list[str] = Field(
        default_factory=list, description="Matched case-insensitively, from every source."
    )
    aliases: list[str] = Field(default_factory=list, description="Any other actor, from any source.")
    # And one list per platform the sources name (github: [login], slack: [U024BE7LH]...): the registry's handle
    # lists, kept as extra keys so that a new source's list needs no field here.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    @classmethod
    def known_keys(cls) -> list[str]:
        return [*super().known_keys(), *REGISTRY.handles]

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        for platform in REGISTRY.handles:
            value = data.get(platform)
            if value is None:
                continue
            if not isinstance(value, list):
                problems.append(((platform,), f"should be a list, e.g. {platform}: [alice], got {value!r}"))
                continue
            problems += [
                ((platform, index), f"should be a name (text), got {item!r}")
                for index, item in enumerate(value)
                if not isinstance(item, str) or not item.strip()
            ]
        return problems

    def handle_list(self, platform: str) -> list[str]:
        """The identity's handles on ``platform`` (its ``github:`` list, say)."""
        listed = (self.model_extra or {}).get(platform)
        return list(listed) if isinstance(listed, list) else []

    def handles(self) -> list[tuple[str, str]]:
        """(where, handle) pairs: where is a platform, "email" or "alias"; handles are lower-cased."""
        pairs = [("email", email.lower()) for email in self.emails] + [
            ("alias", a.lower()) for a in self.aliases
        ]
        for platform in REGISTRY.handles:
            pairs += [(platform, handle.lower()) for handle in self.handle_list(platform)]
        return pairs


def duplicate_handles(identities: dict[str, Any]) -> list[Problem]:
    """One handle under two identities would make an event's owner depend on file order: refuse it."""
    owners: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for name, identity in identities.items():
        if not isinstance(identity, dict):
            continue
        for field in ("emails", "aliases", *REGISTRY.handles):
            where = {"emails": "email", "aliases": "alias"}.get(field, field)
            handles = identity.get(field)
            for position, handle in enumerate(handles if isinstance(handles, list) else []):
                if not isinstance(handle, str):
                    continue
                owner = owners.setdefault((where, handle.lower()), name)
                if owner != name:
                    problems.append(
                        (
                            ("identities", name, field, position),
                            f"'{handle}' is also listed under identity '{owner}'",
                        )
                    )
    return problems
