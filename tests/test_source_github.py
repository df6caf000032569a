"""The GitHub source: signature checks (with GitHub's published test vector) and every fixture replayed."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from togglbridge.sources import PayloadError, SignatureError
from togglbridge.sources.github import SOURCE

FIXTURES = Path(__file__).parent / "fixtures" / "github"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SECRET = "It's a Secret to Everybody"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(
    event: str, body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(body)}


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def test_githubs_published_test_vector_verifies() -> None:
    body = b"Hello, World!"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    SOURCE.verify({"X-Hub-Signature-256": signature}, body, SECRET, NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "does not match"),
        ("garbage", "does not match"),
    ],
)
def test_a_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    request_headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, b"Hello, World!", SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = fixture("push__main")
    with pytest.raises(SignatureError):
        SOURCE.verify({"X-Hub-Signature-256": sign(body)}, body + b" ", SECRET, NOW)


def test_push_to_main_gives_a_push_and_one_event_per_distinct_commit() -> None:
    body = fixture("push__main")
    SOURCE.verify(headers("push", body), body, SECRET, NOW)
    events = SOURCE.parse(headers("push", body), body)
    assert [e.kind for e in events] == ["git.push", "git.commit", "git.commit"]
    push, first, second = events
    assert push.id == "github:push:72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert push.data["branch"] == "main" and push.data["commit_count"] == 3
    assert push.actor == "1234+alice-gh@users.noreply.github.com"
    assert first.id == "git:acme/webapp:0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert first.actor == "alice@acme.io"
    assert first.occurred_at == datetime(2026, 11, 2, 8, 12, 31, tzinfo=UTC)
    assert first.data["message"].startswith("ABC-123 Add weekly report")
    assert first.data["repo"] == {
        "full_name": "acme/webapp",
        "name": "webapp",
        "owner": "acme",
        "url": "https://github.com/acme/webapp",
        "private": True,
    }
    assert first.data["branch"] == "main"
    assert (first.data["added"], first.data["modified"]) == (1, 2)
    assert second.data["short_sha"] == "6113728"
    assert all(e.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958" for e in events)


def test_the_same_commit_has_the_same_event_id_in_any_push() -> None:
    body = fixture("push__main")
    once = SOURCE.parse(headers("push", body, "delivery-1"), body)
    again = SOURCE.parse(headers("push", body, "delivery-2"), body)
    assert [e.id for e in once[1:]] == [e.id for e in again[1:]]


def test_a_deleted_branch_is_a_push_without_commits() -> None:
    body = fixture("push__branch_deleted")
    events = SOURCE.parse(headers("push", body), body)
    assert [e.kind for e in events] == ["git.push"]
    assert events[0].data["deleted"] is True and events[0].data["branch"] == "feature-x"
    assert events[0].occurred_at == datetime.fromtimestamp(1793437200, UTC)


def test_a_tag_push_names_the_tag() -> None:
    body = fixture("push__tag_created")
    (push,) = SOURCE.parse(headers("push", body), body)
    assert push.data["tag"] == "v1.4.0" and push.data["branch"] is None


def test_ping_and_other_events_give_no_events() -> None:
    body = fixture("ping__default")
    assert SOURCE.parse(headers("ping", body), body) == []
    assert SOURCE.parse(headers("issues", b"{}"), b"{}") == []


def test_events_round_trip_through_json() -> None:
    from togglbridge.events import Event

    body = fixture("push__main")
    for event in SOURCE.parse(headers("push", body), body):
        assert Event.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"ref": "refs/heads/main"}', "missing field 'repository'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_malformed_push_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers("push", body), body)


def test_a_missing_event_header_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="X-GitHub-Event"):
        SOURCE.parse({}, b"{}")


def test_delivery_id_is_read_case_insensitively() -> None:
    assert SOURCE.delivery_id({"x-github-delivery": "abc"}) == "abc"


RECEIVED = datetime(2026, 11, 2, 12, 0, 5, tzinfo=UTC)


def test_a_push_without_pushed_at_takes_its_head_commits_time() -> None:
    # a new branch at an existing commit: no commits, but a head commit; and no repository.pushed_at
    body = fixture("push__zero_commits_without_pushed_at")
    (push,) = SOURCE.parse(headers("push", body), body, RECEIVED)
    assert push.data["commit_count"] == 0 and push.data["created"] is True
    assert push.occurred_at == datetime(2019, 5, 15, 15, 19, 25, tzinfo=UTC)


def test_a_deleted_tag_without_pushed_at_takes_the_time_it_was_received() -> None:
    body = fixture("push__tag_deleted_without_pushed_at")
    (push,) = SOURCE.parse(headers("push", body), body, RECEIVED)
    assert push.data["deleted"] is True and push.data["tag"] == "simple-tag"
    assert push.occurred_at == RECEIVED


def test_without_a_receipt_time_the_parser_reads_the_clock() -> None:
    body = fixture("push__tag_deleted_without_pushed_at")
    before = datetime.now(UTC)
    (push,) = SOURCE.parse(headers("push", body), body)
    assert before <= push.occurred_at <= datetime.now(UTC)


def test_the_octokit_tag_deletion_uses_pushed_at() -> None:
    body = fixture("push__tag_deleted_octokit")
    (push,) = SOURCE.parse(headers("push", body), body, RECEIVED)
    assert push.occurred_at == datetime.fromtimestamp(1557933657, UTC)


def test_a_gitea_push_parses_with_its_own_field_names() -> None:
    body = fixture("push__gitea")
    push, commit = SOURCE.parse(headers("push", body), body, RECEIVED)
    assert push.occurred_at == datetime(2017, 3, 13, 17, 52, 11, tzinfo=UTC)
    assert push.actor == "someone@gitea.io"
    assert [h.handle for h in push.actor_handles] == ["gitea"]
    assert push.data["compare"].endswith("...bffeb74224043ba2feb48d137756c8a9331c449a")
    assert push.data["branch"] == "develop" and push.data["commit_count"] == 1
    assert commit.data["repo"]["full_name"] == "gitea/webhooks"
    assert commit.data["message"] == "Webhooks Yay!\n" and commit.data["modified"] == 1


def test_a_head_commit_that_is_not_an_object_is_a_payload_error() -> None:
    body = b'{"ref": "refs/heads/x", "repository": {"full_name": "a/b"}, "head_commit": 5}'
    with pytest.raises(PayloadError, match="head_commit"):
        SOURCE.parse(headers("push", body), body)
