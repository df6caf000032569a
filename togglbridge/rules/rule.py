"""One rule of the rule file: on an event of these kinds, if the condition holds, do these actions."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from togglbridge.events import Priority
from togglbridge.rules.conditions import Condition, field_tests
from togglbridge.rules.fields import rule_field_problems
from togglbridge.rules.operators import check_glob
from togglbridge.rules.specs import ActionItem
from togglbridge.rules.strict_model import Problem, StrictModel, problems_error, suggest
from togglbridge.sources import REGISTRY


def _kinds_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_kind_patterns(patterns: list[str]) -> list[str]:
    problems: list[Problem] = []
    for index, pattern in enumerate(patterns):
        try:
            _check_kind_pattern(pattern)
        except ValueError as exc:
            problems.append(((index,), str(exc)))
    if problems:
        raise problems_error("on", problems, patterns)
    return patterns


def _check_kind_pattern(pattern: str) -> None:
    if not pattern or any(char.isspace() for char in pattern):
        raise ValueError(
            f"'{pattern}' is not a kind: kinds are dotted words like git.commit, with globs like git.*"
        )
    check_glob(pattern)
    namespace = pattern.split(".", 1)[0]
    known_kinds = REGISTRY.known_kinds
    if namespace in REGISTRY.builtin_namespaces and not any(fnmatchcase(k, pattern) for k in known_kinds):
        known = [kind for kind in known_kinds if kind.startswith(namespace + ".")]
        raise ValueError(
            f"no event has kind '{pattern}'{suggest(pattern, known)} ({namespace}. kinds: {', '.join(known)})"
        )


KindPatterns = Annotated[
    list[str],
    BeforeValidator(_kinds_list),
    Field(min_length=1),
    AfterValidator(_check_kind_patterns),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
    ),
]


class Rule(StrictModel):
    """On an event of these kinds, if the condition holds, do these actions."""

    name: str = Field(min_length=1, description="Unique; part of every action's idempotency key.")
    on: KindPatterns = Field(
        description="Event kinds, with globs: calendar.started, [git.commit, git.push], git.*"
    )
    if_: Condition | None = Field(
        default=None, alias="if", description="When absent, every event of the kinds."
    )
    do: list[ActionItem] = Field(
        default_factory=list, description="Empty with stop: true swallows the event."
    )
    stop: bool = Field(default=False, description="When this rule matches, later rules are not evaluated.")
    enabled: bool = True
    priority: Priority | None = Field(default=None, description="Overrides the event kind's priority.")
    identities: list[str] | None = Field(default=None, description="Only events of these identities.")
    calendars: list[str] | None = Field(default=None, description="Only events of these calendars.")

    @model_validator(mode="after")
    def _reads_only_fields_its_events_have(self) -> Rule:
        problems = rule_field_problems(self.on, self.if_, self.do)
        if problems:
            raise problems_error("Rule", problems)
        return self

    def matches_kind(self, kind: str) -> bool:
        return any(fnmatchcase(kind, pattern) for pattern in self.on)

    def tests_field(self, name: str) -> bool:
        """Whether the rule's condition looks at data field ``name`` (``merge``, ``data.merge``)."""
        return any(test.path.data_keys == (name,) for test in field_tests(self.if_))
