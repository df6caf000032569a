"""GitLab pushes through the whole pipeline: over real HTTP with the webhook's token to the receiver, through a real
worker process, to entries in the simulator. A wrong token enqueues nothing; a commit delivered twice (a
redelivery, the same commit pushed to another branch) is logged once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipeline_support import Pipeline, entries_of, running_pipeline, wait_for
from togglbridge.sources.git import commit_id
from togglbridge.sources.github_payloads import commit_sha
from togglbridge.store import keys
from togglbridge.store.redis_server import RedisServer

pytestmark = pytest.mark.integration

TOKEN = "pipeline-gitlab-token"
PROJECT = "acme/platform/webapp"  # a subgroup's project: the id of its commits names the whole path


def rule_file(alice: str, bob: str) -> str:
    return f"""
defaults:
  created_with: togglbridge-tests
identities:
  {alice}:
    emails: [{alice}@acme.io]
  {bob}:
    gitlab: [{bob}]
rules:
  - name: commits
    on: git.commit
    do:
      - log: {{description: "{{{{ repo.name }}}}: {{{{ message | first_line }}}}", duration: 10m}}
"""


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    alice, bob = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("alice", "bob"))
    with running_pipeline(
        redis_server.url,
        rule_file(alice, bob),
        Path(tmp_path_factory.mktemp("gitlab-pipeline")),
        [alice, bob],
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"},
        source_secrets={"gitlab": TOKEN},
    ) as running:
        yield running


def gitlab_commit(sha: str, message: str, at: datetime, email: str) -> dict[str, Any]:
    return {
        "id": sha,
        "message": message,
        "title": message.split("\n")[0],
        "timestamp": at.isoformat(),
        "url": f"https://gitlab.example.com/{PROJECT}/-/commit/{sha}",
        "author": {"name": "Someone", "email": email},
        "added": [],
        "modified": ["src/app.py"],
        "removed": [],
    }


def push_payload(
    username: str, email: str, commits: list[dict[str, Any]], *, branch: str = "main"
) -> dict[str, Any]:
    """A ``Push Hook`` body shaped as GitLab documents it."""
    after = commits[-1]["id"] if commits else "0" * 40
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": commit_sha("before", after),
        "after": after,
        "ref": f"refs/heads/{branch}",
        "checkout_sha": after,
        "user_id": 4,
        "user_name": username.title(),
        "user_username": username,
        "user_email": email,
        "project_id": 15,
        "project": {
            "id": 15,
            "name": "WebApp",
            "web_url": f"https://gitlab.example.com/{PROJECT}",
            "path_with_namespace": PROJECT,
            "visibility_level": 0,
            "default_branch": "main",
        },
        "commits": commits,
        "total_commits_count": len(commits),
    }


def send(
    pipeline: Pipeline, payload: dict[str, Any], *, token: str = TOKEN, delivery: str | None = None
) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": token,
        "Idempotency-Key": delivery or str(uuid.uuid4()),
    }
    return httpx.post(
        f"{pipeline.url}/hooks/gitlab", content=json.dumps(payload), headers=headers, timeout=10
    )


def plans_of(pipeline: Pipeline, event_id: str) -> list[dict[str, Any]]:
    """The worker's plans for the event, one per delivery that carried it."""
    records = [json.loads(r) for r in pipeline.redis.lrange(keys.journal(event_id), 0, -1)]
    return [r for r in records if r.get("stage") == "planned"]


def fates_of(pipeline: Pipeline, event_id: str) -> list[str]:
    """What became of each action planned for the event, in the journal's words."""
    records = [json.loads(r) for r in pipeline.redis.lrange(keys.journal(event_id), 0, -1)]
    return [
        r["stage"] + (f": {r['reason']}" if r.get("reason") else "")
        for r in records
        if r.get("stage") in {"applied", "skipped"}
    ]


def descriptions(pipeline: Pipeline, identity: str) -> list[str]:
    return sorted(str(e["description"]) for e in entries_of(pipeline, identity))


AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_a_gitlab_push_becomes_entries_merge_commits_aside(pipeline: Pipeline) -> None:
    alice = pipeline.identities[0]
    commits = [
        gitlab_commit(commit_sha(alice, 1), "Add the export\n\nbody", AT, f"{alice}@acme.io"),
        gitlab_commit(
            commit_sha(alice, 2), "Test the export", AT + timedelta(minutes=20), f"{alice}@acme.io"
        ),
        gitlab_commit(
            commit_sha(alice, 3),
            "Merge branch 'export' into 'main'\n\nSee merge request acme/platform/webapp!3",
            AT + timedelta(minutes=30),
            f"{alice}@acme.io",
        ),
    ]
    response = send(pipeline, push_payload("alice.gl", f"{alice}@acme.io", commits))
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 4  # the push and its three commits
    assert commit_id(PROJECT, commits[0]["id"]) in response.json()["events"]
    ids = [commit_id(PROJECT, c["id"]) for c in commits]
    wait_for(lambda: [fates_of(pipeline, i) for i in ids[:2]] == [["applied"]] * 2, what="the entries")
    merge = wait_for(lambda: plans_of(pipeline, ids[2]), what="the merge commit's plan")
    assert merge[0]["actions"] == []  # no rule here asks for merge commits
    entries = entries_of(pipeline, alice)
    assert sorted(e["description"] for e in entries) == ["webapp: Add the export", "webapp: Test the export"]
    assert {e["duration"] for e in entries} == {600}


def test_a_pusher_whose_email_gitlab_redacts_is_found_by_username(pipeline: Pipeline) -> None:
    bob = pipeline.identities[1]
    commits = [gitlab_commit(commit_sha(bob, 1), "Tidy the README", AT + timedelta(hours=2), "[REDACTED]")]
    response = send(pipeline, push_payload(bob, "[REDACTED]", commits))
    assert response.status_code == 202, response.text
    wait_for(lambda: descriptions(pipeline, bob) == ["webapp: Tidy the README"], what="bob's entry")


def test_a_wrong_token_is_a_401_and_nothing_is_enqueued(pipeline: Pipeline) -> None:
    alice = pipeline.identities[0]
    commits = [
        gitlab_commit(commit_sha(alice, "forged"), "Forged", AT + timedelta(hours=3), f"{alice}@acme.io")
    ]
    journalled = pipeline.redis.llen(keys.JOURNAL_INDEX)
    for token in ("not-the-token", TOKEN + "x", ""):
        response = send(
            pipeline, push_payload("alice.gl", f"{alice}@acme.io", commits), token=token, delivery="f"
        )
        assert response.status_code == 401, response.text
        assert TOKEN not in response.text
    # The receiver enqueues before it answers: had it accepted anything, the journal would hold it already.
    assert pipeline.redis.llen(keys.JOURNAL_INDEX) == journalled
    assert not pipeline.redis.exists(keys.journal(commit_id(PROJECT, commits[0]["id"])))
    assert not pipeline.redis.exists(keys.seen("gitlab", "f"))


def test_a_commit_delivered_again_is_logged_once(pipeline: Pipeline) -> None:
    alice = pipeline.identities[0]
    before = len(entries_of(pipeline, alice))
    commits = [
        gitlab_commit(commit_sha(alice, "once"), "Logged once", AT + timedelta(hours=4), f"{alice}@acme.io")
    ]
    event = commit_id(PROJECT, commits[0]["id"])
    payload = push_payload("alice.gl", f"{alice}@acme.io", commits)
    first = send(pipeline, payload, delivery="gitlab-once-1")
    same_delivery = send(pipeline, payload, delivery="gitlab-once-1")
    redelivery = send(
        pipeline, payload, delivery="gitlab-once-2"
    )  # GitLab's "Resend request" is a new delivery
    other_branch = send(pipeline, push_payload("alice.gl", f"{alice}@acme.io", commits, branch="release"))
    assert [r.status_code for r in (first, same_delivery, redelivery, other_branch)] == [202, 200, 202, 202]
    assert same_delivery.json()["status"] == "duplicate"
    # Each of the three deliveries that carried the commit has met its fate: one applied, two found it done.
    fates = wait_for(
        lambda: len(fates_of(pipeline, event)) == 3 and fates_of(pipeline, event), what="the fates"
    )
    assert sorted(fates) == ["applied", "skipped: already applied", "skipped: already applied"]
    assert len(entries_of(pipeline, alice)) == before + 1
    assert descriptions(pipeline, alice).count("webapp: Logged once") == 1
