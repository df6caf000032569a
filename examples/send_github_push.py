#!/usr/bin/env python3
"""Send a signed GitHub push to a running togglbridge (`make run`), as GitHub would.

    .venv/bin/python examples/send_github_push.py                 # 3 commits by alice@acme.io to acme/webapp
    .venv/bin/python examples/send_github_push.py --commits 5 --repo acme/api --author bob@acme.io

The secret is TOGGLBRIDGE_GITHUB_SECRET, or the demo secret that `make run` uses when that is unset. Commit times
fall on the last weekday at 10:00 (Europe/Berlin), inside the example rule file's working hours, so the demo
logs time on any day. Then look at the dashboard (the link `make run` prints) or `togglbridge status`.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from togglbridge.demo import DEMO_SECRETS  # the well-known value `make run` uses, only for trying it
from togglbridge.sources.github_payloads import delivery_headers, push_body, spaced_commits


def last_weekday_morning(zone: str = "Europe/Berlin") -> datetime:
    day = datetime.now(ZoneInfo(zone))
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080/hooks/github")
    parser.add_argument("--repo", default="acme/webapp")
    parser.add_argument("--author", default="alice@acme.io")
    parser.add_argument("--commits", type=int, default=3)
    args = parser.parse_args()

    secret = os.environ.get("TOGGLBRIDGE_GITHUB_SECRET") or DEMO_SECRETS["github"]
    login = args.author.split("@")[0]
    commits = spaced_commits(
        max(1, args.commits),
        start=last_weekday_morning(),
        every=timedelta(minutes=25),
        salt=uuid.uuid4(),  # new commits on every run, so each run logs time
        message="Demo commit (DEMO-{n})\n\nSent by examples/send_github_push.py",
        first=100,
    )
    body = push_body(login, commits, repo=args.repo, email=args.author)
    headers = delivery_headers(body, secret)
    response = httpx.post(args.url, content=body, headers=headers, timeout=10)
    print(response.status_code, response.text)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
