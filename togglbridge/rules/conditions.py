"""A rule's ``if``: conditions as data, compiled when the file loads and evaluated against an event.

The grammar (docs/rules.md has the long version):

- ``{field: value}`` tests a field: a bare value means ``eq``, a bare list means ``in``, and a mapping names
  operators (``{title: {regex: "(?i)standup"}}``); ``{field: {not: ...}}`` negates. Several keys in one mapping
  must all hold.
- ``all: [...]``, ``any: [...]`` and ``not: {...}`` combine conditions; a list of conditions means ``all``.
- ``when: {weekdays: [mon-fri], between: "09:00-18:00", timezone: Europe/Berlin}`` tests the event's time.

Evaluation tests every field (no short-circuit), so an explanation can show every comparison, and never raises.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, JsonValue
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from togglbridge.events import Event
from togglbridge.rules.operators import OPERATORS, TIME_OPERATORS, Operator, compile_operator
from togglbridge.rules.paths import MISSING, FieldPath, parse_path
from togglbridge.rules.strict_model import Problem, problems_error, suggest
from togglbridge.rules.values import parse_timezone

WHEN_OPERATORS = ("weekdays", "between", "timezone")
MAX_SHOWN_CHARS = 200  # an explanation shows values, not whole commit diffs


class ConditionCheck(BaseModel):
    """One comparison made while evaluating a rule's ``if``, with both sides, for the explanation."""

    model_config = ConfigDict(frozen=True)

    at: str  # where in the rule's `if`, e.g. "if.all[0].title"
    path: str
    op: str
    expected: JsonValue
    actual: JsonValue
    ok: bool  # the check's result, after `negate`
    negate: bool = False
    note: str | None = None  # why, beyond the values: "the field is missing", "it is a sat in Europe/Berlin"


@dataclass
class Scope:
    """What an evaluation reads and what it leaves behind."""

    event: Event
    zone: tzinfo
    checks: list[ConditionCheck] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # named regex groups, for templates


def shown(value: Any) -> JsonValue:
    """``value`` as JSON, shortened so that an explanation stays readable."""
    if value is MISSING:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= MAX_SHOWN_CHARS else value[: MAX_SHOWN_CHARS - 1] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return value if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


class Condition(ABC):
    """A compiled condition. In a model field, it validates from (and serializes back to) the written form."""

    raw: Any
    at: str

    @abstractmethod
    def evaluate(self, scope: Scope) -> bool: ...

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            compile_condition,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda condition: condition.raw),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return CONDITION_JSON_SCHEMA


@dataclass(frozen=True)
class AllOf(Condition):
    raw: Any
    at: str
    parts: tuple[Condition, ...]

    def evaluate(self, scope: Scope) -> bool:
        results = [part.evaluate(scope) for part in self.parts]
        return all(results)


@dataclass(frozen=True)
class AnyOf(Condition):
    raw: Any
    at: str
    parts: tuple[Condition, ...]

    def evaluate(self, scope: Scope) -> bool:
        results = [part.evaluate(scope) for part in self.parts]
        return any(results)


@dataclass(frozen=True)
class NotOf(Condition):
    raw: Any
    at: str
    part: Condition

    def evaluate(self, scope: Scope) -> bool:
        return not self.part.evaluate(scope)


@dataclass(frozen=True)
class FieldTest(Condition):
    raw: Any
    at: str
    path: FieldPath
    operator: Operator
    negate: bool = False
    zone: tzinfo | None = None  # the test's own `timezone:`, else the file's default
    location: tuple[str | int, ...] = ()  # where in the rule's `if`, for problems found after compiling

    def evaluate(self, scope: Scope) -> bool:
        actual = self.path.read(scope.event)
        outcome = self.operator.test(actual, self.zone or scope.zone)
        ok = outcome.ok != self.negate
        scope.checks.append(
            ConditionCheck(
                at=self.at,
                path=self.path.text,
                op=self.operator.name,
                expected=shown(self.operator.expected),
                actual=shown(actual),
                ok=ok,
                negate=self.negate,
                note=outcome.note,
            )
        )
        if ok and not self.negate:
            scope.groups.update(outcome.groups)
        return ok


def compile_condition(raw: Any) -> Condition:
    """Compile the written form; raises a ValidationError listing every problem, each at its place."""
    if isinstance(raw, Condition):
        return raw
    compiler = _Compiler()
    condition = compiler.condition(raw, ())
    if compiler.problems or condition is None:
        raise problems_error("condition", compiler.problems or [((), "is not a condition")], raw)
    if condition.raw is not raw:  # serialize back to exactly what was written
        condition = AllOf(raw, "if", (condition,))
    return condition


def _at(location: tuple[str | int, ...]) -> str:
    text = "if"
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


class _Compiler:
    """Walks the written form once, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, location: tuple[str | int, ...], message: str) -> None:
        self.problems.append((location, message))

    def condition(self, raw: Any, location: tuple[str | int, ...]) -> Condition | None:
        if isinstance(raw, list):
            return self._all(raw, location, raw)
        if not isinstance(raw, dict):
            self.fail(
                location,
                f"a condition is a mapping like {{title: {{regex: ...}}}}, or a list of them; got {raw!r}"
                + (
                    " (to negate a field's value, write {field: {not: value}})"
                    if location[-1:] == ("not",)
                    else ""
                ),
            )
            return None
        if not raw:
            self.fail(location, "an empty condition: name a field to test, like {branch: main}")
            return None
        parts: list[Condition | None] = []
        for key, value in raw.items():
            here = (*location, key)
            if key in ("all", "any"):
                parts.append(self._combination(key, value, here))
            elif key == "not":
                inner = self.condition(value, here)
                parts.append(None if inner is None else NotOf(value, _at(here), inner))
            elif key == "when":
                parts.append(self._when(value, here))
            else:
                parts.append(self.field(key, value, here))
        return _joined([part for part in parts if part is not None], raw, location, len(parts))

    def _combination(self, key: str, value: Any, location: tuple[str | int, ...]) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.fail(location, f"{key} takes a non-empty list of conditions; got {value!r}")
            return None
        parts = [self.condition(item, (*location, index)) for index, item in enumerate(value)]
        if any(part is None for part in parts):
            return None
        kept = tuple(part for part in parts if part is not None)
        return AllOf(value, _at(location), kept) if key == "all" else AnyOf(value, _at(location), kept)

    def _all(self, items: list[Any], location: tuple[str | int, ...], raw: Any) -> Condition | None:
        if not items:
            self.fail(location, "an empty list of conditions: remove it, or add one")
            return None
        parts = [self.condition(item, (*location, index)) for index, item in enumerate(items)]
        return _joined([part for part in parts if part is not None], raw, location, len(parts))

    def _when(self, value: Any, location: tuple[str | int, ...]) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self.fail(location, 'when takes {weekdays: [mon-fri], between: "09:00-18:00", timezone: ...}')
            return None
        for key in value:
            if key not in WHEN_OPERATORS:
                self.fail(
                    (*location, key),
                    f"when takes {', '.join(WHEN_OPERATORS)}; not '{key}'{suggest(key, WHEN_OPERATORS)}",
                )
        if any(key not in WHEN_OPERATORS for key in value):
            return None
        return self.field("occurred_at", value, location, at_text=_at(location))

    def field(
        self,
        path_text: str,
        value: Any,
        location: tuple[str | int, ...],
        *,
        negate: bool = False,
        zone: tzinfo | None = None,
        at_text: str | None = None,
    ) -> Condition | None:
        try:
            path = parse_path(path_text)
        except ValueError as exc:
            self.fail(location, str(exc))
            return None
        at = at_text or _at(location)
        if isinstance(value, list):
            return self._test(path, "in", value, location, at, negate, zone)
        if not isinstance(value, dict):
            return self._test(path, "eq", value, location, at, negate, zone)
        if not value:
            self.fail(location, f"no operator: write e.g. {{{path_text}: {{eq: ...}}}}")
            return None
        if "timezone" in value:
            zone = self._timezone(value, location) or zone
        parts: list[Condition | None] = []
        for op, expected in value.items():
            here = (*location, op)
            if op == "timezone":
                continue
            if op == "not":
                parts.append(self._negated(path_text, expected, here, negate, zone))
            elif op in OPERATORS:
                parts.append(self._test(path, op, expected, here, at, negate, zone))
            else:
                self.fail(here, _unknown_operator(op))
                parts.append(None)
        return _joined([part for part in parts if part is not None], value, location, len(parts))

    def _negated(
        self,
        path_text: str,
        expected: Any,
        location: tuple[str | int, ...],
        negate: bool,
        zone: tzinfo | None,
    ) -> Condition | None:
        # {not: {gt: 1, lt: 5}} is not(gt and lt), which is not the same as (not gt) and (not lt).
        if isinstance(expected, dict) and len([k for k in expected if k != "timezone"]) > 1:
            inner = self.field(path_text, expected, location, negate=negate, zone=zone)
            return None if inner is None else NotOf(expected, _at(location), inner)
        return self.field(path_text, expected, location, negate=not negate, zone=zone, at_text=_at(location))

    def _timezone(self, value: dict[str, Any], location: tuple[str | int, ...]) -> tzinfo | None:
        here = (*location, "timezone")
        if not TIME_OPERATORS & set(value):
            self.fail(here, "timezone applies to weekdays, between, gt and lt; there is none of them here")
            return None
        try:
            return parse_timezone(value["timezone"])
        except ValueError as exc:
            self.fail(here, str(exc))
            return None

    def _test(
        self,
        path: FieldPath,
        op: str,
        expected: Any,
        location: tuple[str | int, ...],
        at: str,
        negate: bool,
        zone: tzinfo | None,
    ) -> Condition | None:
        try:
            operator = compile_operator(op, expected)
        except ValueError as exc:
            self.fail(location, str(exc))
            return None
        return FieldTest(expected, at, path, operator, negate, zone, location)


def _unknown_operator(op: str) -> str:
    names = [*OPERATORS, "not", "timezone"]
    return (
        f"unknown operator '{op}'{suggest(op, names)} (operators: {', '.join(names)}; "
        f"to compare with a whole mapping write {{eq: {{...}}}}, to test a nested field write a.b)"
    )


def _joined(
    parts: list[Condition], raw: Any, location: tuple[str | int, ...], written: int
) -> Condition | None:
    """One condition from the parts of a mapping or list; None when any part failed to compile."""
    if len(parts) != written or not parts:
        return None
    return parts[0] if len(parts) == 1 else AllOf(raw, _at(location), tuple(parts))


CONDITION_JSON_SCHEMA: JsonSchemaValue = {
    "description": (
        "A condition: {field: value} (eq), {field: [a, b]} (in), {field: {operator: value}}, "
        "{all: [...]}, {any: [...]}, {not: {...}}, {when: {weekdays, between, timezone}}; a list means all."
    ),
    "anyOf": [
        {
            "type": "object",
            "minProperties": 1,
            "properties": {
                "all": {"type": "array", "minItems": 1, "items": {"type": "object"}},
                "any": {"type": "array", "minItems": 1, "items": {"type": "object"}},
                "not": {"type": "object"},
                "when": {
                    "type": "object",
                    "properties": {
                        "weekdays": {
                            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                        },
                        "between": {
                            "type": "string",
                            "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$",
                        },
                        "timezone": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": {
                "description": "A field test: a value (eq), a list (in), or {"
                + ", ".join(OPERATORS)
                + ", not}."
            },
        },
        {"type": "array", "minItems": 1, "items": {"type": "object"}},
    ],
}


def field_tests(condition: Condition | None) -> Iterator[FieldTest]:
    """Every field test in a condition, however deeply combined."""
    if isinstance(condition, FieldTest):
        yield condition
    elif isinstance(condition, AllOf | AnyOf):
        for part in condition.parts:
            yield from field_tests(part)
    elif isinstance(condition, NotOf):
        yield from field_tests(condition.part)
