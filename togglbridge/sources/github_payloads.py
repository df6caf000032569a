"""GitHub push payloads shaped like GitHub's, for whatever sends a push that is not GitHub: the tests, the
benchmarks and ``examples/send_github_push.py``.

It lives in the package because the example sender runs as a script with only the installed package importable
(``tests/`` and ``bench/`` are not packages an installation carries), and production code must never import
tests. Nothing on the bridge's own path imports it: it only writes payloads, which ``github.parse`` reads like any
other delivery.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from togglbridge.sources.github import SIGNATURE


@dataclass(frozen=True, slots=True)
class PushedCommit:
    sha: str
    at: datetime  # aware
    message: str


def commit_sha(*parts: object) -> str:
    """A made-up sha, the same for the same parts (so a push built twice is the same push)."""
    return hashlib.sha1("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def spaced_commits(
    count: int,
    *,
    start: datetime,
    every: timedelta = timedelta(minutes=1),
    salt: object = "",
    message: str = "Commit {n}\n\nA body that explains the change.",
    first: int = 0,
) -> list[PushedCommit]:
    """``count`` commits ``every`` apart from ``start``, numbered from ``first`` (``{n}`` in ``message``); their
    shas depend on ``salt`` and the number, so distinct salts give distinct commits."""
    return [
        PushedCommit(commit_sha(salt, n), start + every * i, message.format(n=n))
        for i, n in enumerate(range(first, first + count))
    ]


def push_payload(
    author: str,
    commits: Sequence[PushedCommit],
    *,
    repo: str = "acme/webapp",
    email: str | None = None,
    branch: str = "main",
) -> dict[str, Any]:
    """A push of ``commits`` (oldest first) by the GitHub user ``author`` (``<author>@acme.io`` unless ``email``
    says otherwise) with the fields a real delivery carries (about 1.5 KB plus 0.7 KB a commit)."""
    email = email or f"{author}@acme.io"
    owner, name = repo.split("/", 1)
    person = {"name": author, "email": email, "username": author}
    listed = [
        {
            "id": commit.sha,
            "tree_id": commit_sha("tree", commit.sha),
            "distinct": True,
            "message": commit.message,
            "timestamp": commit.at.isoformat(),
            "url": f"https://github.com/{repo}/commit/{commit.sha}",
            "author": person,
            "committer": person,
            "added": [],
            "removed": [],
            "modified": ["src/app.py", "tests/test_app.py"],
        }
        for commit in commits
    ]
    before = commit_sha("before", author, repo, *(commit.sha for commit in commits))
    after = commits[-1].sha if commits else commit_sha("empty", author, repo)
    repository: dict[str, Any] = {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": repo,
        "private": True,
        "owner": {"name": owner, "email": None, "login": owner, "id": 21031067, "type": "Organization"},
        "html_url": f"https://github.com/{repo}",
        "description": "A repository pushed to by togglbridge's tests, benchmarks and examples",
        "fork": False,
        "url": f"https://github.com/{repo}",
        "created_at": 1557933565,
        "default_branch": branch,
        "master_branch": branch,
        "organization": owner,
    }
    if commits:
        repository["pushed_at"] = int(commits[-1].at.timestamp())
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": after,
        "repository": repository,
        "pusher": {"name": author, "email": email},
        "sender": {"login": author, "id": 1234, "type": "User", "site_admin": False},
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{repo}/compare/{before[:12]}...{after[:12]}",
        "commits": listed,
        "head_commit": listed[-1] if listed else None,
    }


def push_body(author: str, commits: Sequence[PushedCommit], **options: Any) -> bytes:
    """``push_payload`` as the bytes a delivery carries."""
    return json.dumps(push_payload(author, commits, **options)).encode()


def delivery_headers(
    body: bytes, secret: str, *, event: str = "push", delivery: str | None = None
) -> dict[str, str]:
    """The headers GitHub sends with ``body``: its event, a delivery id (a fresh one unless given) and the
    signature."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        **SIGNATURE.sign(body, secret),
    }
