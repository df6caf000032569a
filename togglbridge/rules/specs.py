"""The actions as a rule file writes them (``do: [{start: {...}}]``), validated when the file loads.

These hold templates; the planner renders them into the Action models of ``togglbridge.actions`` per event.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from togglbridge.actions import StopOnly, Target
from togglbridge.durations import DURATION_HELP, Duration, parse_duration
from togglbridge.rules.strict_model import StrictModel
from togglbridge.rules.templates import Template, compile_template

_TEXT_OR_ID = {
    "anyOf": [{"type": "integer", "description": "an id"}, {"type": "string", "description": "a name"}]
}


def _project_ref(value: Any) -> int | Template:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return compile_template(value)
    raise PydanticCustomError(
        "rule_file",
        "should be a project name (text, may be a template) or a project id (a number), got {value}",
        {"value": repr(value)},
    )


ProjectRef = Annotated[int | Template, PlainValidator(_project_ref), WithJsonSchema(_TEXT_OR_ID)]
"""A project: a number is its id; text (a template, rendered per event) is its name, looked up when applied."""


class EstimateSpec(StrictModel):
    """``{estimate: session, max_gap: 2h, first: 30m}``: a commit's duration from the gap since the previous one."""

    estimate: Literal["session"]
    max_gap: Duration = Field(default=7200, description="A longer gap starts a new session.")
    first: Duration = Field(default=1800, description="The duration of a session's first commit.")


def _log_duration(value: Any) -> int | Template | EstimateSpec:
    if isinstance(value, dict | EstimateSpec):
        return EstimateSpec.model_validate(value)  # its problems nest under `duration`
    if isinstance(value, str) and "{" in value:
        return compile_template(value)
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "rule_file",
            "should be {help}, a template giving one, or {estimate}; got {value}",
            {
                "help": DURATION_HELP,
                "estimate": "{estimate: session, max_gap: 2h, first: 30m}",
                "value": repr(value),
            },
        ) from None
    if seconds <= 0:
        raise PydanticCustomError("rule_file", "should be positive, got {value}", {"value": repr(value)})
    return seconds


LogDuration = Annotated[
    int | Template | EstimateSpec,
    PlainValidator(_log_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "exclusiveMinimum": 0, "description": "seconds"},
                {"type": "string", "description": "a duration like 1h30m, or a template giving one"},
                {
                    "type": "object",
                    "properties": {
                        "estimate": {"const": "session"},
                        "max_gap": {"type": ["integer", "string"]},
                        "first": {"type": ["integer", "string"]},
                    },
                    "required": ["estimate"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]

_WHEN = "a date-time, or a template giving one (like '{{ start }}'); default: the event's time"


class _EntrySpec(StrictModel):
    description: Template | None = None
    project: ProjectRef | None = None
    task_id: int | None = None
    tags: list[Template] = Field(default_factory=list)
    billable: bool | None = Field(
        default=None, description="Default: defaults.billable, else Toggl's default."
    )
    workspace_id: int | None = Field(default=None, description="Default: the identity's, else defaults'.")


class StartSpec(_EntrySpec):
    """Start a running entry."""

    start: Template | None = Field(default=None, description=_WHEN)


class StopSpec(StrictModel):
    """Stop the running entry: any, only the one this event's subject started, or only one with a description."""

    only: StopOnly = "any"
    description: Template | None = Field(default=None, description="With only: same_description.")
    stop: Template | None = Field(default=None, description=_WHEN)

    @model_validator(mode="after")
    def _description_with_same_description(self) -> StopSpec:
        if self.only == "same_description" and self.description is None:
            raise PydanticCustomError(
                "rule_file", "only: same_description needs a description to compare with"
            )
        if self.only != "same_description" and self.description is not None:
            raise PydanticCustomError("rule_file", "description is used only with only: same_description")
        return self


class LogSpec(_EntrySpec):
    """A finished entry ending at ``end``: ``duration`` (fixed, from the event, or estimated) or ``start``."""

    duration: LogDuration | None = None
    start: Template | None = Field(default=None, description=_WHEN.replace("; default: the event's time", ""))
    end: Template | None = Field(default=None, description=_WHEN)
    coalesce: Duration | None = Field(
        default=None,
        description="Pieces at most this far apart (commits of one repository, for one identity) extend one "
        "entry instead of each making its own: 20m.",
    )

    @model_validator(mode="after")
    def _one_way_to_know_the_duration(self) -> LogSpec:
        if (self.duration is None) == (self.start is None):
            raise PydanticCustomError(
                "rule_file",
                "log needs exactly one of duration (e.g. 30m, or {estimate: session}) and start",
            )
        return self


class TagSpec(StrictModel):
    """Add tags to the running entry, or to the entry an earlier event with the same subject created."""

    tags: list[Template] = Field(min_length=1)
    target: Target = "running"


class UntagSpec(TagSpec):
    """Remove tags."""


class UpdateSpec(StrictModel):
    """Change the running entry (or the subject's): only the fields given; ``tags`` replaces the tags."""

    target: Target = "running"
    description: Template | None = None
    project: ProjectRef | None = None
    task_id: int | None = None
    billable: bool | None = None
    tags: list[Template] | None = None
    start: Template | None = None
    stop: Template | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateSpec:
        if not self.model_fields_set - {"target"}:
            raise PydanticCustomError(
                "rule_file", "update changes nothing: give description, project, tags, ..."
            )
        return self


ActionSpec = StartSpec | StopSpec | LogSpec | TagSpec | UntagSpec | UpdateSpec
ACTION_NAMES = ("start", "stop", "log", "tag", "untag", "update")


class ActionItem(StrictModel):
    """One entry of ``do``: a mapping with one key, the action's name (``- stop`` alone is ``- stop: {}``)."""

    unknown_key_noun = "action"

    start: StartSpec | None = None
    stop: StopSpec | None = None
    log: LogSpec | None = None
    tag: TagSpec | None = None
    untag: UntagSpec | None = None
    update: UpdateSpec | None = None

    @classmethod
    def prepare(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {data: {}}
        if not isinstance(data, dict):
            return data
        named = [key for key in data if key in ACTION_NAMES]
        if len(named) > 1:
            raise PydanticCustomError(
                "rule_file",
                "one action per item: write each of {names} as its own '- ' item",
                {"names": ", ".join(named)},
            )
        if not data:
            raise PydanticCustomError(
                "rule_file", "an empty action: write one of {names}", {"names": ", ".join(ACTION_NAMES)}
            )
        # "- stop:" with nothing after it is YAML null: the action with all defaults.
        return {key: {} if value is None and key in ACTION_NAMES else value for key, value in data.items()}

    @classmethod
    def _unknown_key_message(cls, key: str, known: list[str], data: dict[str, Any]) -> str:
        # An option written beside its action instead of under it (indented like `- log:` rather than deeper) is
        # a key of the item, not of the action: say so, rather than "unknown action".
        for action in (name for name in ACTION_NAMES if name in data):
            if key in ACTION_SPECS[action].known_keys():
                return (
                    f"'{key}' is an option of '{action}', not an action: indent it under '{action}' "
                    f"(deeper than '{action}:' itself, like the action's other options)"
                )
        return super()._unknown_key_message(key, known, data)

    @property
    def name(self) -> str:
        return next(name for name in ACTION_NAMES if getattr(self, name) is not None)

    @property
    def spec(self) -> ActionSpec:
        spec: ActionSpec = getattr(self, self.name)
        return spec


ACTION_SPECS: dict[str, type[StrictModel]] = {
    "start": StartSpec,
    "stop": StopSpec,
    "log": LogSpec,
    "tag": TagSpec,
    "untag": UntagSpec,
    "update": UpdateSpec,
}
