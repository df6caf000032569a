"""GitLab push webhooks: the shared ``X-Gitlab-Token``; a ``Push Hook`` or ``Tag Push Hook`` read into ``git.Push``,
whose events (one per push and per new commit) ``git`` makes as for every git source.

What GitLab's payload does not say, and how it is read:

- The repository is ``project.path_with_namespace`` (``group/subgroup/project``): the same commit mirrored from
  GitHub under the same path has the same event id (``git.commit_id``).
- ``commits`` lists the newest 20 commits at most; ``total_commits_count`` has the real number, and the difference
  is the push's ``omitted``.
- A commit's author is a name and an email, never a username; GitLab writes ``[REDACTED]`` for an email its owner
  keeps private (the pusher's ``user_email`` too). Such an email is never taken for one: the pusher is mapped by
  ``user_username``, and a commit without a usable email falls back to the pusher.
- No parents are listed, so a merge commit is known by its message (``git.looks_like_merge``).
- No "forced" flag: a forced push looks like any other (``forced`` stays False unless a payload says it).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from togglbridge.events import ActorHandle, Event
from togglbridge.sources import git
from togglbridge.sources.base import (
    READING_ERRORS,
    Handle,
    Headers,
    PayloadError,
    Source,
    json_object,
    lower_keys,
    payload_problem,
)
from togglbridge.sources.signing import SharedToken

HOOKS = {"push": "Push Hook", "tag_push": "Tag Push Hook"}
"""The ``object_kind`` of each payload read here, and the ``X-Gitlab-Event`` it is delivered with."""
HANDLED_EVENTS = frozenset(HOOKS.values())
REDACTED = "[REDACTED]"
# GitLab's usernames: letters, digits, underscores, dots and dashes, up to 255 characters.
_USERNAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}")
PUBLIC = 20  # project.visibility_level: 0 private, 10 internal, 20 public


SIGNATURE = SharedToken("X-Gitlab-Token")
"""``X-Gitlab-Token: <the secret token set on the webhook>``, compared in constant time."""


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret)}


def delivery_id(headers: Headers) -> str | None:
    """``Idempotency-Key`` (the same on every retry of a delivery), else the older ``X-Gitlab-Event-UUID``."""
    lowered = lower_keys(headers)
    return lowered.get("idempotency-key") or lowered.get("x-gitlab-event-uuid") or None


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A push or a tag push becomes a ``git.push`` event and a ``git.commit`` event per commit it lists; other
    hooks none.

    ``received_at`` is the push's time when it lists no commit."""
    kind = lower_keys(headers).get("x-gitlab-event", "").strip()
    if not kind:
        raise PayloadError("missing X-Gitlab-Event header")
    payload = json_object(body)
    if kind not in HANDLED_EVENTS:
        return []
    try:
        return _push_events(payload, delivery_id(headers), received_at)
    except READING_ERRORS as exc:
        raise PayloadError(f"not a GitLab push payload: {payload_problem(exc)}") from None


def _when(value: Any) -> datetime:
    """GitLab gives ISO 8601 with an offset (``2011-12-12T14:27:31+02:00``); one without is taken as UTC rather
    than as the receiving machine's local time."""
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}"[:200])
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be an object")
    return value


def _email(value: Any) -> str | None:
    """An email address, or None for what is not one: GitLab's ``[REDACTED]``, an empty or missing one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text and text != REDACTED and "@" in text else None


def _username(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text if _USERNAME.fullmatch(text) else None


def _zeros(sha: Any) -> bool:
    """GitLab's "no commit": ``before`` of a new branch or tag, ``after`` of a deleted one."""
    return isinstance(sha, str) and bool(sha) and set(sha) == {"0"}


def _count(commit: dict[str, Any], field: str) -> int:
    files = commit.get(field)
    if files is None:
        return 0
    if not isinstance(files, list):
        raise TypeError(f"a commit's {field} must be a list of paths")
    return len(files)


def _repo(project: dict[str, Any]) -> git.Repository:
    full_name = project["path_with_namespace"]
    if not isinstance(full_name, str) or not full_name.strip():
        raise TypeError("project.path_with_namespace must be the project's path (group/project)")
    owner, _, name = full_name.rpartition("/")  # a project in a subgroup belongs to group/subgroup
    level = project.get("visibility_level")
    return git.Repository(
        full_name=full_name,
        name=name,
        owner=owner,
        url=project.get("web_url"),
        private=isinstance(level, int) and not isinstance(level, bool) and level != PUBLIC,
    )


def _omitted(payload: dict[str, Any], listed: int) -> int:
    """How many commits the push had beyond those listed (GitLab lists the newest 20)."""
    total = payload.get("total_commits_count")
    if total is None:
        return 0
    if not isinstance(total, int) or isinstance(total, bool):
        raise TypeError("total_commits_count must be a whole number")
    return max(0, total - listed)


def _push_events(payload: dict[str, Any], delivery: str | None, received_at: datetime | None) -> list[Event]:
    repo = _repo(_object(payload["project"], "project"))
    ref = payload["ref"]
    if not isinstance(ref, str):
        raise TypeError("ref must be text")
    listed = payload.get("commits") or []
    if not isinstance(listed, list):
        raise TypeError("commits must be a list")
    commits = [_object(c, "each of commits") for c in listed]
    username = _username(payload.get("user_username"))
    name = payload.get("user_name") if isinstance(payload.get("user_name"), str) else None
    # The pusher by their email when GitLab shows it, else by their username (identities' `gitlab:` list).
    push_actor = _email(payload.get("user_email")) or username or name or ""
    handles = (ActorHandle(platform="gitlab", handle=username),) if username else ()
    deleted = _zeros(payload.get("after"))

    new: list[git.Commit] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for commit in commits:
        sha = str(commit["id"])
        if deleted:  # GitLab lists none for a deleted ref; were one listed, nothing was added by this push
            skipped.append((sha, "the branch or tag was deleted"))
        elif sha in seen:
            skipped.append((sha, "listed twice in this push"))
        else:
            seen.add(sha)
            new.append(_commit(commit, sha, push_actor, username))

    push = git.Push(
        source="gitlab",
        key=delivery or str(payload["after"]),
        delivery_id=delivery,
        repo=repo,
        ref=ref,
        occurred_at=_push_time(new, received_at),
        actor=push_actor,
        actor_handles=handles,
        pusher=username or name,
        sender=username or name,
        before=payload.get("before"),
        after=payload.get("after"),
        created=_zeros(payload.get("before")),
        deleted=deleted,
        forced=payload.get("forced") is True,  # GitLab does not say; another GitLab-like sender might
        compare=None,  # GitLab sends no compare address
        commit_count=len(commits),
        commits=tuple(new),
        skipped=tuple(skipped),
        omitted=_omitted(payload, len(commits)),
    )
    return git.push_events(push)


def _push_time(commits: list[git.Commit], received_at: datetime | None) -> datetime:
    """When the push happened: its newest commit's time; without one (a deleted ref, a tag, a branch made
    without new commits: GitLab gives no push time) the time the delivery was received."""
    if commits:
        return max(commit.occurred_at for commit in commits)
    return received_at if received_at is not None else datetime.now(UTC)


def _commit(commit: dict[str, Any], sha: str, push_actor: str, push_username: str | None) -> git.Commit:
    author = _object(commit.get("author") or {}, "a commit's author")
    email = _email(author.get("email"))
    message = commit.get("message")
    message = message if isinstance(message, str) else ""
    return git.Commit(
        sha=sha,
        occurred_at=_when(commit["timestamp"]),
        message=message,
        url=commit.get("url"),
        author=git.Author(name=author.get("name"), email=email, username=None),  # GitLab names no account
        # Without a usable email the author is unknown: the commit is taken for the pusher's.
        actor=email or push_actor,
        actor_handles=()
        if email or push_username is None
        else (ActorHandle(platform="gitlab", handle=push_username),),
        added=_count(commit, "added"),
        removed=_count(commit, "removed"),
        modified=_count(commit, "modified"),
        merge=git.looks_like_merge(message),  # GitLab's push lists no parents
    )


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """The hook named by the payload's ``object_kind`` (a push unless it says ``tag_push``), and a made-up
    delivery id that is the same for the same payload."""
    event = HOOKS.get(str(payload.get("object_kind")), HOOKS["push"])
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {"X-Gitlab-Event": event, "Idempotency-Key": str(uuid.UUID(digest[:32]))}


def recognizes(payload: dict[str, Any]) -> bool:
    return payload.get("object_kind") in HOOKS and isinstance(payload.get("project"), dict)


SOURCE = Source(
    name="gitlab",
    secret_env="GITLAB_TOKEN",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=git.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle(
        "gitlab",
        "GitLab usernames: a push's pusher, and a commit's author when GitLab hides their email.",
    ),
)
