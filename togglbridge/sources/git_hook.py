"""The local git hook: commits sent by ``togglbridge git-hook``'s ``post-commit`` hook (``togglbridge.git_hook_client``)
the moment they are made, before anything is pushed.

A delivery is ``X-Togglbridge-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` over a JSON object listing one or
more commits (the hook's spool sends what it could not deliver before together with the new one). Each commit
becomes a ``git.commit`` event made by ``git.commit_events``, so its id is ``git.commit_id(full_name, sha)``: the
same commit pushed later and delivered by GitHub or GitLab plans to the same idempotency keys and is logged once.
There is no ``git.push`` event: nothing was pushed. Its data has the fields of a pushed commit, ``pusher`` and
``sender`` null.

The body::

    {"commits": [{"sha": "<40 or 64 hex>", "parents": ["<sha>", ...], "message": "...",
                  "author": {"name": "...", "email": "..."}, "committed_at": "2026-11-30T10:15:00+01:00",
                  "branch": "main" | null, "repository": "owner/name", "repository_url": "https://..." | null,
                  "url": "https://.../commit/<sha>" | null, "added": 1, "removed": 0, "modified": 2}]}
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from togglbridge.events import Event
from togglbridge.sources import git
from togglbridge.sources.base import Headers, PayloadError, Source, json_object, lower_keys
from togglbridge.sources.signing import HmacHex

SIGNATURE = HmacHex("X-Togglbridge-Signature", prefix="sha256=")
"""``X-Togglbridge-Signature: sha256=<hex HMAC-SHA256(secret, body)>``."""
DELIVERY_HEADER = "X-Togglbridge-Delivery"
MAX_COMMITS = 1000
"""Commits in one delivery at most; the hook sends its spool in batches well below this."""
MIN_SECRET_LENGTH = 16

_SHA = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$"  # SHA-1 or SHA-256 object names, as git prints them
_FULL_NAME = r"^[^/\s]+(?:/[^/\s]+)+$"  # owner/repo, or GitLab's group/subgroup/project


class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    name: str = Field(max_length=1000)
    email: str = Field(max_length=1000)


class _Commit(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    sha: str = Field(pattern=_SHA)
    parents: list[str] = Field(max_length=64)
    message: str
    author: _Author
    committed_at: str = Field(max_length=64)
    branch: str | None = Field(min_length=1, max_length=1000)
    repository: str = Field(pattern=_FULL_NAME, max_length=1000)
    repository_url: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, max_length=2000)
    added: int = Field(ge=0, le=10**9)
    removed: int = Field(ge=0, le=10**9)
    modified: int = Field(ge=0, le=10**9)


class _Delivery(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    commits: list[_Commit] = Field(min_length=1, max_length=MAX_COMMITS)


def sign(headers: Headers, body: bytes, secret: str, now: datetime) -> dict[str, str]:
    return {**headers, **SIGNATURE.sign(body, secret)}


def delivery_id(headers: Headers) -> str | None:
    return lower_keys(headers).get(DELIVERY_HEADER.lower())


def check_secret(secret: str) -> str | None:
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters: use a random one (openssl rand -hex 32)"
    return None


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    """A ``git.commit`` event per commit listed, in the order listed (``received_at`` is not needed: every
    commit has its time)."""
    payload = json_object(body)
    try:
        delivery = _Delivery.model_validate(payload)
        return [_event(commit, delivery_id(headers)) for commit in delivery.commits]
    except ValidationError as exc:
        raise PayloadError(f"not a git hook delivery: {_describe(exc)}") from None
    except (ValueError, OverflowError) as exc:
        raise PayloadError(f"not a git hook delivery: {exc}") from None


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3])


def _when(value: str) -> datetime:
    """ISO 8601 with its offset (``git log --format=%cI``); a time without one is refused rather than guessed."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"committed_at is not an ISO 8601 time: {value[:64]!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"committed_at has no UTC offset: {value[:64]!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"committed_at is out of range: {value[:64]!r}") from None


def repository(full_name: str, url: str | None) -> git.Repository:
    """GitLab's nested groups keep every level but the last as the owner (``group/sub/proj``: ``group/sub``)."""
    owner, _, name = full_name.rpartition("/")
    return git.Repository(full_name=full_name, name=name, owner=owner, url=url, private=False)


def _event(commit: _Commit, delivery: str | None) -> Event:
    actor = commit.author.email.strip() or commit.author.name.strip()
    if not actor:
        raise ValueError(f"commit {commit.sha}: the author has neither an email nor a name")
    for parent in commit.parents:
        if not (len(parent) in (40, 64) and all(c in "0123456789abcdef" for c in parent)):
            raise ValueError(f"commit {commit.sha}: a parent is not a sha")
    occurred_at = _when(commit.committed_at)
    # A detached HEAD is on no branch: its ref is HEAD, which names neither a branch nor a tag.
    ref = f"refs/heads/{commit.branch}" if commit.branch is not None else "HEAD"
    made = git.Commit(
        sha=commit.sha,
        occurred_at=occurred_at,
        message=commit.message,
        url=commit.url,
        author=git.Author(name=commit.author.name, email=commit.author.email, username=None),
        actor=actor,
        actor_handles=(),
        added=commit.added,
        removed=commit.removed,
        modified=commit.modified,
        merge=len(commit.parents) > 1,
    )
    push = git.Push(
        source="git",
        key=delivery or commit.sha,
        delivery_id=delivery,
        repo=repository(commit.repository, commit.repository_url),
        ref=ref,
        occurred_at=occurred_at,
        actor=actor,
        actor_handles=(),
        pusher=None,
        sender=None,
        before=None,
        after=commit.sha,
        created=False,
        deleted=False,
        forced=False,
        compare=None,
        commit_count=1,
        commits=(made,),
    )
    (event,) = git.commit_events(push)
    return event


def explain_headers(payload: dict[str, Any]) -> dict[str, str]:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return {DELIVERY_HEADER: f"explain-{digest[:32]}"}


def recognizes(payload: dict[str, Any]) -> bool:
    commits = payload.get("commits")
    return (
        isinstance(commits, list)
        and bool(commits)
        and all(isinstance(c, dict) and "sha" in c and "committed_at" in c for c in commits)
    )


SOURCE = Source(
    name="git",
    secret_env="GIT_HOOK_SECRET",  # noqa: S106 (the name of a variable, not a secret)
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=delivery_id,
    sign=sign,
    kinds={"git.commit": git.KINDS["git.commit"]},
    explain_headers=explain_headers,
    recognizes=recognizes,
    check_secret=check_secret,
)
