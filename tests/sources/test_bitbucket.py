"""The Bitbucket Cloud source: every fixture against its golden events, signatures, and what the goldens cannot
show (a push of several changes, truncated commit lists, errors, ids across deliveries, the clock)."""

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
from togglbridge.sources.bitbucket import SOURCE, explain_headers, recognizes

SENDER = harness.SENDERS["bitbucket"]
SECRET = SENDER.secret
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BITBUCKET = harness.FIXTURES / "bitbucket"
PUSH = BITBUCKET / "push__main.json"


def headers(
    event: str, body: bytes, delivery: str = "9d8a1f4e-5b6c-4d7e-8f90-a1b2c3d4e5f6"
) -> dict[str, str]:
    return SENDER.signed_headers(event, body, delivery)


def payload(path: Path = PUSH) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def parse(body: dict[str, Any], delivery: str = "delivery-1") -> list[Event]:
    raw = json.dumps(body).encode()
    return SOURCE.parse(headers("push", raw, delivery), raw, harness.RECEIVED_AT)


@harness.each_fixture("bitbucket")
def test_each_fixture_makes_its_golden_events(fixture: Path, update_golden: bool) -> None:
    harness.assert_golden(fixture, update_golden)


def test_no_golden_file_outlives_its_fixture() -> None:
    assert harness.orphan_goldens("bitbucket") == []


@harness.each_fixture("bitbucket")
def test_events_round_trip_through_json(fixture: Path) -> None:
    for event in harness.receive(fixture):
        assert Event.model_validate_json(event.model_dump_json()) == event


def test_the_source_is_registered_with_its_handle_list() -> None:
    assert SOURCES["bitbucket"] is SOURCE
    assert SOURCE.variable == "TOGGLBRIDGE_BITBUCKET_SECRET"
    assert SOURCE.handle is not None and SOURCE.handle.platform == "bitbucket"


# -- signatures --------------------------------------------------------------------------------------------------


def test_a_signature_is_sha256_prefixed_hex_hmac_of_the_body() -> None:
    body = b'{"push": {"changes": []}}'
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers("push", body)["X-Hub-Signature"] == expected
    SOURCE.verify({"x-hub-signature": expected}, body, SECRET, NOW)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-Hub-Signature header"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha1=" + "0" * 40, "does not match"),
        ("0" * 64, "does not match"),  # Gitea's bare hex is not Bitbucket's scheme
        ("garbage", "does not match"),
        ("sha256=é", "does not match"),
    ],
)
def test_a_bad_signature_is_refused(signature: str | None, reason: str) -> None:
    request_headers = {} if signature is None else {"X-Hub-Signature": signature}
    with pytest.raises(SignatureError, match=reason):
        SOURCE.verify(request_headers, b"{}", SECRET, NOW)


def test_the_bare_digest_without_its_prefix_is_refused() -> None:
    body = b"{}"
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        SOURCE.verify({"X-Hub-Signature": digest}, body, SECRET, NOW)


def test_the_signature_covers_the_raw_body() -> None:
    body = PUSH.read_bytes()
    with pytest.raises(SignatureError):
        SOURCE.verify(headers("push", body), body + b" ", SECRET, NOW)


# -- what the goldens cannot show -----------------------------------------------------------------------------


def test_the_same_commit_has_the_same_event_id_in_any_delivery() -> None:
    once, again = parse(payload(), "delivery-1"), parse(payload(), "delivery-2")
    assert [e.id for e in once[1:]] == [e.id for e in again[1:]]
    assert once[0].id == "bitbucket:push:delivery-1:0" and again[0].id == "bitbucket:push:delivery-2:0"
    assert once[1].id.startswith("git:dana-w/site:")


def test_each_change_is_a_push_of_its_own_and_a_commit_two_list_is_one_event() -> None:
    body = payload(BITBUCKET / "push__two_branches.json")
    events = parse(body)
    pushes = [e for e in events if e.kind == "git.push"]
    commits = [e for e in events if e.kind == "git.commit"]
    assert [p.data["branch"] for p in pushes] == ["feature/credit-notes", "main"]
    assert len({p.id for p in pushes}) == 2
    assert len({c.id for c in commits}) == len(commits) == 2
    shared = body["push"]["changes"][0]["commits"][0]["hash"]
    assert pushes[1].data["skipped_commits"] == [
        {"sha": shared, "reason": "listed by another change of this push"}
    ]


def test_without_a_delivery_id_each_change_still_has_its_own_push_id() -> None:
    raw = (BITBUCKET / "push__two_branches.json").read_bytes()
    events = SOURCE.parse({"X-Event-Key": "repo:push"}, raw, harness.RECEIVED_AT)
    pushes = [e.id for e in events if e.kind == "git.push"]
    assert len(set(pushes)) == 2 and all(p.startswith("bitbucket:push:refs/heads/") for p in pushes)


def test_commits_listed_newest_first_become_events_oldest_first() -> None:
    body = payload()
    (_, first, second) = parse(body)
    listed = body["push"]["changes"][0]["commits"]
    assert [first.data["sha"], second.data["sha"]] == [listed[1]["hash"], listed[0]["hash"]]


def test_a_truncated_change_names_the_newest_commit_left_out() -> None:
    body = payload(BITBUCKET / "push__many_commits_truncated.json")
    (push, *commits) = parse(body)
    oldest_listed = body["push"]["changes"][0]["commits"][-1]
    assert len(commits) == 5 and push.data["commits_omitted"] == 0  # how many is not in the payload
    assert push.data["skipped_commits"] == [
        {
            "sha": oldest_listed["parents"][0]["hash"],
            "reason": "not listed: Bitbucket lists a change's newest commits only",
        }
    ]


def test_a_deleted_branch_gives_no_commits_and_takes_the_time_it_was_received() -> None:
    (push,) = parse(payload(BITBUCKET / "push__branch_deleted.json"))
    assert push.data["deleted"] is True and push.data["after"] is None
    assert push.data["branch"] == "feature/dunning" and push.occurred_at == harness.RECEIVED_AT


def test_a_deleted_branch_that_lists_commits_skips_them() -> None:
    body = payload(BITBUCKET / "push__branch_deleted.json")
    body["push"]["changes"][0]["commits"] = payload()["push"]["changes"][0]["commits"]
    (push,) = parse(body)
    assert [s["reason"] for s in push.data["skipped_commits"]] == ["the ref was deleted"] * 2


def test_a_merge_is_a_commit_with_two_parents_whatever_its_message() -> None:
    (_, feature, merge) = parse(payload(BITBUCKET / "push__merge_commit.json"))
    assert (feature.data["merge"], merge.data["merge"]) == (False, True)
    assert not merge.data["message"].startswith(
        "Merge "
    )  # "Merged in ...": not a message git.looks_like_merge knows


def test_an_author_without_an_account_is_their_email_from_raw() -> None:
    (_, translated, _) = parse(payload(BITBUCKET / "push__committer_without_account.json"))
    assert translated.actor == "jonas@uebersetzer.example" and translated.actor_handles == ()
    assert translated.data["author"] == {
        "name": "Jonas Becker",
        "email": "jonas@uebersetzer.example",
        "username": None,
    }


def test_a_tag_push_is_a_push_of_the_tag() -> None:
    (push,) = parse(payload(BITBUCKET / "push__tag.json"))
    assert push.data["ref"] == "refs/tags/v3.1.0" and push.data["tag"] == "v3.1.0"
    assert push.data["created"] is True


@pytest.mark.parametrize("event", ["repo:updated", "pullrequest:created", "repo:commit_comment_created"])
def test_event_keys_other_than_push_give_no_events(event: str) -> None:
    raw = b"{}"
    assert SOURCE.parse({"X-Event-Key": event}, raw) == []


def test_without_a_receipt_time_the_parser_reads_the_clock() -> None:
    body = (BITBUCKET / "push__branch_deleted.json").read_bytes()
    before = datetime.now(UTC)
    (push,) = SOURCE.parse(headers("push", body), body)
    assert before <= push.occurred_at <= datetime.now(UTC)


def _change(**fields: Any) -> bytes:
    base: dict[str, Any] = {"repository": {"full_name": "w/r"}, "push": {"changes": [fields]}}
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"push": {"changes": []}}', "missing field 'repository'"),
        (b'{"repository": {"full_name": "w/r"}}', "missing field 'push'"),
        (b'{"repository": {"full_name": "w/r"}, "push": {}}', "missing field 'changes'"),
        (b'{"repository": {"full_name": "w/r"}, "push": {"changes": 5}}', "must be a list"),
        (
            b'{"repository": {"full_name": "w/r"}, "push": {"changes": [5]}}',
            r"changes\[0\] must be an object",
        ),
        (
            b'{"repository": {"full_name": "w/r"}, "actor": "dana", "push": {"changes": []}}',
            "must be an object",
        ),
        (_change(), "missing field 'new'"),
        (_change(new={"type": "branch"}), "missing field 'name'"),
        (_change(new="main"), "must be an object"),
        (_change(new={"name": "m", "target": {"date": "yesterday"}}), "yesterday"),
        (_change(new={"name": "m"}, commits=[{"date": "2026-11-02T09:00:00+00:00"}]), "'hash'"),
        (_change(new={"name": "m"}, commits=[{"hash": "a"}]), "'date'"),
        (_change(new={"name": "m"}, commits=[{"hash": "a", "date": 5}]), "not a date"),
        (_change(new={"name": "m"}, commits=[{"hash": "a", "date": "2026-11-02", "author": "x"}]), "object"),
        (_change(new={"name": "m"}, commits=5), "commits must be a list"),
    ],
)
def test_a_malformed_push_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        SOURCE.parse(headers("push", body), body)


def test_a_missing_event_header_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="X-Event-Key"):
        SOURCE.parse({}, b"{}")


def test_delivery_id_is_read_case_insensitively() -> None:
    assert SOURCE.delivery_id({"x-request-uuid": "abc"}) == "abc"
    assert SOURCE.delivery_id({}) is None


def test_explain_and_recognition() -> None:
    push = payload()
    assert recognizes(push) and not recognizes(payload(harness.FIXTURES / "github" / "push__main.json"))
    assert explain_headers(push)["X-Event-Key"] == "repo:push" and explain_headers(push) == explain_headers(
        push
    )
    assert explain_headers({"repository": {}})["X-Event-Key"] != "repo:push"
