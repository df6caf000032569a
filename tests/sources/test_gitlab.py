"""The GitLab source: every fixture against its golden events, the token, and what the goldens cannot show
(errors, ids across deliveries and senders, redacted emails, the clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sources import harness
from togglbridge.events import ActorHandle, Event
from togglbridge.sources import REGISTRY, PayloadError, SignatureError
from togglbridge.sources import github as github_source
from togglbridge.sources.gitlab import SOURCE, explain_headers, recognizes

SENDER = harness.SENDERS["gitlab"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
FIXTURES = harness.FIXTURES / "gitlab"
PUSH = FIXTURES / "push__new_branch.json"


def headers(
    event: str, body: bytes, delivery: str = "6b2f2a36-7c6c-4a3b-9a0e-1f0c2d3e4f50"
) -> dict[str, str]:
    return SENDER.signed_headers(event, body, delivery)


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def parse(payload: dict[str, Any], event: str = "push", received_at: datetime | None = None) -> list[Event]:
    body = json.dumps(payload).encode()
    return SOURCE.parse(headers(event, body), body, received_at)


@harness.each_fixture("gitlab")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("gitlab") == []


@harness.each_fixture("gitlab")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_the_source_is_registered_with_its_variable_and_handle_list() -> None:
    assert REGISTRY.sources["gitlab"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_GITLAB_TOKEN"
    assert REGISTRY.platforms["gitlab"] == "gitlab"


# -- the token ---------------------------------------------------------------------------------------------------


def test_the_shared_token_verifies_whatever_the_header_case() -> None:
    SOURCE.verify({"x-gitlab-token": SECRET}, b"{}", SECRET, NOW)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing X-Gitlab-Token header"),
        ("", "missing X-Gitlab-Token header"),
        ("not-the-token", "not the shared token"),
        (SECRET + " ", "not the shared token"),
        (SECRET.upper(), "not the shared token"),
        ("gitlab-test-tökén", "not the shared token"),
        ("sha256=" + "0" * 64, "not the shared token"),  # another scheme's signature
    ],
)
def test_a_wrong_token_is_refused(token: str | None, reason: str) -> None:
    request_headers = {} if token is None else {"X-Gitlab-Token": token}
    with pytest.raises(SignatureError, match=reason) as refused:
        SOURCE.verify(request_headers, b"{}", SECRET, NOW)
    assert SECRET not in str(refused.value)


def test_a_github_signature_is_not_a_gitlab_token() -> None:
    body = PUSH.read_bytes()
    github_headers = harness.SENDERS["github"].signed_headers("push", body, "d")
    with pytest.raises(SignatureError, match="missing X-Gitlab-Token"):
        SOURCE.verify(github_headers, body, SECRET, NOW)


def test_the_token_does_not_cover_the_body() -> None:
    """GitLab's token proves the sender knows the secret; it signs nothing (the body may be changed in
    transit, which is why the receiver is meant to be reached over HTTPS)."""
    body = PUSH.read_bytes()
    SOURCE.verify(headers("push", body), body + b" ", SECRET, NOW)


# -- delivery ids ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"Idempotency-Key": "key-1", "X-Gitlab-Event-UUID": "uuid-1"}, "key-1"),
        ({"idempotency-key": "key-1"}, "key-1"),
        ({"X-Gitlab-Event-UUID": "uuid-1"}, "uuid-1"),
        ({"Idempotency-Key": "", "X-Gitlab-Event-UUID": "uuid-1"}, "uuid-1"),
        ({"X-Gitlab-Webhook-UUID": "hook-1"}, None),  # the hook's id: the same for every delivery
        ({}, None),
    ],
)
def test_the_delivery_id_is_the_idempotency_key_else_the_event_uuid(
    given: dict[str, str], expected: str | None
) -> None:
    assert SOURCE.delivery_id(given) == expected


def test_without_a_delivery_id_the_push_is_named_by_the_sha_pushed() -> None:
    body = PUSH.read_bytes()
    push = SOURCE.parse({"X-Gitlab-Event": "Push Hook"}, body, harness.RECEIVED_AT)[0]
    assert push.id == f"gitlab:push:{load('push__new_branch')['after']}"
    assert push.delivery_id is None


# -- what the goldens cannot show -----------------------------------------------------------------------------


def test_the_same_commit_has_the_same_event_id_in_any_push() -> None:
    body = PUSH.read_bytes()
    once = SOURCE.parse(headers("push", body, "delivery-1"), body)
    again = SOURCE.parse(headers("push", body, "delivery-2"), body)
    elsewhere = parse(load("push__new_branch") | {"ref": "refs/heads/main"})
    assert [e.id for e in once[1:]] == [e.id for e in again[1:]] == [e.id for e in elsewhere[1:]]
    assert once[0].id != again[0].id  # the push itself is the delivery


def test_a_commit_mirrored_from_github_has_the_same_id_when_the_path_matches() -> None:
    github_body = (harness.FIXTURES / "github" / "push__main.json").read_bytes()
    from_github = github_source.parse(
        harness.SENDERS["github"].signed_headers("push", github_body, "g"), github_body
    )
    github_payload = json.loads(github_body)
    mirrored = load("push__new_branch")
    mirrored["project"]["path_with_namespace"] = github_payload["repository"]["full_name"]
    mirrored["commits"] = [
        {"id": c["id"], "message": c["message"], "timestamp": c["timestamp"], "author": c["author"]}
        for c in github_payload["commits"]
        if c.get("distinct") is not False  # GitHub makes no event of a commit pushed elsewhere already
    ]
    from_gitlab = parse(mirrored)
    assert [e.id for e in from_gitlab[1:]] == [e.id for e in from_github[1:]]
    assert [e.data["message"] for e in from_gitlab[1:]] == [e.data["message"] for e in from_github[1:]]


def test_a_subgroup_project_is_named_by_its_whole_path() -> None:
    push, commit = harness.receive(FIXTURES / "push__subgroup_project.json")
    assert push.data["repo"] | {"url": None} == {
        "full_name": "acme/platform/billing/webapp",
        "name": "webapp",
        "owner": "acme/platform/billing",
        "url": None,
        "private": False,  # visibility_level 20: public
    }
    assert commit.id.startswith("git:acme/platform/billing/webapp:")


def test_a_push_of_more_than_twenty_commits_says_how_many_were_left_out() -> None:
    push, *commits = harness.receive(FIXTURES / "push__many_commits.json")
    assert len(commits) == 20
    assert push.data["commit_count"] == 20
    assert push.data["commits_omitted"] == 5
    assert push.occurred_at == max(c.occurred_at for c in commits)


@pytest.mark.parametrize(("total", "omitted"), [(None, 0), (0, 0), (1, 0), (3, 2)])
def test_omitted_commits_are_never_negative(total: int | None, omitted: int) -> None:
    payload = load("push__new_branch") | {"total_commits_count": total}
    assert parse(payload)[0].data["commits_omitted"] == omitted


def test_a_redacted_email_is_never_taken_for_an_email() -> None:
    push, commit = harness.receive(FIXTURES / "push__redacted_email.json")
    bob = ActorHandle(platform="gitlab", handle="bob.private")
    assert (push.actor, push.actor_handles) == ("bob.private", (bob,))
    assert (commit.actor, commit.actor_handles) == ("bob.private", (bob,))
    assert commit.data["author"] == {"name": "Bob Private", "email": None, "username": None}
    assert "[REDACTED]" not in json.dumps([e.model_dump(mode="json") for e in (push, commit)])


def test_a_commit_without_a_usable_email_is_the_pushers() -> None:
    _, contractor, no_email, no_author = harness.receive(FIXTURES / "push__committer_without_username.json")
    assert (contractor.actor, contractor.actor_handles) == ("chris@contractor.example", ())
    alice = (ActorHandle(platform="gitlab", handle="alice"),)
    assert (no_email.actor, no_email.actor_handles) == ("alice@acme.io", alice)
    assert (no_author.actor, no_author.actor_handles) == ("alice@acme.io", alice)


def test_a_pusher_without_username_or_email_is_known_by_name() -> None:
    payload = load("push__new_branch") | {"user_username": None, "user_email": "[REDACTED]"}
    payload["commits"][0]["author"]["email"] = "[REDACTED]"
    push, commit = parse(payload)
    assert (push.actor, push.actor_handles) == ("Alice Example", ())
    assert (commit.actor, commit.actor_handles) == ("Alice Example", ())


def test_a_merge_commit_is_an_event_that_says_so() -> None:
    push, change, merge = harness.receive(FIXTURES / "push__merge_commit.json")
    assert [change.data["merge"], merge.data["merge"]] == [False, True]
    assert push.data["skipped_commits"] == []


def test_a_deleted_branch_makes_no_commit_events_and_skips_any_it_lists() -> None:
    (push,) = harness.receive(FIXTURES / "push__branch_deleted.json")
    assert push.data["deleted"] is True and push.data["skipped_commits"] == []
    assert push.occurred_at == harness.RECEIVED_AT
    payload = load("push__branch_deleted")
    payload["commits"] = load("push__new_branch")["commits"]
    (listed,) = parse(payload)
    sha = payload["commits"][0]["id"]
    assert listed.data["skipped_commits"] == [{"sha": sha, "reason": "the branch or tag was deleted"}]


def test_a_commit_listed_twice_is_one_event() -> None:
    payload = load("push__new_branch")
    payload["commits"] = payload["commits"] * 2
    push, commit = parse(payload)
    assert push.data["skipped_commits"] == [
        {"sha": commit.data["sha"], "reason": "listed twice in this push"}
    ]


def test_a_push_is_forced_only_when_the_payload_says_so() -> None:
    assert harness.receive(FIXTURES / "push__forced.json")[0].data["forced"] is False
    assert parse(load("push__forced") | {"forced": True})[0].data["forced"] is True
    assert parse(load("push__forced") | {"forced": "yes"})[0].data["forced"] is False


@pytest.mark.parametrize(
    "event", ["Merge Request Hook", "Pipeline Hook", "Issue Hook", "System Hook", "push"]
)
def test_hooks_other_than_push_and_tag_push_give_no_events(event: str) -> None:
    body = PUSH.read_bytes()
    assert SOURCE.parse({"X-Gitlab-Event": event}, body) == []


def test_a_tag_push_without_commits_takes_the_time_it_was_received() -> None:
    (push,) = harness.receive(FIXTURES / "tag_push__created.json")
    assert push.occurred_at == harness.RECEIVED_AT
    assert (push.data["tag"], push.data["branch"], push.data["created"]) == ("v1.0.0", None, True)


def test_without_a_receipt_time_the_parser_reads_the_clock() -> None:
    body = (FIXTURES / "tag_push__deleted.json").read_bytes()
    before = datetime.now(UTC)
    (push,) = SOURCE.parse(headers("tag_push", body), body)
    assert before <= push.occurred_at <= datetime.now(UTC)


def test_a_timestamp_without_an_offset_is_utc() -> None:
    payload = load("push__new_branch")
    payload["commits"][0]["timestamp"] = "2026-11-02T09:14:00"
    assert parse(payload)[1].occurred_at == datetime(2026, 11, 2, 9, 14, tzinfo=UTC)


def _with(name: str, path: tuple[Any, ...], value: Any) -> bytes:
    return json.dumps(harness.edited(load(name), path, value)).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"ref": "refs/heads/main"}', "missing field 'project'"),
        (_with("push__new_branch", ("project",), "acme/webapp"), "project must be an object"),
        (
            _with("push__new_branch", ("project", "path_with_namespace"), harness.DELETE),
            "'path_with_namespace'",
        ),
        (_with("push__new_branch", ("project", "path_with_namespace"), 15), "path_with_namespace"),
        (_with("push__new_branch", ("ref",), harness.DELETE), "missing field 'ref'"),
        (_with("push__new_branch", ("ref",), ["main"]), "ref must be text"),
        (_with("push__new_branch", ("commits",), 5), "commits must be a list"),
        (_with("push__new_branch", ("commits", 0), "abc"), "each of commits must be an object"),
        (_with("push__new_branch", ("commits", 0, "id"), harness.DELETE), "missing field 'id'"),
        (_with("push__new_branch", ("commits", 0, "timestamp"), "yesterday"), "yesterday"),
        (_with("push__new_branch", ("commits", 0, "timestamp"), 1700000000), "not a timestamp"),
        (_with("push__new_branch", ("commits", 0, "timestamp"), "0001-01-01T00:00:00+01:00"), "out of range"),
        (_with("push__new_branch", ("commits", 0, "author"), "Alice"), "author must be an object"),
        (_with("push__new_branch", ("commits", 0, "added"), 7), "added must be a list"),
        (_with("push__new_branch", ("total_commits_count",), "25"), "total_commits_count"),
        (_with("push__new_branch", ("total_commits_count",), True), "total_commits_count"),
    ],
)
def test_a_malformed_push_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as refused:
        SOURCE.parse(headers("push", body), body)
    assert SECRET not in str(refused.value)


def test_a_missing_event_header_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="X-Gitlab-Event"):
        SOURCE.parse({"X-Gitlab-Token": SECRET}, b"{}")


# -- explain -----------------------------------------------------------------------------------------------------


def test_explain_makes_up_the_hook_from_the_object_kind() -> None:
    tag, branch = load("tag_push__created"), load("push__new_branch")
    assert explain_headers(tag)["X-Gitlab-Event"] == "Tag Push Hook"
    assert explain_headers(branch)["X-Gitlab-Event"] == "Push Hook"
    assert explain_headers(branch) == explain_headers(branch)  # a stable delivery id
    assert SOURCE.parse(explain_headers(tag), json.dumps(tag).encode(), harness.RECEIVED_AT)


def test_a_gitlab_payload_is_recognized_as_gitlabs_and_not_githubs() -> None:
    for fixture in harness.fixtures("gitlab"):
        payload = json.loads(fixture.read_text())
        assert recognizes(payload) and not github_source.recognizes(payload), fixture.name
    assert not recognizes(json.loads((harness.FIXTURES / "github" / "push__main.json").read_text()))
