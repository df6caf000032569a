"""Templates in action fields (``description: "{{ repo.name }}: {{ message | first_line }}"``).

Jinja2's sandboxed environment, because event data comes from outside; StrictUndefined, because a typo in a field
name must be an error on the action rather than an empty description in Toggl. Templates are compiled when the file
loads (a template that does not parse is a load error with its line) and rendered per event; a render failure is
reported on that action and never stops the other rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from togglbridge.events import Event
from togglbridge.rules.filters import FILTERS

_MARKERS = ("{{", "{%", "{#")


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters.update(FILTERS)
    return env


ENVIRONMENT = _environment()


class TemplateError(ValueError):
    """A template that could not be rendered for this event; the message says why in the user's terms."""


class Template:
    """Text that may contain Jinja2 expressions; plain text renders as itself without touching Jinja."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: jinja2.Template | None = None
        if any(marker in source for marker in _MARKERS):
            self._compiled = ENVIRONMENT.from_string(source)  # raises TemplateSyntaxError

    @property
    def is_constant(self) -> bool:
        return self._compiled is None

    def render(self, variables: Mapping[str, Any]) -> str:
        if self._compiled is None:
            return self.source
        try:
            return self._compiled.render(variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{exc.message} in {self.source!r}") from None
        except Exception as exc:  # any failure inside a user's template is that template's error, not ours
            raise TemplateError(f"{type(exc).__name__}: {exc} in {self.source!r}") from None

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            compile_template,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda template: template.source),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "description": "Text; may use Jinja2, e.g. '{{ title }}' or '{{ message | first_line }}'.",
        }


def compile_template(value: Any) -> Template:
    """A Template from the file's value: text (numbers are taken as their text); a parse error is a load error."""
    if isinstance(value, Template):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError(
            "rule_file", "should be text (a template), got {value}", {"value": repr(value)}
        )
    try:
        return Template(value)
    except jinja2.TemplateSyntaxError as exc:
        where = f" (line {exc.lineno} of the template)" if "\n" in value.strip() else ""
        raise PydanticCustomError(
            "rule_file",
            "template does not parse: {reason}{where}",
            {"reason": exc.message or "", "where": where},
        ) from None


TEMPLATE_EVENT_FIELDS = ("id", "kind", "source", "actor", "occurred_at", "subject")
"""The event's own fields a template reads as ``event.<field>``."""


def template_variables(event: Event, identity: str | None, groups: Mapping[str, str]) -> dict[str, Any]:
    """What a template sees: the event's data fields at the top level, ``data`` (all of them), ``event`` (its
    own fields), ``identity``, and the named groups of the regexes that matched, which win over data fields."""
    variables: dict[str, Any] = dict(event.data)
    variables["data"] = event.data
    variables["event"] = {name: getattr(event, name) for name in TEMPLATE_EVENT_FIELDS}
    variables["identity"] = identity
    variables.update(groups)
    return variables
