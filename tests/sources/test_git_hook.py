"""The local git hook's source: every fixture against its golden events, signatures, and what the goldens cannot
show (the same commit from the hook and from GitHub, malformed bodies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sources import harness
from togglbridge.events import Event
from togglbridge.sources import REGISTRY, PayloadError, SignatureError
from togglbridge.sources import github_payloads as payloads
from togglbridge.sources.git_hook import SOURCE, check_secret, repository
from togglbridge.sources.github import SOURCE as GITHUB

SENDER = harness.SENDERS["git"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SINGLE = harness.FIXTURES / "git" / "commits__single.json"
COMMIT: dict[str, Any] = json.loads(SINGLE.read_text())["commits"][0]


def headers(body: bytes, delivery: str = "hook-delivery-1") -> dict[str, str]:
    return SENDER.signed_headers("commits", body, delivery)


def body_of(*commits: dict[str, Any]) -> bytes:
    return json.dumps({"commits": list(commits)}).encode()


@harness.each_fixture("git")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("git") == []


@harness.each_fixture("git")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_only_commit_events_with_a_pushed_commits_fields() -> None:
    events = harness.receive(harness.FIXTURES / "git" / "commits__spooled_merge_and_detached.json")
    assert [e.kind for e in events] == ["git.commit"] * 3
    declared = REGISTRY.kind_schema("git.commit").fields
    for event in events:
        assert event.source == "git"
        for path in declared:
            head, _, rest = path.partition(".")
            assert head in event.data and (not rest or rest in event.data[head]), path
    assert [e.data["merge"] for e in events] == [False, True, False]
    assert (
        events[0].data["branch"] == "feature/billing"
        and events[0].data["ref"] == "refs/heads/feature/billing"
    )
    assert events[2].data["ref"] == "HEAD" and events[2].data["branch"] is None
    assert events[2].actor == "Zoë Café"  # no email: the name


def test_the_data_has_the_same_keys_as_a_pushed_commits() -> None:
    (hooked,) = harness.receive(SINGLE)
    pushed = GITHUB.parse(*_github_push_of(COMMIT))[1]
    assert set(hooked.data) == set(pushed.data)
    assert set(hooked.data["repo"]) == set(pushed.data["repo"])


# -- signatures --------------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_secret_verifies() -> None:
    body = SINGLE.read_bytes()
    SOURCE.verify(headers(body), body, SECRET, NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=" + "0" * 40, "does not match"),
        ("garbage", "does not match"),
    ],
)
def test_a_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    request_headers = {} if signature is None else {"X-Togglbridge-Signature": signature}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, SINGLE.read_bytes(), SECRET, NOW)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    body = SINGLE.read_bytes()
    signed = SOURCE.sign({}, body, "another-secret-0123456789", NOW)
    with pytest.raises(SignatureError, match="does not match"):
        SOURCE.verify(signed, body, SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = SINGLE.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers(body), body + b" ", SECRET, NOW)


def test_a_short_secret_is_refused_at_start() -> None:
    assert check_secret("short") is not None
    assert check_secret(SECRET) is None


# -- what the goldens cannot show -----------------------------------------------------------------------------


def _github_push_of(commit: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    pushed = payloads.PushedCommit(
        commit["sha"], datetime.fromisoformat(commit["committed_at"]), commit["message"]
    )
    body = payloads.push_body("alice", [pushed], repo=commit["repository"], email=commit["author"]["email"])
    return payloads.delivery_headers(body, "github-secret"), body


def test_the_same_commit_has_the_same_id_from_the_hook_and_from_a_github_push() -> None:
    (hooked,) = harness.receive(SINGLE)
    _push, pushed = GITHUB.parse(*_github_push_of(COMMIT))
    assert hooked.id == pushed.id == f"git:acme/webapp:{COMMIT['sha']}"
    assert hooked.occurred_at == pushed.occurred_at
    assert hooked.actor == pushed.actor == "alice@acme.io"


def test_the_same_commit_has_the_same_id_in_any_delivery() -> None:
    body = SINGLE.read_bytes()
    once = SOURCE.parse(headers(body, "d-1"), body)
    again = SOURCE.parse(headers(body, "d-2"), body)
    assert [e.id for e in once] == [e.id for e in again]
    assert [e.delivery_id for e in once] == ["d-1"]


def test_without_a_delivery_id_the_events_have_none() -> None:
    body = SINGLE.read_bytes()
    (event,) = SOURCE.parse({}, body)
    assert event.delivery_id is None and SOURCE.delivery_id({}) is None


def test_delivery_id_is_read_case_insensitively() -> None:
    assert SOURCE.delivery_id({"x-togglbridge-delivery": "abc"}) == "abc"


@pytest.mark.parametrize(
    ("full_name", "owner", "name"),
    [("acme/webapp", "acme", "webapp"), ("group/sub/proj", "group/sub", "proj")],
)
def test_the_owner_of_a_nested_group_is_every_level_but_the_last(
    full_name: str, owner: str, name: str
) -> None:
    repo = repository(full_name, None)
    assert (repo.owner, repo.name, repo.full_name) == (owner, name, full_name)


def test_the_commit_time_keeps_its_instant_in_utc() -> None:
    (event,) = harness.receive(SINGLE)
    assert event.occurred_at == datetime(2026, 11, 2, 9, 15, 42, tzinfo=UTC)


def test_explain_headers_and_recognizes() -> None:
    payload = json.loads(SINGLE.read_text())
    assert SOURCE.recognizes(payload)
    assert not SOURCE.recognizes(json.loads((harness.FIXTURES / "github" / "push__main.json").read_text()))
    assert SOURCE.explain_headers(payload)["X-Togglbridge-Delivery"].startswith("explain-")


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in COMMIT.items() if k != key}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{}", "commits: Field required"),
        (b'{"commits": []}', "at least 1 item"),
        (b'{"commits": {}}', "commits"),
        (body_of(_without("sha")), "commits.0.sha: Field required"),
        (body_of(COMMIT | {"sha": "HEAD"}), "commits.0.sha: String should match"),
        (body_of(COMMIT | {"parents": ["main"]}), "a parent is not a sha"),
        (body_of(COMMIT | {"added": "1"}), "commits.0.added"),
        (body_of(COMMIT | {"added": -1}), "commits.0.added"),
        (body_of(COMMIT | {"added": True}), "commits.0.added"),
        (body_of(COMMIT | {"committed_at": "yesterday"}), "not an ISO 8601 time"),
        (body_of(COMMIT | {"committed_at": "2026-11-02T10:15:42"}), "no UTC offset"),
        (body_of(COMMIT | {"committed_at": "0001-01-01T00:00:00+01:00"}), "out of range"),
        (body_of(COMMIT | {"repository": "webapp"}), "commits.0.repository"),
        (body_of(COMMIT | {"repository": None}), "commits.0.repository"),
        (body_of(COMMIT | {"author": "Alice <alice@acme.io>"}), "commits.0.author"),
        (body_of(COMMIT | {"author": {"name": "", "email": " "}}), "neither an email nor a name"),
        (body_of(COMMIT | {"branch": ""}), "commits.0.branch"),
        (body_of(*[COMMIT] * 1001), "at most 1000"),
    ],
)
def test_a_malformed_delivery_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers(body), body)
