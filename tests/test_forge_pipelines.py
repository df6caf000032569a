"""Gitea, Forgejo and Bitbucket Cloud through the whole pipeline: a signed push over real HTTP to the receiver,
a real worker process, entries in the simulator. A wrong signature is a 401 that leaves nothing behind; the same
commit delivered twice (two deliveries, as a re-sent webhook or a second hook on the repository makes) is logged
once."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.hostile_support import waiting_actions
from tests.pipeline_support import Pipeline, entries_of, running_pipeline, wait_for
from tests.sources.harness import SENDERS
from togglbridge.sources import SOURCES
from togglbridge.store import keys

pytestmark = pytest.mark.integration

GITEA_SECRET = "pipeline-gitea-secret"
BITBUCKET_SECRET = "pipeline-bitbucket-secret"
START = datetime(2026, 11, 2, 9, tzinfo=UTC)

RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m, tags: [code]}
"""


def rule_file(identities: list[str]) -> str:
    listed = "".join(
        f"  {name}:\n    emails: [{name}@acme.io]\n    gitea: [{name}]\n    bitbucket: [{name}]\n"
        for name in identities
    )
    return "defaults:\n  created_with: togglbridge-tests\nidentities:\n" + listed + RULES


@pytest.fixture(scope="module")
def pipeline(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    identities = [f"forge{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    with running_pipeline(
        redis_server.url,
        rule_file(identities),
        tmp_path_factory.mktemp("forges"),
        identities,
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"},
        source_secrets={"gitea": GITEA_SECRET, "bitbucket": BITBUCKET_SECRET},
    ) as running:
        yield running


def _sha(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]  # a sha-1's length


def gitea_body(identity: str, commits: int, repo: str) -> tuple[bytes, list[str]]:
    """A Gitea push of ``commits`` commits by ``identity`` (newest first, as Gitea lists them) and their shas."""
    listed = [
        {
            "id": _sha(repo, identity, n),
            "message": f"Commit {n}\n\nbody",
            "url": f"https://git.example.org/{repo}/commit/{_sha(repo, identity, n)}",
            "author": {"name": identity, "email": f"{identity}@acme.io", "username": identity},
            "committer": {"name": identity, "email": f"{identity}@acme.io", "username": identity},
            "timestamp": (START + timedelta(minutes=7 * n)).isoformat(),
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }
        for n in range(commits)
    ][::-1]
    user = {"id": 3, "login": identity, "username": identity, "email": f"{identity}@acme.io"}
    payload = {
        "ref": "refs/heads/main",
        "before": _sha(repo, "before"),
        "after": listed[0]["id"],
        "compare_url": f"https://git.example.org/{repo}/compare/x...y",
        "commits": listed,
        "total_commits": commits,
        "head_commit": listed[0],
        "repository": {"full_name": repo, "name": repo.split("/")[1], "private": True},
        "pusher": user,
        "sender": user,
    }
    return json.dumps(payload).encode(), [str(c["id"]) for c in reversed(listed)]


def bitbucket_body(identity: str, commits: int, repo: str) -> tuple[bytes, list[str]]:
    """A Bitbucket repo:push of one change with ``commits`` commits by ``identity`` (newest first)."""
    shas = [_sha(repo, identity, n) for n in range(commits)]
    listed = [
        {
            "type": "commit",
            "hash": sha,
            "date": (START + timedelta(minutes=7 * n)).isoformat(),
            "author": {
                "type": "author",
                "raw": f"{identity} <{identity}@acme.io>",
                "user": {"nickname": identity, "display_name": identity, "type": "user"},
            },
            "message": f"Commit {n}\n\nbody",
            "links": {"html": {"href": f"https://bitbucket.org/{repo}/commits/{sha}"}},
            "parents": [{"hash": shas[n - 1] if n else _sha(repo, "before"), "type": "commit"}],
        }
        for n, sha in enumerate(shas)
    ][::-1]
    change = {
        "old": {"type": "branch", "name": "main", "target": {"hash": _sha(repo, "before")}},
        "new": {"type": "branch", "name": "main", "target": {"hash": shas[-1], "date": listed[0]["date"]}},
        "created": False,
        "closed": False,
        "forced": False,
        "truncated": False,
        "commits": listed,
    }
    payload = {
        "push": {"changes": [change]},
        "actor": {"nickname": identity, "display_name": identity, "type": "user"},
        "repository": {"full_name": repo, "name": repo.split("/")[1], "is_private": True},
    }
    return json.dumps(payload).encode(), shas


Body = Callable[[str, int, str], tuple[bytes, list[str]]]
# sender name in the test harness -> (endpoint, secret, body maker)
SENDS: dict[str, tuple[str, str, Body]] = {
    "gitea": ("gitea", GITEA_SECRET, gitea_body),
    "forgejo": ("gitea", GITEA_SECRET, gitea_body),  # Forgejo's X-Forgejo-* headers, the same endpoint
    "bitbucket": ("bitbucket", BITBUCKET_SECRET, bitbucket_body),
}


def send(
    pipeline: Pipeline, sender: str, body: bytes, delivery: str, *, secret: str | None = None
) -> httpx.Response:
    endpoint, right_secret, _ = SENDS[sender]
    event = "push"
    unsigned = {"Content-Type": "application/json", **SENDERS[sender].headers(event, delivery)}
    signed = SOURCES[endpoint].sign(unsigned, body, secret or right_secret, datetime.now(UTC))
    return httpx.post(f"{pipeline.url}/hooks/{endpoint}", content=body, headers=signed, timeout=10)


def settled(pipeline: Pipeline, identity: str, event_id: str) -> bool:
    """The event was planned and nothing the identity has waits in its outbox any more."""
    records = [json.loads(r) for r in pipeline.redis.lrange(keys.journal(event_id), 0, -1)]
    planned = any(r.get("stage") == "planned" for r in records)
    return planned and not waiting_actions(pipeline.redis, identity)


@pytest.mark.parametrize(("sender", "slot"), [("gitea", 0), ("forgejo", 1), ("bitbucket", 2)])
def test_a_signed_push_becomes_one_entry_per_commit(pipeline: Pipeline, sender: str, slot: int) -> None:
    identity = pipeline.identities[slot]
    make = SENDS[sender][2]
    repo = f"acme/{sender}-app"
    body, shas = make(identity, 2, repo)
    response = send(pipeline, sender, body, f"{sender}-{uuid.uuid4()}")
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3  # the push and its two commits
    entries = wait_for(lambda: len(entries_of(pipeline, identity)) == 2 and entries_of(pipeline, identity))
    assert sorted(e["description"] for e in entries) == [f"{sender}-app: Commit 0", f"{sender}-app: Commit 1"]
    assert {e["duration"] for e in entries} == {600}
    for sha in shas:
        records = [json.loads(r) for r in pipeline.redis.lrange(keys.journal(f"git:{repo}:{sha}"), 0, -1)]
        assert any(r.get("stage") == "applied" for r in records), records


@pytest.mark.parametrize("sender", ["gitea", "forgejo", "bitbucket"])
def test_a_wrong_signature_is_a_401_and_nothing_is_enqueued(pipeline: Pipeline, sender: str) -> None:
    endpoint, _, make = SENDS[sender]
    repo = f"acme/{sender}-forged"
    body, shas = make(pipeline.identities[5], 1, repo)
    delivery = f"forged-{uuid.uuid4()}"
    response = send(pipeline, sender, body, delivery, secret="not-the-secret")
    assert response.status_code == 401, response.text
    assert "not-the-secret" not in response.text and SENDS[sender][1] not in response.text
    assert not pipeline.redis.exists(keys.journal(f"git:{repo}:{shas[0]}"))
    assert not pipeline.redis.exists(keys.seen(endpoint, delivery))
    assert not pipeline.redis.exists(keys.journal(f"{endpoint}:push:{delivery}"))


@pytest.mark.parametrize(("sender", "slot"), [("gitea", 3), ("bitbucket", 4)])
def test_the_same_commit_through_two_deliveries_is_logged_once(
    pipeline: Pipeline, sender: str, slot: int
) -> None:
    identity = pipeline.identities[slot]
    endpoint, _, make = SENDS[sender]
    body, _ = make(identity, 2, f"acme/{sender}-twice")
    first, second = f"{sender}-first-{uuid.uuid4()}", f"{sender}-second-{uuid.uuid4()}"
    assert send(pipeline, sender, body, first).status_code == 202
    wait_for(lambda: len(entries_of(pipeline, identity)) == 2)
    # A redelivery of the same delivery is refused as a duplicate before it reaches a worker.
    again = send(pipeline, sender, body, first)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    # Another delivery of the same commits is accepted (its push is new), and its commits plan to what is done.
    assert send(pipeline, sender, body, second).status_code == 202
    push_id = f"{endpoint}:push:{second}" + (":0" if endpoint == "bitbucket" else "")
    wait_for(lambda: settled(pipeline, identity, push_id), what="the second delivery")
    assert len(entries_of(pipeline, identity)) == 2
