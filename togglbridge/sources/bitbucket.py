"""Bitbucket Cloud push webhooks at ``POST /hooks/bitbucket``: ``X-Hub-Signature: sha256=<hex HMAC-SHA256>`` of
the raw body, ``X-Event-Key: repo:push``, ``X-Request-UUID`` the delivery.

A Bitbucket push lists one change per ref it updated (``push.changes[]``): each becomes a ``git.Push`` of its own,
with its own event id (the delivery and the change's index), and its new commits ``git.commit`` events, whose ids
are the same as from any other sender of the same repository (``git.commit_id``).

What a Bitbucket change does not say, and how it is read:

- its commits are listed newest first and at most 5 of them (``truncated`` says more were pushed, not how many):
  they are made events oldest first, like every other git source's, and a truncated change names the newest
  commit left out in ``skipped`` (``Push.omitted`` stays 0: the count is not in the payload);
- no files changed per commit: ``added``, ``removed`` and ``modified`` are 0;
- the pusher's email: the actor is their nickname (or display name), looked up in the rule file's
  ``bitbucket:`` list; a commit's actor is its author's email from ``author.raw`` (``Name <email>``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from email.utils import parseaddr
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

PUSH_EVENT = "repo:push"
# Bitbucket's nicknames: one word (letters, digits, '_', '-', '.'), no '@'.
_NICKNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_REF_PREFIX = {
    "branch": "refs/heads/",
    "named_branch": "refs/heads/",  # Mercurial's, from repositories Bitbucket once hosted
    "bookmark": "refs/heads/",
    "tag": "refs/tags/",
    "annotated_tag": "refs/tags/",
}

SIGNATURE = HmacHex("X-Hub-Signature", prefix="sha256=")
"""``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>``."""

OBJECT_FIELDS = "actor, a change, its old or new ref, a commit's author"
"""The fields that must be objects, named when one is not."""


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret)}


def delivery_id(headers: Headers) -> str | None:
    return lower_keys(headers).get("x-request-uuid")


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A ``repo:push`` becomes, for each change it lists, a ``git.push`` event and a ``git.commit`` event per new
    commit; other event keys none.

    ``received_at`` is a change's time when the payload gives none (a deleted branch or tag)."""
    lowered = lower_keys(headers)
    kind = lowered.get("x-event-key", "")
    if not kind:
        raise PayloadError("missing X-Event-Key header")
    payload = json_object(body)
    if kind != PUSH_EVENT:
        return []
    try:
        return _push_events(payload, lowered.get("x-request-uuid"), received_at)
    except READING_ERRORS as exc:
        raise PayloadError(f"not a Bitbucket push payload: {payload_problem(exc, OBJECT_FIELDS)}") from None


def _when(value: Any) -> datetime:
    """Bitbucket gives ISO 8601 with an offset (``2015-06-09T03:34:49+00:00``)."""
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _object(value: Any, what: str) -> dict[str, Any]:
    """An optional object of the payload: {} when absent or null, an error when something else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AttributeError(what)
    return value


def _href(links: Any, name: str) -> Any:
    """``links.<name>.href``, or None."""
    link = links.get(name) if isinstance(links, dict) else None
    return link.get("href") if isinstance(link, dict) else None


def _nicknames(*candidates: Any) -> tuple[ActorHandle, ...]:
    names = dict.fromkeys(
        text.strip() for text in candidates if isinstance(text, str) and _NICKNAME.fullmatch(text.strip())
    )
    return tuple(ActorHandle(platform="bitbucket", handle=name) for name in names)


def _repo(payload: dict[str, Any]) -> git.Repository:
    repository = payload["repository"]
    full_name = str(repository["full_name"])  # workspace/repo_slug
    owner, _, slug = full_name.partition("/")
    return git.Repository(
        full_name=full_name,
        # the slug, as in the repository's address (GitHub's name is its slug too); Bitbucket's ``name`` is a
        # display name that may differ ("Invoicing API" for invoicing-api)
        name=slug or str(repository.get("name") or ""),
        owner=owner,
        url=_href(repository.get("links"), "html"),
        private=bool(repository.get("is_private", False)),
    )


def _ref(change: dict[str, Any]) -> str:
    """The git ref a change updated, from its new state (its old one when the ref was deleted)."""
    state = _object(change.get("new"), "new") or _object(change.get("old"), "old")
    if not state:
        raise KeyError("new")
    name = str(state["name"])
    return _REF_PREFIX.get(str(state.get("type")), "refs/heads/") + name


def _target(state: dict[str, Any]) -> dict[str, Any]:
    return _object(state.get("target"), "target")


def _push_events(payload: dict[str, Any], delivery: str | None, received_at: datetime | None) -> list[Event]:
    repo = _repo(payload)
    actor = _object(payload.get("actor"), "actor")
    push = payload["push"]
    changes = push["changes"]
    if not isinstance(changes, list):
        raise TypeError("push.changes must be a list")
    # the first of the actor's names that is text: another value is no name, not one to print
    nickname = next((v for v in (actor.get("nickname"),) if isinstance(v, str)), None)
    who = next(
        (
            v
            for v in (nickname, actor.get("display_name"), actor.get("account_id"))
            if isinstance(v, str) and v
        ),
        "",
    )
    handles = _nicknames(nickname)
    events: list[Event] = []
    seen: set[str] = set()  # a commit two changes list (a branch and a tag on it) is one commit event
    for index, change in enumerate(changes):
        if not isinstance(change, dict):
            raise TypeError(f"push.changes[{index}] must be an object")
        key = f"{delivery}:{index}" if delivery else _fallback_key(change, index)
        events.extend(git.push_events(_push(repo, change, key, delivery, who, handles, seen, received_at)))
    return events


def _fallback_key(change: dict[str, Any], index: int) -> str:
    """Without a delivery id: the change's ref and the hash it now points to (or deleted), which two changes of
    one push never share."""
    new = _target(_object(change.get("new"), "new")).get("hash")
    return f"{_ref(change)}@{new or 'deleted'}"


def _push(
    repo: git.Repository,
    change: dict[str, Any],
    key: str,
    delivery: str | None,
    who: str,
    handles: tuple[ActorHandle, ...],
    seen: set[str],
    received_at: datetime | None,
) -> git.Push:
    old = _object(change.get("old"), "old")
    new = _object(change.get("new"), "new")
    listed = change.get("commits") or []
    if not isinstance(listed, list):
        raise TypeError("commits must be a list")
    # Bitbucket lists the newest first; the events go oldest first, as from every git source.
    commits = [c for c in reversed(listed) if isinstance(c, dict)]
    deleted = bool(change.get("closed")) or not new
    new_commits: list[git.Commit] = []
    skipped: list[tuple[str, str]] = []
    for commit in commits:
        sha = str(commit["hash"])
        if deleted:
            skipped.append((sha, "the ref was deleted"))
        elif sha in seen:
            skipped.append((sha, "listed by another change of this push"))
        else:
            seen.add(sha)
            new_commits.append(_commit(commit, who))
    if change.get("truncated") is True and commits and not deleted:
        parents = commits[0].get("parents") or []
        first = parents[0] if isinstance(parents, list) and parents and isinstance(parents[0], dict) else {}
        older = first.get("hash")
        if older is not None and older != _target(old).get("hash"):
            skipped.append((str(older), "not listed: Bitbucket lists a change's newest commits only"))
    date = _target(new).get("date")
    if date and not deleted:
        occurred_at = _when(date)
    elif new_commits:
        occurred_at = new_commits[-1].occurred_at
    else:  # a deleted ref: the payload says not when, the delivery's time is at most Bitbucket's retry delay late
        occurred_at = received_at if received_at is not None else datetime.now(UTC)
    return git.Push(
        source="bitbucket",
        key=key,
        delivery_id=delivery,
        repo=repo,
        ref=_ref(change),
        occurred_at=occurred_at,
        actor=who,
        actor_handles=handles,
        pusher=who or None,
        sender=who or None,
        before=_target(old).get("hash"),
        after=_target(new).get("hash"),
        created=bool(change.get("created")) or (not old and bool(new)),
        deleted=deleted,
        forced=bool(change.get("forced")),
        compare=_href(change.get("links"), "html"),
        commit_count=len(commits),
        commits=tuple(new_commits),
        skipped=tuple(skipped),
    )


def _commit(commit: dict[str, Any], push_actor: str) -> git.Commit:
    author = _object(commit.get("author"), "author")
    user = _object(author.get("user"), "author.user")
    raw = author.get("raw")
    name, email = parseaddr(raw) if isinstance(raw, str) else ("", "")
    nickname = user.get("nickname")
    message = str(commit.get("message") or "")
    parents = commit.get("parents")
    return git.Commit(
        sha=str(commit["hash"]),
        occurred_at=_when(commit["date"]),
        message=message,
        url=_href(commit.get("links"), "html"),
        author=git.Author(
            name=name or user.get("display_name") or raw or None, email=email or None, username=nickname
        ),
        actor=str(email or nickname or push_actor),
        actor_handles=_nicknames(nickname),
        added=0,  # Bitbucket's push does not list files
        removed=0,
        modified=0,
        merge=len(parents) > 1 if isinstance(parents, list) else git.looks_like_merge(message),
    )


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """A payload with ``push.changes`` is a push, the only event read; anything else is named an unread event.
    The delivery id is made up from the payload."""
    push = payload.get("push")
    event = PUSH_EVENT if isinstance(push, dict) and "changes" in push else "repo:updated"
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {"X-Event-Key": event, "X-Request-UUID": str(uuid.UUID(digest[:32]))}


def recognizes(payload: dict[str, Any]) -> bool:
    push = payload.get("push")
    return isinstance(payload.get("repository"), dict) and isinstance(push, dict) and "changes" in push


SOURCE = Source(
    name="bitbucket",
    secret_env="BITBUCKET_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=git.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle("bitbucket", "Bitbucket Cloud nicknames."),
)
