"""The Gitea source, which Forgejo's deliveries reach too: every fixture (tests/fixtures/gitea/ with Gitea's headers,
tests/fixtures/forgejo/ with Forgejo's) against its golden events, signatures in either header, and what the
goldens cannot show (errors, ids across deliveries and senders, the order of commits, the clock)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sources import harness
from togglbridge.events import Event
from togglbridge.sources import SOURCES, PayloadError, SignatureError
from togglbridge.sources.gitea import SOURCE, explain_headers, recognizes

SENDER = harness.SENDERS["gitea"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
GITEA = harness.FIXTURES / "gitea"
PUSH = GITEA / "push__main.json"
ZERO = "0" * 40


def headers(
    event: str, body: bytes, delivery: str = "f6266f16-1bf3-46a5-9ea4-602e06ead473"
) -> dict[str, str]:
    return SENDER.signed_headers(event, body, delivery)


def forgejo_headers(
    event: str, body: bytes, delivery: str = "a1b2c3d4-0000-4000-8000-000000000001"
) -> dict[str, str]:
    return harness.SENDERS["forgejo"].signed_headers(event, body, delivery)


def payload(path: Path = PUSH) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def parse(body: dict[str, Any], event: str = "push") -> list[Event]:
    raw = json.dumps(body).encode()
    return SOURCE.parse(headers(event, raw), raw, harness.RECEIVED_AT)


@harness.each_fixture("gitea")
def test_each_gitea_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


@harness.each_fixture("forgejo")
def test_each_forgejo_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("gitea") == []
    assert harness.orphan_goldens("forgejo") == []


@pytest.mark.parametrize(
    "fixture",
    [*harness.fixtures("gitea"), *harness.fixtures("forgejo")],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_the_source_is_registered_with_its_handle_list() -> None:
    assert SOURCES["gitea"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_GITEA_SECRET"
    assert SOURCE.handle is not None and SOURCE.handle.platform == "gitea"


# -- signatures --------------------------------------------------------------------------------------------------


def test_a_signature_is_the_bare_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"ref": "refs/heads/main"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers("push", body)["X-Gitea-Signature"] == expected  # no "sha256=" prefix, unlike GitHub's
    SOURCE.verify({"X-Gitea-Signature": expected}, body, SECRET, NOW)
    SOURCE.verify({"X-Forgejo-Signature": expected}, body, SECRET, NOW)
    SOURCE.verify({"x-forgejo-signature": expected.upper()}, body, SECRET, NOW)


def test_forgejos_headers_are_signed_in_forgejos_header_only() -> None:
    signed = forgejo_headers("push", b"{}")
    assert "X-Forgejo-Signature" in signed and "X-Gitea-Signature" not in signed


def test_forgejo_sending_both_headers_verifies() -> None:
    body = b"{}"
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    SOURCE.verify({"X-Gitea-Signature": digest, "X-Forgejo-Signature": digest}, body, SECRET, NOW)


@pytest.mark.parametrize(
    ("signature_headers", "reason"),
    [
        ({}, "missing X-Gitea-Signature or X-Forgejo-Signature header"),
        ({"X-Gitea-Signature": ""}, "missing"),
        ({"X-Gitea-Signature": "0" * 64}, "X-Gitea-Signature does not match"),
        ({"X-Forgejo-Signature": "0" * 64}, "X-Forgejo-Signature does not match"),
        ({"X-Gitea-Signature": "0" * 64, "X-Forgejo-Signature": "1" * 64}, "do not match"),
        ({"X-Gitea-Signature": "sha256=" + "0" * 64}, "does not match"),
        ({"X-Gitea-Signature": "garbage"}, "does not match"),
        ({"X-Gitea-Signature": "é"}, "does not match"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, "missing"),  # GitHub's header is not read here
    ],
)
def test_a_bad_signature_is_refused(signature_headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(signature_headers, b"{}", SECRET, NOW)


def test_githubs_prefixed_signature_in_giteas_header_is_refused() -> None:
    body = b"{}"
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        SOURCE.verify({"X-Gitea-Signature": "sha256=" + digest}, body, SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = PUSH.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers("push", body), body + b" ", SECRET, NOW)


def test_the_secret_is_never_in_a_refusal() -> None:
    with pytest.raises(SignatureError) as refused:
        SOURCE.verify({"X-Gitea-Signature": "0" * 64}, b"{}", SECRET, NOW)
    assert SECRET not in str(refused.value)


# -- what the goldens cannot show -----------------------------------------------------------------------------


def test_the_same_commit_has_the_same_event_id_in_any_delivery_and_from_github() -> None:
    body = PUSH.read_bytes()
    once = SOURCE.parse(headers("push", body, "delivery-1"), body)
    again = SOURCE.parse(forgejo_headers("push", body, "delivery-2"), body)
    assert [e.id for e in once[1:]] == [e.id for e in again[1:]]
    assert once[0].id == "gitea:push:delivery-1" and again[0].id == "gitea:push:delivery-2"
    github = SOURCES["github"]
    github_headers = harness.SENDERS["github"].signed_headers("push", body, "delivery-3")
    from_github = github.parse(github_headers, body)
    assert {e.id for e in from_github[1:]} == {e.id for e in once[1:]}


def test_commits_listed_newest_first_become_events_oldest_first() -> None:
    body = payload(GITEA / "push__many_commits.json")
    assert body["commits"][0]["id"] == body["after"]  # as Gitea sends them
    events = parse(body)
    assert [e.data["sha"] for e in events[1:]] == [c["id"] for c in reversed(body["commits"])]


def test_commits_listed_oldest_first_keep_their_order() -> None:
    body = payload(GITEA / "push__many_commits.json")
    body["commits"] = body["commits"][::-1]
    events = parse(body)
    assert [e.data["sha"] for e in events[1:]] == [c["id"] for c in body["commits"]]


def test_commits_gitea_left_out_are_counted() -> None:
    (push, *commits) = parse(payload(GITEA / "push__many_commits.json"))
    assert len(commits) == 5 and push.data["commits_omitted"] == 7


@pytest.mark.parametrize("total", [None, "12", -3, True, 2])
def test_a_total_that_is_not_a_larger_count_omits_nothing(total: Any) -> None:
    body = payload(GITEA / "push__many_commits.json") | {"total_commits": total}
    assert parse(body)[0].data["commits_omitted"] == 0


def test_a_new_branch_is_created_and_a_tag_push_has_no_commits() -> None:
    (push, commit) = parse(payload(GITEA / "push__new_branch.json"))
    assert push.data["created"] is True and push.data["deleted"] is False and commit.kind == "git.commit"
    (tag,) = parse(payload(GITEA / "push__tag.json"))
    assert tag.data["tag"] == "v2.4.0" and tag.data["commit_count"] == 0
    assert tag.occurred_at == harness.RECEIVED_AT  # a push without commits says not when


def test_a_push_that_deletes_its_ref_gives_no_commits_and_says_so() -> None:
    body = payload(PUSH) | {"after": ZERO}
    (push,) = parse(body)
    assert push.data["deleted"] is True and push.occurred_at == harness.RECEIVED_AT
    assert [s["reason"] for s in push.data["skipped_commits"]] == ["the ref was deleted"] * 2


def test_giteas_delete_event_gives_no_events() -> None:
    body = (GITEA / "delete__branch.json").read_bytes()
    assert SOURCE.parse(headers("delete", body), body) == []


def test_commits_marked_not_distinct_are_skipped_and_named() -> None:
    body = payload(PUSH)
    body["commits"][0]["distinct"] = False
    (push, commit) = parse(body)
    assert push.data["skipped_commits"] == [
        {"sha": body["commits"][0]["id"], "reason": "not distinct: pushed to another branch already"}
    ]
    assert commit.data["sha"] == body["commits"][1]["id"]


def test_a_merge_is_recognised_by_its_message() -> None:
    (_, fix, merge) = parse(payload(GITEA / "push__merge_commit.json"))
    assert (fix.data["merge"], merge.data["merge"]) == (False, True)


def test_an_author_without_a_username_is_their_email_with_no_gitea_handle() -> None:
    (_, translated, _) = parse(payload(GITEA / "push__committer_without_username.json"))
    assert translated.actor == "joost@vertalers.example"
    assert translated.actor_handles == ()
    assert translated.data["author"]["username"] is None


@pytest.mark.parametrize("event", ["issues", "create", "pull_request", "release"])
def test_events_other_than_push_give_no_events(event: str) -> None:
    assert SOURCE.parse(headers(event, b"{}"), b"{}") == []


def test_without_a_receipt_time_the_parser_reads_the_clock() -> None:
    body = (GITEA / "push__tag.json").read_bytes()
    before = datetime.now(UTC)
    (push,) = SOURCE.parse(headers("push", body), body)
    assert before <= push.occurred_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"ref": "refs/heads/main"}', "missing field 'repository'"),
        (b'{"repository": {"full_name": "a/b"}}', "missing field 'ref'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"ref": "r", "repository": {"full_name": "a/b"}, "head_commit": 5}', "head_commit"),
        (b'{"ref": "r", "repository": {"full_name": "a/b"}, "commits": 5}', "commits must be a list"),
        (b'{"ref": "r", "repository": {"full_name": "a/b"}, "pusher": "x"}', "must be an object"),
        (b'{"ref": "r", "repository": {"full_name": "a/b"}, "commits": [{"id": "a"}]}', "'timestamp'"),
        (
            b'{"ref": "r", "repository": {"full_name": "a/b"}, "commits": [{"timestamp": "2026-11-02T09:00:00Z"}]}',
            "'id'",
        ),
        (
            b'{"ref": "r", "repository": {"full_name": "a/b"}, "commits": [{"id": "a", "timestamp": 5}]}',
            "not a timestamp",
        ),
        (b'{"ref": "r", "repository": "a/b"}', "not a Gitea push payload"),
    ],
)
def test_a_malformed_push_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers("push", body), body)


def test_a_missing_event_header_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="X-Gitea-Event"):
        SOURCE.parse({}, b"{}")


def test_delivery_id_is_read_from_either_header_in_any_case() -> None:
    assert SOURCE.delivery_id({"x-gitea-delivery": "abc"}) == "abc"
    assert SOURCE.delivery_id({"X-Forgejo-Delivery": "def"}) == "def"
    assert SOURCE.delivery_id({}) is None


def test_explain_and_recognition() -> None:
    push = payload(PUSH)
    assert recognizes(push) and not recognizes(payload(harness.FIXTURES / "github" / "push__main.json"))
    made = explain_headers(push)
    assert made["X-Gitea-Event"] == "push" and made == explain_headers(push)
    assert explain_headers(payload(GITEA / "delete__branch.json"))["X-Gitea-Event"] == "delete"
