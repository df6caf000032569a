"""GitHub push webhooks: ``X-Hub-Signature-256`` over the raw body; a push read into ``git.Push``, whose events
(one per push and per new commit) ``git`` makes as for every git source.

Senders that copy GitHub's payload (Gitea, Forgejo) are read here too: where their field names differ, both are
read.
"""

from __future__ import annotations

import functools
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
from togglbridge.sources.signing import HmacHex

HANDLED_EVENTS = frozenset({"push", "ping"})
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\[\]-]{0,99}")  # GitHub's, plus Gitea's dots and bots' [bot]
_NOREPLY = re.compile(r"(?:[0-9]+\+)?([A-Za-z0-9][A-Za-z0-9-]*)@users\.noreply\.github\.com", re.IGNORECASE)

OBJECT_FIELDS = "pusher, sender, a commit's author"
"""The fields that must be objects, named when one is not."""


SIGNATURE = HmacHex("X-Hub-Signature-256", prefix="sha256=")
"""``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``."""


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret)}


def delivery_id(headers: Headers) -> str | None:
    return lower_keys(headers).get("x-github-delivery")


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A ``push`` becomes a ``git.push`` event and a ``git.commit`` event per distinct commit; ``ping`` none.

    ``received_at`` is the push's time when the payload gives none (see ``_push_time``)."""
    lowered = lower_keys(headers)
    kind = lowered.get("x-github-event", "")
    if not kind:
        raise PayloadError("missing X-GitHub-Event header")
    payload = json_object(body)
    if kind != "push":
        return []
    try:
        return _push_events(payload, lowered.get("x-github-delivery"), received_at)
    except READING_ERRORS as exc:
        raise PayloadError(f"not a GitHub push payload: {payload_problem(exc, OBJECT_FIELDS)}") from None


def _when(value: Any) -> datetime:
    """GitHub gives ISO 8601 with an offset for commits and unix seconds for ``pushed_at``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OSError, OverflowError):  # beyond what the platform's time functions handle
            raise ValueError(f"timestamp out of range: {value!r}") from None
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def _logins(*candidates: Any) -> tuple[ActorHandle, ...]:
    """The GitHub logins among ``candidates``, once each, in order (a login is one word: no spaces, no @)."""
    logins = dict.fromkeys(
        text.strip() for text in candidates if isinstance(text, str) and _LOGIN.fullmatch(text.strip())
    )
    return tuple(_handle(login) for login in logins)


@functools.lru_cache(maxsize=4096)
def _handle(login: str) -> ActorHandle:
    """A login's handle, shared (handles are frozen); built unvalidated: ``_LOGIN`` and ``_NOREPLY`` admit only
    what a handle may be (ASCII, not empty)."""
    return ActorHandle.model_construct(platform="github", handle=login)


def _noreply_login(email: Any) -> str | None:
    """The login in a GitHub no-reply address (``21031067+Codertocat@users.noreply.github.com``), which GitHub
    writes as the author's email when they keep theirs private."""
    match = _NOREPLY.fullmatch(email.strip()) if isinstance(email, str) else None
    return match.group(1) if match else None


def _repo(payload: dict[str, Any]) -> git.Repository:
    repository = payload["repository"]
    full_name = str(repository["full_name"])
    owner, _, name = full_name.partition("/")
    return git.Repository(
        full_name=full_name,
        name=str(repository.get("name") or name),
        owner=owner,
        url=repository.get("html_url"),
        private=bool(repository.get("private", False)),
    )


def _push_time(
    head: dict[str, Any] | None, repository: dict[str, Any], received_at: datetime | None
) -> datetime:
    """When the push happened, from the best the payload has: its head commit's time; else (no commits, a
    deleted branch or tag) GitHub's ``repository.pushed_at``, which GitHub-compatible senders (Gitea, Forgejo) do
    not send; else the time the delivery was received, which is at most the sender's retry delay late."""
    if head is not None and head.get("timestamp"):
        return _when(head["timestamp"])
    if repository.get("pushed_at"):
        return _when(repository["pushed_at"])
    return received_at if received_at is not None else datetime.now(UTC)


def _push_events(payload: dict[str, Any], delivery: str | None, received_at: datetime | None) -> list[Event]:
    repo = _repo(payload)
    ref = str(payload["ref"])
    pusher = payload.get("pusher") or {}
    sender = payload.get("sender") or {}
    commits = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
    head = payload.get("head_commit") or (commits[-1] if commits else None)
    if head is not None and not isinstance(head, dict):
        raise TypeError("head_commit must be an object or null")
    push_time = _push_time(head, payload["repository"], received_at)
    push_actor = str(pusher.get("email") or pusher.get("name") or sender.get("login") or "")
    # GitHub's pusher.name is the pusher's login; GitHub-compatible senders (Gitea, Forgejo) name it login.
    push_logins = _logins(
        pusher.get("name"), pusher.get("login"), pusher.get("username"), sender.get("login")
    )
    push = git.Push(
        source="github",
        key=delivery or str(payload["after"]),
        delivery_id=delivery,
        repo=repo,
        ref=ref,
        occurred_at=push_time,
        actor=push_actor,
        actor_handles=push_logins,
        pusher=pusher.get("name"),
        sender=sender.get("login"),
        before=payload.get("before"),
        after=payload.get("after"),
        created=bool(payload.get("created")),
        deleted=bool(payload.get("deleted")),
        forced=bool(payload.get("forced")),
        compare=payload.get("compare") or payload.get("compare_url"),  # Gitea: compare_url
        commit_count=len(commits),
        # a commit that is not distinct was pushed elsewhere already; it was (or will be) logged from there
        commits=tuple(_commit(c, push_actor) for c in commits if c.get("distinct") is not False),
        skipped=tuple(
            (str(c.get("id")), "not distinct: pushed to another branch already")
            for c in commits
            if c.get("distinct") is False
        ),
    )
    return git.push_events(push)


def _commit(commit: dict[str, Any], push_actor: str) -> git.Commit:
    author = commit.get("author") or {}
    sha = str(commit["id"])
    return git.Commit(
        sha=sha,
        occurred_at=_when(commit["timestamp"]),
        message=str(commit.get("message") or ""),
        url=commit.get("url"),
        author=git.Author(
            name=author.get("name"), email=author.get("email"), username=author.get("username")
        ),
        actor=str(author.get("email") or author.get("username") or push_actor),
        actor_handles=_logins(author.get("username"), _noreply_login(author.get("email"))),
        added=len(commit.get("added") or []),
        removed=len(commit.get("removed") or []),
        modified=len(commit.get("modified") or []),
        merge=git.looks_like_merge(str(commit.get("message") or "")),  # GitHub's push lists no parents
    )


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """A ping has GitHub's zen and the hook's id; anything else is taken for a push, the only event we read."""
    event = "ping" if "zen" in payload and "hook_id" in payload else "push"
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.UUID(digest[:32]))}


def recognizes(payload: dict[str, Any]) -> bool:
    return isinstance(payload.get("repository"), dict) and bool({"pusher", "zen", "hook_id"} & set(payload))


SOURCE = Source(
    name="github",
    secret_env="GITHUB_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=git.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle("github", "GitHub logins: a push's pusher and sender, a commit's author."),
)
