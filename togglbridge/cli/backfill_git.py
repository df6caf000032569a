"""``togglbridge backfill git [--repo PATH] --since DATE [--until DATE] [--author EMAIL] [--branch NAME]
[--repo-name OWNER/REPO] [--dry-run] [--config FILE]``: local history becomes the entries the rules make of
commits, as a push of them would have made them.

A commit's event has the id any forge gives it (``git:<owner/repo>:<sha>``, the name from the ``origin`` remote),
so a commit the bridge logged from a push or the hook is never logged again.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console

from togglbridge import git_repo
from togglbridge.cli.backfill import Row, run
from togglbridge.cli.calendar import config_option
from togglbridge.cli.common import console
from togglbridge.cli.config import default_config_path, rule_file_or_exit
from togglbridge.config import Config
from togglbridge.events import Event
from togglbridge.git_repo import GitError, LocalCommit
from togglbridge.rules.planner import plan
from togglbridge.sources import git
from togglbridge.store.ledger import DONE_TTL_SECONDS

SOURCE = "git"  # the local hook's name: both read commits from a repository, not from a forge


@click.command("git")
@click.option(
    "--repo",
    "repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository.",
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (included; default: today)."
)
@click.option("--author", default=None, help="Only commits whose author matches (git log --author).")
@click.option("--branch", default=None, help="The branch to read (default: the checked-out one).")
@click.option(
    "--repo-name",
    default=None,
    metavar="OWNER/REPO",
    help="The name the forge knows the repository by (default: from the origin remote).",
)
@click.option("--dry-run", is_flag=True, help="Show the entries it would make; send nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Go back further than the bridge remembers what it applied (60 days): such commits may be logged again.",
)
@config_option
def backfill_git(
    repo: Path,
    since: datetime,
    until: datetime | None,
    author: str | None,
    branch: str | None,
    repo_name: str | None,
    dry_run: bool,
    force: bool,
    config_file: Path | None,
) -> None:
    """Commits of a local repository made between --since and --until (both included, in the rule file's
    timezone) go through the rules as if they had been pushed: logged at bulk priority, with a progress bar until
    they are applied and a table of what became of each. Commits the bridge logged already are skipped."""
    config = rule_file_or_exit(config_file or default_config_path())
    out = Console(highlight=False)
    today = datetime.now(config.defaults.zone).date()
    last = until.date() if until else today
    remembered = today - timedelta(seconds=DONE_TTL_SECONDS) + timedelta(days=1)
    if since.date() < remembered and not force and not dry_run:
        raise click.BadParameter(
            f"the bridge remembers what it applied for {DONE_TTL_SECONDS // 86400} days: commits before {remembered} "
            "that it logged then (from a push or the hook) would be logged again. Start on that day, or give --force.",
            param_hint="--since",
        )
    if last < since.date():
        raise click.BadParameter(
            f"the last day ({last}) is before the first ({since.date()})", param_hint="--until"
        )
    try:
        name = repo_name or git_repo.origin_full_name(repo)
        if name is None:
            name = f"local/{repo.resolve().name}"
            out.print(
                f"[yellow]no forge remote (origin): its commits are named {name}[/yellow]; give --repo-name "
                "OWNER/REPO so that they have the ids a push of them gives"
            )
        branch = branch or git_repo.current_branch(repo) or "HEAD"
        found = git_repo.commits(
            repo,
            revision=branch,
            since=_midnight(since.date(), config),
            until=_midnight(last + timedelta(days=1), config),
            author=author,
        )
    except GitError as error:
        console.print(f"[red]{error}[/red]")
        sys.exit(1)
    events = commit_events(found, full_name=name, branch=branch)
    rows = [Row(_when(event, config), _subject(event), event, plan(event, config)) for event in events]
    title = f"{name} ({branch}): " + ("what a backfill would do (nothing sent)" if dry_run else "backfill")
    run(rows, dry_run=dry_run, title=title, out=out, what_header="Commit")
    out.print(f"{len(rows)} commit(s) from {since.date()} to {last}.")
    if any(row.result.startswith("failed") for row in rows):
        sys.exit(1)


def commit_events(commits: list[LocalCommit], *, full_name: str, branch: str) -> list[Event]:
    """The ``git.commit`` events a push of these commits would give (same ids and data), at bulk priority."""
    if not commits:
        return []
    owner, _, name = full_name.rpartition("/")
    push = git.Push(
        source=SOURCE,
        key=f"backfill:{commits[-1].sha}",
        delivery_id=None,
        repo=git.Repository(full_name=full_name, name=name, owner=owner, url=None, private=False),
        ref=f"refs/heads/{branch}",
        occurred_at=commits[-1].committed_at.astimezone(UTC),
        actor=commits[-1].author_email,
        actor_handles=(),
        pusher=None,
        sender=None,
        before=None,
        after=commits[-1].sha,
        created=False,
        deleted=False,
        forced=False,
        compare=None,
        commit_count=len(commits),
        commits=tuple(_commit(commit) for commit in commits),
    )
    return [event.model_copy(update={"priority": "bulk"}) for event in git.commit_events(push)]


def _commit(commit: LocalCommit) -> git.Commit:
    return git.Commit(
        sha=commit.sha,
        occurred_at=commit.committed_at.astimezone(UTC),
        message=commit.message,
        url=None,
        author=git.Author(name=commit.author_name, email=commit.author_email, username=None),
        actor=commit.author_email,
        actor_handles=(),
        added=commit.added,
        removed=commit.removed,
        modified=commit.modified,
        merge=commit.merge,
    )


def _midnight(day: date, config: Config) -> str:
    """The start of ``day`` in the rule file's zone, as git reads a time (a bare date would mean that day at the
    current time of day)."""
    return datetime.combine(day, datetime.min.time(), config.defaults.zone).isoformat()


def _when(event: Event, config: Config) -> str:
    return f"{event.occurred_at.astimezone(config.defaults.zone):%a %Y-%m-%d %H:%M}"


def _subject(event: Event, width: int = 60) -> str:
    lines = str(event.data.get("message") or "").splitlines()
    first = lines[0] if lines else ""
    return f"{event.data.get('short_sha')!s} {first if len(first) <= width else first[: width - 1] + '…'}"
