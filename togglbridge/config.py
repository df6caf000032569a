"""The user's rule file (``togglbridge.yaml``): defaults, identities, calendars, chat and rules.

The file's model is built from the rules' pure pieces (``togglbridge.rules``: a rule, its conditions and
actions); the planner reads a ``Config`` through ``togglbridge.rules.rule_file.RuleFile``, so the dependency
goes one way, from here to the rules.

``load_config`` reads and validates the whole file before anything runs, and reports every problem at once as
``FILE:LINE: what is wrong`` (``ConfigError``). Secrets are never in the file: it names environment variables
(``token_env``, ``url_env``), which are read where a credential is used, never while planning.
docs/rules.md is the reference of every key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from togglbridge.durations import Duration
from togglbridge.rules.people import EnvName, Identity, duplicate_handles
from togglbridge.rules.rule import Rule
from togglbridge.rules.strict_model import Problem, StrictModel, problems_of, suggest
from togglbridge.rules.values import parse_timezone
from togglbridge.rules.yaml_source import read_yaml
from togglbridge.sources import REGISTRY

BUILTIN_RULE_PREFIX = "builtin:"
MIN_POLL_SECONDS = 60


def _project_name_or_id(value: Any) -> int | str:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "rule_file", "should be a project name (text) or id (a number), got {value}", {"value": repr(value)}
    )


ProjectNameOrId = Annotated[
    int | str,
    PlainValidator(_project_name_or_id),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}]}),
]


class Defaults(StrictModel):
    """Values every identity and action falls back to."""

    workspace_id: int | None = Field(default=None, description="None: each user's default workspace.")
    created_with: str = Field(
        default="togglbridge", min_length=1, description="Toggl's created_with on entries."
    )
    timezone: str = Field(default="UTC", description="For time windows and times written without an offset.")
    billable: bool | None = Field(
        default=None, description="Billable for new entries; None: Toggl's default."
    )
    hours_per_day: float = Field(
        default=8, gt=0, le=24, description="A working day, for commit messages' '#time 2d' (Jira's default)."
    )
    days_per_week: float = Field(
        default=5, gt=0, le=7, description="A working week, for commit messages' '#time 1w' (Jira's default)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return parse_timezone(self.timezone)


class Calendar(StrictModel):
    """A calendar feed (ICS) polled for meetings; its events belong to ``identity``."""

    key_hints = {
        "url": "a calendar's address is a secret: put it in an environment variable, name it with url_env"
    }

    name: str = Field(min_length=1)
    identity: str
    url_env: EnvName | None = Field(
        default=None, description="The variable holding the calendar's secret ICS address."
    )
    caldav_url_env: EnvName | None = Field(
        default=None, description="Instead of url_env: the variable holding the CalDAV calendar's URL."
    )
    username_env: EnvName | None = Field(
        default=None, description="With caldav_url_env: the user name's variable."
    )
    password_env: EnvName | None = Field(
        default=None, description="With caldav_url_env: the variable holding the (app) password."
    )
    mode: Literal["live", "log"] = Field(
        default="live", description="live: events at a meeting's start and end; log: one event after its end."
    )
    poll_every: Duration = Field(default=300, description="How often the feed is read; at least 1m.")
    include: list[Literal["all_day", "free", "declined"]] = Field(
        default_factory=list,
        description="What rules see beyond busy, timed meetings the identity has not declined: all-day events, "
        "free time (TRANSP:TRANSPARENT), declined meetings.",
    )
    on_cancel: Literal["delete", "stop", "keep"] = Field(
        default="delete",
        description="A meeting cancelled, deleted or declined after its entry exists: its running entry is stopped "
        "(delete, stop) and a finished one deleted (delete) or kept (stop); keep leaves the entry alone.",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _one_address(self) -> Calendar:
        if (self.url_env is None) == (self.caldav_url_env is None):
            raise PydanticCustomError(
                "rule_file",
                "give exactly one of url_env (an ICS address) and caldav_url_env (a CalDAV calendar's URL)",
            )
        if self.url_env is not None and (self.username_env or self.password_env):
            raise PydanticCustomError(
                "rule_file", "username_env and password_env go with caldav_url_env, not with url_env"
            )
        return self

    @property
    def address_env(self) -> str:
        """The variable that holds the calendar's address, whichever kind it is."""
        return self.url_env or self.caldav_url_env or ""

    @property
    def variables(self) -> list[str]:
        """Every variable the calendar needs set: its address, and a CalDAV account's credentials."""
        return [v for v in (self.address_env, self.username_env, self.password_env) if v]

    @field_validator("poll_every")
    @classmethod
    def _not_too_often(cls, seconds: int) -> int:
        if seconds < MIN_POLL_SECONDS:
            raise PydanticCustomError("rule_file", "should be 1m or more: calendar servers limit polling too")
        return seconds


class ChatSettings(StrictModel):
    """The built-in ``/toggl`` commands (start, stop, status, help)."""

    enabled: bool = True
    platforms: list[str] | None = Field(
        default=None,
        description="Where the built-in commands apply (chat sources); None: every chat platform.",
    )
    project: ProjectNameOrId | None = Field(default=None, description="For /toggl start without @project.")
    tags: list[str] = Field(default_factory=list, description="Added to every entry started from chat.")
    billable: bool | None = Field(default=None, description="For /toggl start without $; None: defaults'.")
    reply: Literal["ephemeral", "in_channel"] = Field(
        default="ephemeral",
        description="Who sees what became of a command: only the person who typed it, or the whole channel.",
    )

    @field_validator("platforms")
    @classmethod
    def _chat_platforms(cls, platforms: list[str] | None) -> list[str] | None:
        known = REGISTRY.chat_platforms
        for platform in platforms or []:
            if platform not in known:
                raise PydanticCustomError(
                    "rule_file",
                    f"'{platform}' is not a chat platform{suggest(platform, known)} (chat platforms: "
                    f"{', '.join(known)})",
                )
        return platforms


class Config(StrictModel):
    """The whole rule file."""

    defaults: Defaults = Field(default_factory=Defaults)
    identities: dict[str, Identity] = Field(default_factory=dict)
    calendars: list[Calendar] = Field(default_factory=list)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    rules: list[Rule] = Field(default_factory=list)

    _handle_index: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        self._handle_index = {
            pair: name for name, identity in self.identities.items() for pair in identity.handles()
        }

    def identity_for_handle(self, where: str, handle: str) -> str | None:
        """The identity listing ``handle`` under ``where`` (a platform, "email" or "alias")."""
        return self._handle_index.get((where, handle.lower()))

    def calendar(self, name: str) -> Calendar | None:
        return next((calendar for calendar in self.calendars if calendar.name == name), None)

    def summary(self) -> str:
        """ "2 identities, 1 calendar, 5 rules"."""
        counts = [
            (len(self.identities), "identity", "identities"),
            (len(self.calendars), "calendar", "calendars"),
        ]
        counts.append((len(self.rules), "rule", "rules"))
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> list[Problem]:
        return _cross_check(data)


def _cross_check(data: dict[str, Any]) -> list[Problem]:
    """Names used twice and references to names never defined, read from the raw data with care: any part may
    be of the wrong type, which the models report on their own."""
    problems: list[Problem] = []
    identities = data.get("identities")
    identity_names = list(identities) if isinstance(identities, dict) else []
    problems += duplicate_handles(identities if isinstance(identities, dict) else {})

    calendars = data.get("calendars")
    calendar_names: list[str] = []
    for index, calendar in enumerate(calendars if isinstance(calendars, list) else []):
        if not isinstance(calendar, dict):
            continue
        name, identity = calendar.get("name"), calendar.get("identity")
        if isinstance(name, str):
            if name in calendar_names:
                problems.append((("calendars", index, "name"), f"another calendar is already named '{name}'"))
            calendar_names.append(name)
        if isinstance(identity, str) and identity not in identity_names:
            problems.append(
                (("calendars", index, "identity"), _undefined("identity", identity, identity_names))
            )

    rules = data.get("rules")
    rule_names: list[str] = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        name = rule.get("name")
        if isinstance(name, str):
            if name in rule_names:
                problems.append((("rules", index, "name"), f"another rule is already named '{name}'"))
            if name.startswith(BUILTIN_RULE_PREFIX):
                problems.append(
                    (("rules", index, "name"), f"names starting with '{BUILTIN_RULE_PREFIX}' are ours")
                )
            rule_names.append(name)
        for field, defined, noun in (
            ("identities", identity_names, "identity"),
            ("calendars", calendar_names, "calendar"),
        ):
            named = rule.get(field)
            for position, item in enumerate(named if isinstance(named, list) else []):
                if isinstance(item, str) and item not in defined:
                    problems.append((("rules", index, field, position), _undefined(noun, item, defined)))
    return problems


def _undefined(noun: str, name: str, defined: list[str]) -> str:
    plural = "identities" if noun == "identity" else f"{noun}s"
    listed = f"defined: {', '.join(defined)}" if defined else f"none is defined under {plural}"
    return f"no {noun} is named '{name}'{suggest(name, defined)} ({listed})"


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in the file: ``FILE:LINE: what is wrong``."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line is not None
            else f"{self.file}: {self.message}"
        )


class ConfigError(Exception):
    """The file is not usable; ``errors`` holds every problem found, in line order."""

    def __init__(self, errors: list[ConfigProblem]) -> None:
        self.errors = sorted(errors, key=lambda problem: (problem.line or 0, problem.message))
        super().__init__("\n".join(str(problem) for problem in self.errors))


def load_config(path: str | Path) -> Config:
    """Read and validate the rule file at ``path``; raises ConfigError."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(filename, None, f"is not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(filename, None, f"cannot read the file: {exc.strerror}")]) from None
    return parse_config(text, filename)


def parse_config(text: str, filename: str = "<config>") -> Config:
    """Validate ``text`` as a rule file; problems name ``filename`` and their lines. Raises ConfigError."""
    document, yaml_problems = read_yaml(text)
    problems = [ConfigProblem(filename, problem.line, problem.message) for problem in yaml_problems]
    if document is None:
        raise ConfigError(problems)
    data = {} if document.data is None else document.data
    if not isinstance(data, dict):
        problems.append(
            ConfigProblem(
                filename, 1, "the file must be a mapping with defaults, identities, calendars, chat, rules"
            )
        )
        raise ConfigError(problems)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for location, message in problems_of(exc):
            problems.append(
                ConfigProblem(filename, document.line_of(location), f"{_dotted(location)}: {message}")
            )
    if problems:
        raise ConfigError(problems)
    return config


def _dotted(location: tuple[str | int, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def config_json_schema() -> dict[str, Any]:
    """A JSON Schema of the rule file, for editors (YAML language servers) to complete and check it."""
    schema = Config.model_json_schema(by_alias=True)
    identity = schema.get("$defs", {}).get("Identity", {})
    identity.setdefault("properties", {}).update(
        {
            platform: {"type": "array", "items": {"type": "string"}, "description": handle.description}
            for platform, handle in REGISTRY.handles.items()
        }
    )
    identity["additionalProperties"] = False
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "togglbridge rule file",
        **{key: value for key, value in schema.items() if key != "title"},
    }
