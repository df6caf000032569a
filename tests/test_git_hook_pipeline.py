"""The local git hook end to end: a real repository with the hook installed, real commits, the hook's background
send over real HTTP to the receiver, a real worker, entries in the simulator. The bridge down (the commit spooled,
sent with the next one), a wrong secret (401, nothing queued, the spool kept), and the same commit from the hook
and then from a GitHub push (logged once)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.git_hook_support import closed_port_url, commit, new_repo, run_git
from tests.pipeline_support import Pipeline, entries_of, running_pipeline, send_push, wait_for
from togglbridge import git_hook_client as client
from togglbridge.cli import main
from togglbridge.cli.git_hook import install
from togglbridge.sources import github_payloads
from togglbridge.sources.git import commit_id
from togglbridge.store import keys
from togglbridge.store.redis_server import RedisServer

pytestmark = pytest.mark.integration

SECRET = "git-hook-pipeline-secret-0123456789"
RULES = """
rules:
  - name: commits
    on: git.commit
    do:
      - log: {description: "{{ repo.name }}: {{ message | first_line }}", duration: 10m, tags: [code]}
"""


def rule_file(identities: list[str]) -> str:
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    return "defaults:\n  created_with: togglbridge-tests\nidentities:\n" + listed + RULES


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    identities = [f"dev{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    with running_pipeline(
        redis_server.url,
        rule_file(identities),
        tmp_path_factory.mktemp("git-hook-pipeline"),
        identities,
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"},
        source_secrets={"git": SECRET},
    ) as running:
        yield running


def repository(tmp_path: Path, identity: str) -> tuple[Path, str]:
    name = f"acme/{identity}"
    return new_repo(
        tmp_path / identity, email=f"{identity}@acme.io", origin=f"git@github.com:{name}.git"
    ), name


def sends(repo: Path) -> int:
    """How many sends the hook has finished (each ends in a ``sent`` or ``error`` line of its log)."""
    log = client.state_dir(repo) / client.LOG_FILE
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.split(" ")[1:2] in (["sent"], ["error"]))


def commit_and_wait(repo: Path, message: str, secret: str = SECRET) -> str:
    """Commit with the secret in the committer's environment, and wait for the hook's send to finish."""
    before = sends(repo)
    sha = commit(repo, message, TOGGLBRIDGE_GIT_HOOK_SECRET=secret)
    wait_for(lambda: sends(repo) > before, timeout=30, what="the hook's send")
    return sha


def spooled(repo: Path) -> int:
    return len(client.read_spool(client.state_dir(repo)))


def status_of(repo: Path) -> str:
    result = CliRunner().invoke(main, ["git-hook", "status", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_commit_becomes_an_entry_and_one_made_while_the_bridge_is_down_follows_the_next(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    identity = pipeline.identities[0]
    repo, _ = repository(tmp_path, identity)
    install(repo, pipeline.url)
    commit_and_wait(repo, "First change")
    wait_for(lambda: len(entries_of(pipeline, identity)) == 1, what="the first entry")
    assert entries_of(pipeline, identity)[0]["description"] == f"{identity}: First change"
    assert spooled(repo) == 0

    install(repo, closed_port_url())  # the bridge is unreachable from here on
    commit_and_wait(repo, "Second change")
    assert spooled(repo) == 1
    status = status_of(repo)
    assert "spooled: 1 commit" in status and "cannot be reached" in status

    install(repo, pipeline.url)  # reachable again
    commit_and_wait(repo, "Third change")
    assert spooled(repo) == 0 and "spooled: 0 commits" in status_of(repo)
    wait_for(lambda: len(entries_of(pipeline, identity)) == 3, what="the spooled and the new entry")
    assert sorted(e["description"] for e in entries_of(pipeline, identity)) == [
        f"{identity}: First change",
        f"{identity}: Second change",
        f"{identity}: Third change",
    ]


def test_a_wrong_secret_is_a_401_with_nothing_queued_and_the_spool_kept(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    identity = pipeline.identities[1]
    repo, name = repository(tmp_path, identity)
    install(repo, pipeline.url)
    sha = commit_and_wait(repo, "Signed wrongly", secret="not-the-bridges-secret-0123456789")
    assert spooled(repo) == 1
    assert "401" in status_of(repo)
    assert not pipeline.redis.exists(keys.journal(commit_id(name, sha)))  # the receiver queued nothing

    body, delivery = client.delivery_body(client.read_spool(client.state_dir(repo)))
    forged = httpx.post(
        f"{pipeline.url}/hooks/git",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Togglbridge-Signature": "sha256=" + "0" * 64,
            "X-Togglbridge-Delivery": delivery,
        },
        timeout=10,
    )
    assert forged.status_code == 401
    assert not pipeline.redis.exists(keys.journal(commit_id(name, sha)))

    commit_and_wait(repo, "Signed rightly")  # the right secret: the kept commit goes with this one
    assert spooled(repo) == 0
    wait_for(lambda: len(entries_of(pipeline, identity)) == 2, what="both entries")


def test_the_same_commit_from_the_hook_and_then_a_github_push_is_logged_once(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    identity = pipeline.identities[2]
    repo, name = repository(tmp_path, identity)
    install(repo, pipeline.url)
    sha = commit_and_wait(repo, "Made here, pushed later")
    wait_for(lambda: len(entries_of(pipeline, identity)) == 1, what="the hook's entry")

    committed = datetime.fromisoformat(run_git(repo, "show", "-s", "--format=%cI", sha))
    listed = [
        github_payloads.PushedCommit(sha, committed, "Made here, pushed later"),
        # A commit the hook never saw: once its entry is there, the worker has handled the push's other commit.
        github_payloads.PushedCommit(
            github_payloads.commit_sha(identity, "pushed"), committed, "Only pushed"
        ),
    ]
    response = send_push(pipeline, github_payloads.push_body(identity, listed, repo=name))
    assert response.status_code == 202, response.text
    wait_for(lambda: len(entries_of(pipeline, identity)) >= 2, what="the pushed-only commit's entry")
    assert sorted(e["description"] for e in entries_of(pipeline, identity)) == [
        f"{identity}: Made here, pushed later",
        f"{identity}: Only pushed",
    ]
