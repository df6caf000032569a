"""The git sources build a plain push's events unvalidated (``git._checked``) and read bodies with orjson first
(``base.json_object``): both must give exactly what validation and the standard library give, for every fixture
and for the odd payloads that must still be refused by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sources import harness
from togglbridge.events import Event
from togglbridge.sources import PayloadError, git
from togglbridge.sources.base import _stdlib_json, json_object
from togglbridge.sources.github import SOURCE as GITHUB
from togglbridge.sources.github_payloads import delivery_headers, push_payload, spaced_commits

GIT_SOURCES = ["github", "gitlab", "gitea", "bitbucket"]
SECRET = harness.SENDERS["github"].secret


def validated(monkeypatch: pytest.MonkeyPatch, parse: Any) -> Any:
    """What ``parse`` gives when every event is validated."""
    with monkeypatch.context() as patch:
        patch.setattr(git, "_maker", lambda push: Event)
        return parse()


def outcome(parse: Any) -> Any:
    try:
        return [(event, event.model_dump(mode="json"), event.model_fields_set) for event in parse()]
    except PayloadError as exc:
        return f"PayloadError: {exc}"


@pytest.mark.parametrize("source", GIT_SOURCES)
def test_every_fixture_gives_the_validated_events(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for fixture in harness.fixtures(source):
        checked = outcome(lambda fixture=fixture: harness.receive(fixture))
        assert checked == validated(
            monkeypatch, lambda fixture=fixture: outcome(lambda: harness.receive(fixture))
        )


def github_parse(payload: dict[str, Any] | bytes) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {k.lower(): v for k, v in delivery_headers(body, SECRET, delivery="d-1").items()}
    return lambda: GITHUB.parse(headers, body, harness.RECEIVED_AT)


def a_push(**changes: Any) -> dict[str, Any]:
    payload = push_payload("alice", spaced_commits(2, start=harness.RECEIVED_AT, salt="checked"))
    for path, value in changes.items():
        where: Any = payload
        *parents, last = path.split(".")
        for parent in parents:
            where = where[int(parent)] if isinstance(where, list) else where[parent]
        where[last] = value
    return payload


ODD_VALUES = [
    "plain",
    "ünïcødé ✓",
    None,
    7,
    2**63,
    2**64,  # beyond 64 bits: validation refuses it
    -(2**63) - 1,
    1.5,
    True,
    {"nested": ["object"]},
    ["a", "list"],
    "\ud800",  # a lone surrogate
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
@pytest.mark.parametrize(
    "where",
    ["compare", "before", "pusher", "repository.html_url", "commits.0.url", "commits.1.author.name"],
)
def test_an_odd_value_anywhere_gives_what_validation_gives(
    where: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    parse = github_parse(a_push(**{where: value}))
    assert outcome(parse) == validated(monkeypatch, lambda: outcome(parse))


@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"18446744073709551616", b"1" * 5000]
)
def test_what_only_the_standard_library_reads_is_refused_as_before(
    literal: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps(a_push(compare="PLACEHOLDER")).encode().replace(b'"PLACEHOLDER"', literal)
    parse = github_parse(body)
    assert outcome(parse) == validated(monkeypatch, lambda: outcome(parse))


def test_a_surrogate_in_the_message_or_the_repository_gives_what_validation_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for where in ("commits.0.message", "repository.full_name", "commits.0.id", "after"):
        parse = github_parse(a_push(**{where: "x\ud800"}))
        result = outcome(parse)
        assert result == validated(monkeypatch, lambda parse=parse: outcome(parse))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def read(body: bytes) -> Any:
    try:
        return ("ok", json.dumps(json_object(body), sort_keys=True, default=repr))
    except PayloadError as exc:
        return ("refused", str(exc))


def read_with_stdlib(body: bytes) -> Any:
    try:
        decoded = _stdlib_json(body)
        if not isinstance(decoded, dict):
            raise PayloadError(f"body must be a JSON object, not {type(decoded).__name__}")
        return ("ok", json.dumps(decoded, sort_keys=True, default=repr))
    except PayloadError as exc:
        return ("refused", str(exc))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_a_body_reads_as_the_standard_library_reads_it(payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()  # NaN and infinities as the standard library writes them
    assert read(body) == read_with_stdlib(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"\xef\xbb\xbf{}",
        b"{",
        b'{"a": 1,}',
        b"\xff\xfe{}",
        b'{"a": "\\ud800"}',
        b'{"a": 1, "a": 2}',
        b'{"a": -0, "b": -0.0, "c": 1E2}',
        b"[" * 2000 + b"]" * 2000,
    ],
)
def test_odd_bodies_read_as_the_standard_library_reads_them(body: bytes) -> None:
    assert read(body) == read_with_stdlib(body)


def test_fixture_dir_exists() -> None:
    assert all(Path(harness.FIXTURES / source).is_dir() for source in GIT_SOURCES)
