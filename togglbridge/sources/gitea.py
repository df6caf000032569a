"""Gitea and Forgejo push webhooks at ``POST /hooks/gitea``: a hex HMAC-SHA256 of the raw body in
``X-Gitea-Signature`` or ``X-Forgejo-Signature``; a push read into ``git.Push``, whose events (one per push and per
new commit) ``git`` makes as for every git source.

Forgejo is a fork of Gitea and sends the same payload; it names its headers ``X-Forgejo-*`` (and, for
compatibility, ``X-Gitea-*`` too), so one source reads both, and its actors are looked up in the rule file's
``gitea:`` list.

What a Gitea push does not say, and how it is read:

- ``created``/``deleted``: there are no such fields; a ``before`` (``after``) of forty zeros means the ref was
  created (deleted). Gitea announces a deleted branch or tag with a ``delete`` event rather than a push, which
  gives no events here.
- ``forced``: not reported; always false.
- ``commits``: newest first, and at most ``[ui] FEED_MAX_COMMIT_NUM`` of them (5 by default, the newest);
  ``total_commits`` counts them all, so the difference is ``Push.omitted``.
- a commit's parents: not listed, so a merge is recognised by its message (``git.looks_like_merge``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from togglbridge.events import ActorHandle, Event
from togglbridge.sources import git
from togglbridge.sources.base import (
    READING_ERRORS,
    Handle,
    Headers,
    PayloadError,
    SignatureError,
    Source,
    json_object,
    lower_keys,
    payload_problem,
)
from togglbridge.sources.signing import HmacHex

ZERO_SHA = "0" * 40
# Gitea's usernames: letters, digits, '-', '_' and '.' (no spaces, no '@').
_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")

OBJECT_FIELDS = "pusher, sender, a commit's author"
"""The fields that must be objects, named when one is not."""


@dataclass(frozen=True, slots=True)
class EitherHmacHex:
    """A hex HMAC of the body in whichever of ``headers`` the sender sets: Gitea's ``X-Gitea-Signature`` or
    Forgejo's ``X-Forgejo-Signature`` (Forgejo sets both, with the same value). One that matches is enough: each
    is an HMAC of the same body with the same secret, so either proves the sender knows the secret."""

    headers: tuple[str, ...]

    def sign(self, body: bytes, secret: str, header: str | None = None) -> dict[str, str]:
        return HmacHex(header or self.headers[0]).sign(body, secret)

    def verify(self, headers: Headers, body: bytes, secret: str, now: datetime | None = None) -> None:
        present = {key.lower() for key, value in headers.items() if value}
        candidates = [name for name in self.headers if name.lower() in present]
        if not candidates:
            raise SignatureError(f"missing {' or '.join(self.headers)} header")
        for name in candidates:
            try:
                HmacHex(name).verify(headers, body, secret, now)
            except SignatureError:
                continue
            return
        raise SignatureError(
            f"{' and '.join(candidates)} {'does' if len(candidates) == 1 else 'do'} not match the body"
        )


SIGNATURE = EitherHmacHex(("X-Gitea-Signature", "X-Forgejo-Signature"))
"""``X-Gitea-Signature: <hex HMAC-SHA256(secret, body)>`` (no prefix), or Forgejo's ``X-Forgejo-Signature``."""


def _forgejo(headers: Headers) -> bool:
    lowered = lower_keys(headers)
    return "x-forgejo-event" in lowered and "x-gitea-event" not in lowered


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    """Signed in Forgejo's header when the delivery carries Forgejo's headers only, else in Gitea's."""
    header = "X-Forgejo-Signature" if _forgejo(headers) else "X-Gitea-Signature"
    return {**headers, **SIGNATURE.sign(body, secret, header)}


def delivery_id(headers: Headers) -> str | None:
    lowered = lower_keys(headers)
    return lowered.get("x-gitea-delivery") or lowered.get("x-forgejo-delivery")


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A ``push`` becomes a ``git.push`` event and a ``git.commit`` event per new commit; other events none.

    ``received_at`` is the push's time when the payload gives none (a push without commits)."""
    lowered = lower_keys(headers)
    kind = lowered.get("x-gitea-event") or lowered.get("x-forgejo-event") or ""
    if not kind:
        raise PayloadError("missing X-Gitea-Event (or X-Forgejo-Event) header")
    payload = json_object(body)
    if kind != "push":
        return []
    try:
        return _push_events(payload, delivery_id(headers), received_at)
    except READING_ERRORS as exc:
        raise PayloadError(f"not a Gitea push payload: {payload_problem(exc, OBJECT_FIELDS)}") from None


def _when(value: Any) -> datetime:
    """Gitea gives ISO 8601 with an offset (Go's ``time.Time``)."""
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _usernames(*candidates: Any) -> tuple[ActorHandle, ...]:
    """The Gitea usernames among ``candidates``, once each, in order."""
    names = dict.fromkeys(
        text.strip() for text in candidates if isinstance(text, str) and _USERNAME.fullmatch(text.strip())
    )
    return tuple(ActorHandle(platform="gitea", handle=name) for name in names)


def _person(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AttributeError(what)
    return value


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


def _count(value: Any) -> int:
    """``total_commits``, when it is a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _oldest_first(commits: list[dict[str, Any]], after: Any) -> list[dict[str, Any]]:
    """Gitea lists a push's commits newest first (git log's order, the pushed head first), GitHub oldest first:
    the events go oldest first, as from every git source. Read from where the head is, not assumed, so a sender
    that lists them GitHub's way is read right too."""
    if len(commits) > 1 and commits[0].get("id") == after and commits[-1].get("id") != after:
        return commits[::-1]
    return commits


def _push_events(payload: dict[str, Any], delivery: str | None, received_at: datetime | None) -> list[Event]:
    repo = _repo(payload)
    ref = str(payload["ref"])
    pusher = _person(payload.get("pusher"), "pusher")
    sender = _person(payload.get("sender"), "sender")
    listed = payload.get("commits") or []
    if not isinstance(listed, list):
        raise TypeError("commits must be a list")
    commits = _oldest_first([c for c in listed if isinstance(c, dict)], payload.get("after"))
    before, after = payload.get("before"), payload.get("after")
    deleted = after == ZERO_SHA
    head = payload.get("head_commit") or (commits[-1] if commits else None)
    if head is not None and not isinstance(head, dict):
        raise TypeError("head_commit must be an object or null")
    if head is not None and head.get("timestamp") and not deleted:
        push_time = _when(head["timestamp"])
    else:  # nothing in the payload says when: the delivery's time, at most Gitea's retry delay late
        push_time = received_at if received_at is not None else datetime.now(UTC)
    login = pusher.get("login") or pusher.get("username")
    push_actor = str(pusher.get("email") or login or sender.get("login") or "")
    if deleted:  # what a deleted ref lists is gone with it, not new work
        new, skipped = [], [(str(c.get("id")), "the ref was deleted") for c in commits]
    else:  # Gitea marks none; a commit a sender marks not distinct was logged from the branch it came from
        new = [c for c in commits if c.get("distinct") is not False]
        skipped = [
            (str(c.get("id")), "not distinct: pushed to another branch already")
            for c in commits
            if c.get("distinct") is False
        ]
    push = git.Push(
        source="gitea",
        key=delivery or str(payload["after"]),
        delivery_id=delivery,
        repo=repo,
        ref=ref,
        occurred_at=push_time,
        actor=push_actor,
        actor_handles=_usernames(
            pusher.get("login"), pusher.get("username"), sender.get("login"), sender.get("username")
        ),
        pusher=login,
        sender=sender.get("login") or sender.get("username"),
        before=before,
        after=after,
        created=before == ZERO_SHA,
        deleted=deleted,
        forced=bool(payload.get("forced")),  # Gitea does not say; a sender that does is believed
        compare=payload.get("compare_url") or payload.get("compare"),
        commit_count=len(commits),
        commits=tuple(_commit(c, push_actor) for c in new),
        skipped=tuple(skipped),
        omitted=0 if deleted else max(0, _count(payload.get("total_commits")) - len(commits)),
    )
    return git.push_events(push)


def _commit(commit: dict[str, Any], push_actor: str) -> git.Commit:
    author = _person(commit.get("author"), "author")
    message = str(commit.get("message") or "")
    return git.Commit(
        sha=str(commit["id"]),
        occurred_at=_when(commit["timestamp"]),
        message=message,
        url=commit.get("url"),
        author=git.Author(
            name=author.get("name"), email=author.get("email"), username=author.get("username") or None
        ),
        actor=str(author.get("email") or author.get("username") or push_actor),
        actor_handles=_usernames(author.get("username")),
        added=len(commit.get("added") or []),
        removed=len(commit.get("removed") or []),
        modified=len(commit.get("modified") or []),
        merge=git.looks_like_merge(message),  # Gitea's push lists no parents
    )


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    """Gitea's ``create`` and ``delete`` events name a ``ref_type``; anything else is taken for a push, the only
    event read. The delivery id is made up from the payload."""
    event = "delete" if "ref_type" in payload and "commits" not in payload else "push"
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {"X-Gitea-Event": event, "X-Gitea-Delivery": str(uuid.UUID(digest[:32]))}


def recognizes(payload: dict[str, Any]) -> bool:
    """Gitea's push names its compare link ``compare_url`` (GitHub's is ``compare``)."""
    return isinstance(payload.get("repository"), dict) and "compare_url" in payload and "ref" in payload


SOURCE = Source(
    name="gitea",
    secret_env="GITEA_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds=git.KINDS,
    explain_headers=explain_headers,
    recognizes=recognizes,
    handle=Handle("gitea", "Gitea or Forgejo usernames."),
)
