"""The base of every model of the rule file: unknown keys are errors that say what was meant.

Pydantic's own ``extra="forbid"`` says "Extra inputs are not permitted"; a user needs to hear which keys exist and
which one they probably meant. The wrap validator strips the unknown keys, validates the rest (so every other
problem is still reported) and adds one problem per unknown key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidatorFunctionWrapHandler, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

Problem = tuple[tuple[str | int, ...], str]
"""A problem found inside a value: where, relative to the value, and what is wrong."""


def problems_error(title: str, problems: Iterable[Problem], value: Any = None) -> ValidationError:
    """A ValidationError holding ``problems``; raised inside a validator, its locations nest under the field."""
    details = [
        InitErrorDetails(type=PydanticCustomError("rule_file", message), loc=location, input=value)
        for location, message in problems
    ]
    return ValidationError.from_exception_data(title, details)


def problems_of(exc: ValidationError) -> list[Problem]:
    """The problems in a ValidationError, pydantic's messages worded for people who write YAML."""
    return [(tuple(error["loc"]), _reword(error)) for error in exc.errors(include_url=False)]


def _reword(error: Any) -> str:
    """Pydantic's message, with the value that was given where that helps ("should be a valid integer, got 'x'")."""
    message = str(error["msg"])
    if error["type"] == "rule_file":
        return message
    if error["type"] == "missing":
        return "is required"
    message = message.removeprefix("Value error, ").removeprefix("Input ")
    if error["type"] not in {"value_error", "assertion_error"} and not isinstance(
        error.get("input"), dict | list
    ):
        message = f"{message}, got {error.get('input')!r}"
    return message


def suggest(word: str, choices: Sequence[str]) -> str:
    """A hint for a probable typo: "; did you mean 'x'?" when a choice is close to ``word``, else ""."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class StrictModel(BaseModel):
    """A mapping in the rule file: known keys only, immutable once loaded."""

    # strict: YAML already has types; "yes" is not a boolean and "12" is not a number here.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    unknown_key_noun: ClassVar[str] = "key"
    key_hints: ClassVar[dict[str, str]] = {}
    """Advice for keys people write by mistake, e.g. a secret where the name of an environment variable belongs."""

    @classmethod
    def known_keys(cls) -> list[str]:
        return [info.alias or name for name, info in cls.model_fields.items()]

    @model_validator(mode="wrap")
    @classmethod
    def _report_unknown_keys(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        data = cls.prepare(data)
        if not isinstance(data, dict):
            return handler(data)
        known = cls.known_keys()
        unknown = [key for key in data if key not in known]
        problems: list[Problem] = [
            ((str(key),), cls._unknown_key_message(str(key), known, data)) for key in unknown
        ]
        problems += cls.cross_check(data)
        if not problems:
            return handler(data)
        try:
            handler({key: value for key, value in data.items() if key in known})
        except ValidationError as exc:
            problems = problems_of(exc) + problems
        raise problems_error(cls.__name__, problems, data)

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """Turn a shorthand into the full form before anything else looks at it (subclasses override)."""
        return data

    @classmethod
    def cross_check(cls, data: dict[str, Any]) -> list[Problem]:
        """Problems that span fields (a name used twice, a reference to nothing), found in the raw data so that
        they are reported together with every other problem (subclasses override)."""
        return []

    @classmethod
    def _unknown_key_message(cls, key: str, known: list[str], data: dict[str, Any]) -> str:
        """Why ``key`` is refused in ``data`` (the whole mapping it was written in), and what was meant."""
        if key in cls.key_hints:
            return f"unknown {cls.unknown_key_noun} '{key}': {cls.key_hints[key]}"
        return f"unknown {cls.unknown_key_noun} '{key}'{suggest(key, known)} (expected one of: {', '.join(known)})"
