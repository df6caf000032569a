"""Reading a local git repository with git itself: its commits, its branch, and the ``owner/repo`` name its forge
knows it by, so a commit read here has the id a push of it would have (``sources.git.commit_id``).

Standard library only: the git hook imports this on every commit, where a heavy import would slow ``git commit``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Fields of one commit in `git log` output, split by NUL; commits end with a record separator before their files.
_FORMAT = "%x1e%H%x00%P%x00%an%x00%ae%x00%cI%x00%B%x00"


class GitError(RuntimeError):
    """git failed, or the path is not a repository; the message is git's own."""


@dataclass(frozen=True, slots=True)
class LocalCommit:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committed_at: datetime  # when the work was committed: the commit's time, as a push of it shows
    message: str
    added: int  # files added, removed and modified
    removed: int
    modified: int

    @property
    def merge(self) -> bool:
        return len(self.parents) > 1


def git(repo: Path, *args: str, timeout: float = 30) -> str:
    """git's output for ``args`` run in ``repo``; raises ``GitError`` with git's message."""
    try:
        done = subprocess.run(  # noqa: S603 (git with the bridge's own arguments)
            ["git", "-C", str(repo), *args],  # noqa: S607 (git from PATH, the one the user runs)
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git could not run: {exc}") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {args[0]} failed")
    return done.stdout


def commits(
    repo: Path,
    *,
    revision: str = "HEAD",
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
    limit: int | None = None,
) -> list[LocalCommit]:
    """The commits reachable from ``revision``, oldest first, filtered as ``git log`` filters them."""
    args = ["log", f"--format={_FORMAT}", "--name-status", "--no-renames", "--reverse"]
    args += [f"--since={since}"] if since else []
    args += [f"--until={until}"] if until else []
    args += [f"--author={author}"] if author else []
    args += [f"--max-count={limit}"] if limit else []
    output = git(repo, *args, revision, "--")
    return [_commit(record) for record in output.split("\x1e") if record.strip()]


def _commit(record: str) -> LocalCommit:
    sha, parents, name, email, committed, message, files = record.split("\x00", 6)
    statuses = [line.split("\t", 1)[0][:1] for line in files.splitlines() if "\t" in line]
    return LocalCommit(
        sha=sha,
        parents=tuple(parents.split()),
        author_name=name,
        author_email=email,
        committed_at=datetime.fromisoformat(committed),
        message=message.strip("\n"),
        added=statuses.count("A"),
        removed=statuses.count("D"),
        modified=statuses.count("M") + statuses.count("T"),
    )


def current_branch(repo: Path) -> str | None:
    """The checked-out branch; None for a detached HEAD."""
    name = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return None if name in ("", "HEAD") else name


def origin_full_name(repo: Path, remote: str = "origin") -> str | None:
    """``owner/repo`` (``group/sub/project`` on GitLab) of the remote, None when it has none or names no forge."""
    try:
        url = git(repo, "remote", "get-url", remote).strip()
    except GitError:
        return None
    return full_name_from_url(url)


_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?!//)(?P<path>[^\s]+)$")
_URL = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/\s]*@)?(?P<host>[^/:\s]+)(?::\d*)?(?P<path>/[^\s]*)$"
)


def _remote_parts(url: str) -> tuple[str, str, str] | None:
    """(scheme, host, path) of a remote's URL; None for a local path or anything else without a host."""
    url = url.strip()
    match = _URL.match(url)
    if match:
        if match["scheme"] == "file":
            return None
        return match["scheme"], match["host"], match["path"]
    match = _SCP_LIKE.match(url)
    if match and "/" not in url.split(":", 1)[0]:  # ./a:b is a local path, not host:path
        return "ssh", match["host"], match["path"]
    return None


def full_name_from_url(url: str) -> str | None:
    """``owner/repo`` (or ``group/sub/project``) of a remote's URL, as the forge names the repository; None for a
    remote without a host (a local path) or with fewer than two levels of path. Credentials in the URL are
    dropped with the host."""
    parts = _remote_parts(url)
    if parts is None:
        return None
    path = parts[2].strip("/").removesuffix("/").removesuffix(".git").strip("/")
    if path.startswith("~"):  # ssh://host/~user/repo: a home directory, not a forge's namespace
        return None
    segments = [s for s in path.split("/") if s]
    if parts[0] == "ssh" and segments and segments[0] == "scm":  # Bitbucket Server's ssh://host/scm/proj/repo
        segments = segments[1:]
    if len(segments) < 2 or any(s in {".", ".."} for s in segments):
        return None
    return "/".join(segments)


def web_url(url: str) -> str | None:
    """The repository's page (``https://<host>/<full name>``), for a remote on a host; None otherwise."""
    parts, name = _remote_parts(url), full_name_from_url(url)
    if parts is None or name is None:
        return None
    return f"https://{parts[1]}/{name}"
