"""What the ``post-commit`` hook runs (``python -m togglbridge.git_hook_client send --url URL``), detached, after
every commit: read the commit just made, append it to the spool, send the whole spool to ``POST /hooks/git`` in
signed batches and drop what the bridge accepted.

It runs on every commit, so it imports the standard library only (no httpx, no pydantic, nothing of togglbridge)
and waits at most ``TIMEOUT_SECONDS`` for the bridge. It never raises to the hook: whatever goes wrong is written
to the log (``<git common dir>/togglbridge/hook.log``) and the commits stay in the spool
(``<git common dir>/togglbridge/spool.jsonl``, one commit a line) until a later commit's send gets them through.
The common dir is ``.git`` itself, shared by every worktree of the repository.

The secret is read when sending: ``TOGGLBRIDGE_GIT_HOOK_SECRET`` from the environment of the ``git commit``, else
the file ``togglbridge git-hook install --store-secret`` keeps under ``.git/togglbridge/`` (readable by its owner alone,
never committed; ``git config togglbridge.secret``, where earlier versions kept it, is still read). It never
appears in the log.

The repository's full name comes from ``git config togglbridge.repository`` when set, else from the ``origin``
remote (``git@github.com:acme/webapp.git`` -> ``acme/webapp``), so a commit's event id is the one GitHub or
GitLab gives the same commit once it is pushed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from togglbridge.git_repo import full_name_from_url as full_name
from togglbridge.git_repo import web_url

SECRET_ENV = "TOGGLBRIDGE_GIT_HOOK_SECRET"  # noqa: S105 (the name of a variable, not a secret)
SECRET_CONFIG = "togglbridge.secret"  # noqa: S105 (the name of a git config key)
REPOSITORY_CONFIG = "togglbridge.repository"
SIGNATURE_HEADER = "X-Togglbridge-Signature"
DELIVERY_HEADER = "X-Togglbridge-Delivery"
HOOK_PATH = "/hooks/git"
TIMEOUT_SECONDS = 5.0
BATCH = 100  # commits per request; the bridge takes up to 1000
LOG_MAX_BYTES = 64 * 1024  # the log keeps its newest half when it grows past this
STATE_DIR = "togglbridge"
SPOOL_FILE = "spool.jsonl"
REJECTED_FILE = "rejected.jsonl"
LOG_FILE = "hook.log"
LOCK_FILE = "lock"
SECRET_FILE = "secret"  # noqa: S105 (a file's name)


# -- the repository ------------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    """A git command's output (stripped of the final newline), raising CalledProcessError when it fails."""
    done = subprocess.run(  # noqa: S603 (git with fixed arguments)
        ["git", *args],  # noqa: S607 (git from PATH, as the hook that runs this was run by git)
        cwd=repo,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=True,
    )
    return done.stdout.removesuffix("\n")


def git_or_none(repo: Path, *args: str) -> str | None:
    try:
        return git(repo, *args) or None
    except subprocess.CalledProcessError:
        return None


def state_dir(repo: Path) -> Path:
    """``<git common dir>/togglbridge``: under ``.git`` (shared by the worktrees), never in the work tree."""
    common = Path(git(repo, "rev-parse", "--git-common-dir"))
    return (common if common.is_absolute() else repo / common) / STATE_DIR


def commit_url(repository_url: str | None, sha: str) -> str | None:
    """The commit's page on the forges whose address for it is known (GitHub's and GitLab's)."""
    if repository_url is None:
        return None
    host = repository_url.removeprefix("https://").split("/", 1)[0]
    if "gitlab" in host:
        return f"{repository_url}/-/commit/{sha}"
    if "github" in host:
        return f"{repository_url}/commit/{sha}"
    return None


def repository_of(repo: Path) -> tuple[str, str | None] | None:
    """(full name, web URL) of the repository: ``togglbridge.repository`` when set, else from ``origin``."""
    remote = git_or_none(repo, "config", "--get", "remote.origin.url")
    chosen = git_or_none(repo, "config", "--get", REPOSITORY_CONFIG)
    if chosen:
        return chosen.strip().strip("/"), web_url(remote) if remote and full_name(remote) == chosen else None
    if remote is None:
        return None
    name = full_name(remote)
    return (name, web_url(remote)) if name else None


def _counts(repo: Path, sha: str, parents: list[str]) -> dict[str, int]:
    """Files added, removed and modified, against the first parent (the whole tree for a root commit); renames
    count as a removal and an addition, as a push's file lists have them."""
    if parents:
        listing = git(repo, "diff", "--no-renames", "--name-status", "--no-color", parents[0], sha)
    else:
        listing = git(
            repo, "diff-tree", "--root", "-r", "--no-renames", "--name-status", "--no-commit-id", sha
        )
    counts = {"added": 0, "removed": 0, "modified": 0}
    for line in listing.splitlines():
        status = line[:1]
        if status == "A":
            counts["added"] += 1
        elif status == "D":
            counts["removed"] += 1
        elif status:
            counts["modified"] += 1
    return counts


def read_commit(repo: Path, rev: str = "HEAD", branch: str | None = None) -> dict[str, Any]:
    """The commit as ``POST /hooks/git`` takes it; raises ValueError when the repository has no full name."""
    named = repository_of(repo)
    if named is None:
        raise ValueError(
            f"no repository name: the origin remote names no owner/repo; set one with `git config "
            f"{REPOSITORY_CONFIG} owner/repo`"
        )
    name, repository_url = named
    fields = git(repo, "show", "-s", "--no-color", "--format=%H%x00%P%x00%an%x00%ae%x00%cI%x00%B", rev)
    sha, parents_text, author_name, author_email, committed_at, message = fields.split("\x00", 5)
    parents = parents_text.split()
    message = message.rstrip("\n")  # %B ends with a newline git adds; a push's message has none
    if branch is None and rev == "HEAD":
        branch = git_or_none(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    return {
        "sha": sha,
        "parents": parents,
        "message": message,
        "author": {"name": author_name, "email": author_email},
        "committed_at": committed_at,
        "branch": branch,
        "repository": name,
        "repository_url": repository_url,
        "url": commit_url(repository_url, sha),
        **_counts(repo, sha, parents),
    }


# -- the spool -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One process at a time on the spool (two commits in quick succession start two senders)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_spool(directory: Path) -> list[dict[str, Any]]:
    """The spooled commits, oldest first; a line that is not a JSON object (a write cut short) is skipped."""
    try:
        lines = (directory / SPOOL_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    commits = []
    for line in lines:
        try:
            commit = json.loads(line)
        except ValueError:
            continue
        if isinstance(commit, dict):
            commits.append(commit)
    return commits


def write_spool(directory: Path, commits: list[dict[str, Any]]) -> None:
    """Replace the spool at once (a crash leaves the old one or the new one, never half of one)."""
    spool = directory / SPOOL_FILE
    if not commits:
        spool.unlink(missing_ok=True)
        return
    temporary = directory / f"{SPOOL_FILE}.tmp"
    temporary.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in commits), encoding="utf-8")
    os.replace(temporary, spool)


def spool(directory: Path, commit: dict[str, Any]) -> None:
    """Add a commit to the spool, once (an amended or re-run commit with the same sha is not sent twice)."""
    waiting = read_spool(directory)
    if all(c.get("sha") != commit["sha"] for c in waiting):
        write_spool(directory, [*waiting, commit])


def append_rejected(directory: Path, commits: list[dict[str, Any]]) -> None:
    with (directory / REJECTED_FILE).open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in commits)


# -- the log -------------------------------------------------------------------------------------------------------


def log(directory: Path, outcome: str, message: str) -> None:
    """A line ``<UTC time> <outcome> <message>`` (outcome ``sent``, ``error`` or ``spooled``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE
    line = f"{datetime.now(UTC).isoformat(timespec='seconds')} {outcome} {' '.join(message.split())}\n"
    with path.open("a", encoding="utf-8") as out:
        out.write(line)
    if path.stat().st_size > LOG_MAX_BYTES:
        kept = path.read_text(encoding="utf-8", errors="replace")[-LOG_MAX_BYTES // 2 :]
        path.write_text(kept[kept.find("\n") + 1 :], encoding="utf-8")


def last_send(directory: Path) -> tuple[str, str] | None:
    """(outcome, line) of the log's last ``sent`` or ``error`` line."""
    try:
        lines = (directory / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in {"sent", "error"}:
            return parts[1], line
    return None


# -- sending -------------------------------------------------------------------------------------------------------


def secret_of(repo: Path, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(secret, where it came from): the environment first, then the file ``--store-secret`` wrote, then the
    repository's git config (where earlier versions stored it)."""
    environment = os.environ if environ is None else environ
    if environment.get(SECRET_ENV):
        return environment[SECRET_ENV], SECRET_ENV
    path = state_dir(repo) / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept, str(path)
    stored = git_or_none(repo, "config", "--local", "--get", SECRET_CONFIG)
    return (stored, f"git config {SECRET_CONFIG}") if stored else None


def store_secret(repo: Path, secret: str) -> Path:
    """Keep the secret in a file only its owner can read (0600 from its creation: never readable by others, not
    even for a moment), replacing a secret kept before, and dropping one an earlier version put in git config."""
    directory = state_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SECRET_FILE
    partial = directory / f".{SECRET_FILE}.{os.getpid()}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secret + "\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)  # no stray copy of the secret beside the kept one
        raise
    forget_config_secret(repo)
    return path


def forget_stored_secret(repo: Path) -> bool:
    """Remove the kept secret (the file, and the git config one of earlier versions); whether there was one."""
    path = state_dir(repo) / SECRET_FILE
    removed = path.exists()
    path.unlink(missing_ok=True)
    return forget_config_secret(repo) or removed


def forget_config_secret(repo: Path) -> bool:
    if git_or_none(repo, "config", "--local", "--get", SECRET_CONFIG) is None:
        return False
    git(repo, "config", "--local", "--unset-all", SECRET_CONFIG)
    return True


def hook_url(url: str) -> str:
    """The bridge's address, or its ``/hooks/git`` itself, as the endpoint."""
    url = url.rstrip("/")
    return url if url.endswith(HOOK_PATH) else url + HOOK_PATH


def delivery_body(commits: list[dict[str, Any]]) -> tuple[bytes, str]:
    """The request's body and its delivery id: the same commits make the same id, so a batch sent again after
    its answer was lost is taken for the duplicate it is."""
    body = json.dumps({"commits": commits}, ensure_ascii=False, separators=(",", ":")).encode()
    digest = hashlib.sha256("\n".join(str(c.get("sha")) for c in commits).encode()).hexdigest()
    return body, f"git-hook-{digest[:40]}"


def post(url: str, commits: list[dict[str, Any]], secret: str, timeout: float) -> int:
    """POST one batch; the HTTP status (an error status too), raising OSError when the bridge is unreachable."""
    body, delivery = delivery_body(commits)
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 (the URL is the one the user installed the hook with)
        hook_url(url),
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "togglbridge-git-hook",
            SIGNATURE_HEADER: f"sha256={signature}",
            DELIVERY_HEADER: delivery,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


_WHY = {
    401: "the bridge refused the signature (401): the secret differs from the bridge's TOGGLBRIDGE_GIT_HOOK_SECRET",
    404: "the bridge has no git hook endpoint enabled (404): set TOGGLBRIDGE_GIT_HOOK_SECRET where it runs",
}


def send_spool(directory: Path, repo: Path, url: str, timeout: float = TIMEOUT_SECONDS) -> int:
    """Send the spooled commits, oldest first, in batches; an accepted batch leaves the spool. Returns how many
    were sent; stops at the first failure, which the log records (the commits stay for the next time)."""
    found = secret_of(repo)
    waiting = read_spool(directory)
    if not waiting:
        return 0
    if found is None:
        log(
            directory,
            "error",
            f"no secret: set {SECRET_ENV} or `togglbridge git-hook install --store-secret`",
        )
        return 0
    secret, _ = found
    sent = 0
    size = BATCH
    while waiting:
        batch = waiting[:size]
        try:
            status = post(url, batch, secret, timeout)
        except (OSError, ValueError) as exc:  # unreachable, timed out, refused; ValueError: a malformed URL
            reason = getattr(exc, "reason", None) or exc
            log(
                directory,
                "error",
                f"the bridge at {url} cannot be reached ({reason}): {len(waiting)} spooled",
            )
            return sent
        if 200 <= status < 300:
            waiting = waiting[len(batch) :]
            write_spool(directory, waiting)
            sent += len(batch)
            continue
        if status in (400, 413) and len(batch) > 1:
            size = 1  # one commit the bridge refuses must not hold back the others: one at a time from here
            continue
        if status in (400, 413):
            # The bridge will never take this one as it is: kept aside, so it does not hold back later commits.
            waiting = waiting[len(batch) :]
            write_spool(directory, waiting)
            append_rejected(directory, batch)
            log(
                directory,
                "error",
                f"the bridge refused commit {batch[0].get('sha')} ({status}): kept in {REJECTED_FILE}",
            )
            continue
        why = _WHY.get(status, f"the bridge answered {status}")
        log(directory, "error", f"{why}: {len(waiting)} spooled")
        return sent
    log(directory, "sent", f"{sent} commit{'s' if sent != 1 else ''} to {url}")
    return sent


def send(
    repo: Path,
    url: str,
    timeout: float = TIMEOUT_SECONDS,
    *,
    sha: str | None = None,
    branch: str | None = None,
) -> int:
    """The hook's work: spool the commit (``sha`` as the hook saw HEAD, else HEAD now), then send the spool.
    Never raises (it runs with nobody watching)."""
    try:
        directory = state_dir(repo)
    except (OSError, subprocess.CalledProcessError):
        return 0
    try:
        with locked(directory):
            try:
                spool(directory, read_commit(repo, sha or "HEAD", branch or None))
            except (ValueError, subprocess.CalledProcessError) as exc:
                log(directory, "error", f"the commit could not be read: {exc}")
            return send_spool(directory, repo, url, timeout)
    except Exception as exc:  # a bug here must not go unnoticed, nor reach the commit
        with contextlib.suppress(OSError):
            log(directory, "error", f"unexpected {type(exc).__name__}: {exc}")
        return 0


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    """``send --url URL [--repo PATH] [--sha SHA] [--branch NAME]``: what the hook runs; exits 0 whatever happens."""
    if not argv or argv[0] != "send":
        out.write(
            "usage: python -m togglbridge.git_hook_client send --url URL [--repo PATH] [--sha SHA] [--branch NAME]\n"
        )
        return 2
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    url = options.get("--url")
    if not url:
        out.write("send needs --url\n")
        return 2
    send(
        Path(options.get("--repo", ".")),
        url,
        sha=options.get("--sha") or None,
        branch=options.get("--branch"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
