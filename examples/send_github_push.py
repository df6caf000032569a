#!/usr/bin/env python3
"""Send a signed GitHub push to a running togglbridge (`make run`), as GitHub would.

    .venv/bin/python examples/send_github_push.py                 # 3 commits by alice@acme.io to acme/webapp
    .venv/bin/python examples/send_github_push.py --commits 5 --repo acme/api --author bob@acme.io

The secret is TOGGLBRIDGE_GITHUB_SECRET, or the demo secret that `make run` uses when that is unset. Commit times
fall on the last weekday at 10:00 (Europe/Berlin), inside the example rule file's working hours, so the demo
logs time on any day. Then look at:  GET http://127.0.0.1:8080/api/journal  and  togglbridge status
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from togglbridge.demo import DEMO_SECRETS  # the well-known value `make run` uses, only for trying it


def last_weekday_morning(zone: str = "Europe/Berlin") -> datetime:
    day = datetime.now(ZoneInfo(zone))
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0)


def push_payload(repo: str, author: str, commits: int, start: datetime) -> dict[str, object]:
    listed = []
    for index in range(commits):
        sha = hashlib.sha1(
            f"{repo}{author}{start}{index}{uuid.uuid4()}".encode(), usedforsecurity=False
        ).hexdigest()
        listed.append(
            {
                "id": sha,
                "distinct": True,
                "message": f"Demo commit {index + 1} (DEMO-{100 + index})\n\nSent by examples/send_github_push.py",
                "timestamp": (start + timedelta(minutes=25 * index)).isoformat(),
                "url": f"https://github.com/{repo}/commit/{sha}",
                "author": {"name": author.split("@")[0], "email": author, "username": author.split("@")[0]},
                "added": [],
                "removed": [],
                "modified": ["README.md"],
            }
        )
    owner, name = repo.split("/", 1)
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": listed[-1]["id"],
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {
            "full_name": repo,
            "name": name,
            "owner": {"login": owner},
            "html_url": f"https://github.com/{repo}",
        },
        "pusher": {"name": author.split("@")[0], "email": author},
        "sender": {"login": author.split("@")[0]},
        "commits": listed,
        "head_commit": listed[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080/hooks/github")
    parser.add_argument("--repo", default="acme/webapp")
    parser.add_argument("--author", default="alice@acme.io")
    parser.add_argument("--commits", type=int, default=3)
    args = parser.parse_args()

    secret = os.environ.get("TOGGLBRIDGE_GITHUB_SECRET") or DEMO_SECRETS["github_secret"]
    body = json.dumps(
        push_payload(args.repo, args.author, max(1, args.commits), last_weekday_morning())
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    response = httpx.post(args.url, content=body, headers=headers, timeout=10)
    print(response.status_code, response.text)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
