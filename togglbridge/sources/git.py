"""The git family: what every git source (GitHub and the senders that copy its payload today; GitLab, Gitea,
Bitbucket, a local hook later) makes of a push, once it has read its sender's payload into a ``Push``.

A push becomes a ``git.push`` event and one ``git.commit`` event per new commit. A commit's event id is
``git:<owner/repo>:<sha>`` whoever sent it (``commit_id``), so the same commit pushed again (a redelivery, a merge
that fast-forwards another branch, the same repository's hook on two senders) plans to the same idempotency keys
and is never logged twice.

The types are plain (not frozen) dataclasses: a source builds them on every delivery, and a frozen dataclass's
``__init__`` costs about twice as much. Values a sender gives that the events carry as they came (a URL, a name, a sha) are typed ``Json``: a source reads
them without coercing, so an odd value reaches the event's own validation, which refuses what no event can hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from togglbridge.events import ActorHandle, Event
from togglbridge.sources.commit_message import read_message
from togglbridge.sources.kinds import KindSchema

Json = Any
"""A value as the sender's payload had it (text, number, object, null...)."""


def commit_id(repo_full_name: str, sha: str) -> str:
    """The event id of a commit, the same from every sender and every push that carries it. The forges treat
    repository names without regard to case (a clone of ``acme/webapp`` pushes to ``Acme/WebApp``), so the id
    does too."""
    return f"git:{repo_full_name.casefold()}:{sha}"


MERGE_MESSAGE = re.compile(
    r"^Merge (?:(?:branch|branches|remote-tracking branch|tag|commit) '"  # git's own: Merge branch 'x' into main
    r"|pull request (?:#\d+|'[^']*' \(#\d+\)) from "  # GitHub's, and Gitea's Merge pull request 'title' (#3) from
    r"|[0-9a-f]{7,40} into )"  # a merge of a commit by its sha
)
"""How git and the forges word a merge commit's first line, for senders that do not list a commit's parents."""


def looks_like_merge(message: str) -> bool:
    """A merge commit, by its message (``Merge branch 'x' into main``, ``Merge pull request #12 from ...``)."""
    return MERGE_MESSAGE.match(message) is not None


def ref_parts(ref: str) -> dict[str, str | None]:
    """The branch or tag a ref names (neither for another ref, such as ``refs/pull/1/head``)."""
    if ref.startswith("refs/heads/"):
        return {"branch": ref.removeprefix("refs/heads/"), "tag": None}
    if ref.startswith("refs/tags/"):
        return {"branch": None, "tag": ref.removeprefix("refs/tags/")}
    return {"branch": None, "tag": None}


@dataclass(slots=True)
class Repository:
    full_name: str  # owner/name
    name: str
    owner: str
    url: Json
    private: bool

    def data(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "name": self.name,
            "owner": self.owner,
            "url": self.url,
            "private": self.private,
        }


@dataclass(slots=True)
class Author:
    name: Json
    email: Json
    username: Json  # the author's account on the sender, when it knows one


@dataclass(slots=True)
class Commit:
    sha: str
    occurred_at: datetime
    message: str
    url: Json
    author: Author
    actor: str  # who, for the rules: the author's email, else their username, else the pusher
    actor_handles: tuple[ActorHandle, ...]
    added: int  # files added, removed and modified
    removed: int
    modified: int
    # More than one parent (or, from a sender that lists no parents, a message saying it merges): a rule takes
    # merge commits only when its condition asks for them (``merge: true``).
    merge: bool = False


@dataclass(slots=True)
class Push:
    source: str
    key: str  # what makes the push's event id: the delivery id, else the sha pushed
    delivery_id: str | None
    repo: Repository
    ref: str
    occurred_at: datetime
    actor: str
    actor_handles: tuple[ActorHandle, ...]
    pusher: Json  # the pusher's and the sender's names as the sender gives them, for the rules
    sender: Json
    before: Json
    after: Json
    created: bool
    deleted: bool
    forced: bool
    compare: Json
    commit_count: int  # every commit the push lists, those already pushed elsewhere too
    commits: tuple[Commit, ...]  # the new ones, each an event
    skipped: tuple[tuple[str, str], ...] = ()  # (sha, why) of listed commits that are not events
    omitted: int = 0  # commits the push had but its payload left out (GitLab lists 20 at most)


def push_events(push: Push) -> list[Event]:
    """The push's ``git.push`` event, then a ``git.commit`` event per new commit."""
    common = _common(push)
    make = _maker(push)
    return [push_event(push, common, make), *(commit_event(push, c, common, make) for c in push.commits)]


def commit_events(push: Push) -> list[Event]:
    """A ``git.commit`` event per commit of ``push``, without a ``git.push`` event: commits nobody pushed (a local
    hook's, or history read back), carrying the same data as pushed ones."""
    common = _common(push)
    make = _maker(push)
    return [commit_event(push, commit, common, make) for commit in push.commits]


# -- building the events: validated, or checked ------------------------------------------------------------------
#
# Validating an Event costs more than everything else a push's parse does (most of it proving that the data is
# JSON a queue and the journal carry unchanged). A push whose sender-given values are all plain JSON scalars can
# be proved so much more cheaply: one orjson pass over the parts that come from the sender refuses what JSON
# cannot carry (broken text, integers beyond 64 bits, keys that are not text), the floats among the scalars are
# checked for NaN and infinities by hand, and everything else an event holds is built here, of known shape. Such
# events are built unvalidated (``model_construct``), equal to validated ones; any other push is validated as
# before, so an odd value is still refused with the validator's own words.

EventMaker = Callable[..., Event]
"""``Event`` itself, or ``_checked``: called with an event's fields."""

_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _scalar(value: Json) -> bool:
    """A JSON scalar an event can hold as it is (its text and integer range are checked with the rest)."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is str or kind is int or kind is bool


def _plain(push: Push) -> bool:
    """Whether every value of ``push`` that its sender gave as it came is a plain scalar."""
    given = [push.repo.url, push.pusher, push.sender, push.before, push.after, push.compare]
    for commit in push.commits:
        given += [commit.url, commit.author.name, commit.author.email, commit.author.username]
    return all(_scalar(value) for value in given) and all(
        type(handle) is ActorHandle for handles in _handles(push) for handle in handles
    )


def _handles(push: Push) -> list[tuple[ActorHandle, ...]]:
    return [push.actor_handles, *(commit.actor_handles for commit in push.commits)]


def _maker(push: Push) -> EventMaker:
    return _checked if _plain(push) else Event


def _checked(**fields: Any) -> Event:
    """An event of a plain push (see above): built unvalidated when its sender-given parts prove sound."""
    occurred_at = fields["occurred_at"]
    try:
        if not fields["id"] or occurred_at.tzinfo is not UTC:
            raise TypeError("validate it")
        orjson.dumps(
            (fields["id"], fields["actor"], fields["delivery_id"], fields["data"]), option=_STRICT_JSON
        )
    except TypeError:  # something only the validator can judge (and name)
        return Event(**fields)
    return Event.model_construct(**fields)


def _common(push: Push) -> dict[str, Any]:
    """The data every event of a push carries."""
    return {
        "repo": push.repo.data(),
        "ref": push.ref,
        **ref_parts(push.ref),
        "pusher": push.pusher,
        "sender": push.sender,
    }


def push_event(push: Push, common: dict[str, Any], make: EventMaker = Event) -> Event:
    return make(
        id=f"{push.source}:push:{push.key}",
        source=push.source,
        kind="git.push",
        occurred_at=push.occurred_at,
        actor=push.actor,
        actor_handles=push.actor_handles,
        delivery_id=push.delivery_id,
        data={
            **common,
            "before": push.before,
            "after": push.after,
            "created": push.created,
            "deleted": push.deleted,
            "forced": push.forced,
            "commit_count": push.commit_count,
            "compare": push.compare,
            "skipped_commits": [{"sha": sha, "reason": why} for sha, why in push.skipped],
            "commits_omitted": push.omitted,
        },
    )


def commit_event(push: Push, commit: Commit, common: dict[str, Any], make: EventMaker = Event) -> Event:
    said = read_message(commit.message, common.get("branch"))
    return make(
        id=commit_id(push.repo.full_name, commit.sha),
        source=push.source,
        kind="git.commit",
        occurred_at=commit.occurred_at,
        actor=commit.actor,
        actor_handles=commit.actor_handles,
        delivery_id=push.delivery_id,
        data={
            **common,
            "sha": commit.sha,
            "short_sha": commit.sha[:7],
            "message": said.message,  # without its time directives: entries are described from it
            "raw_message": commit.message,
            "time_spent": said.time_spent,
            "issues": said.issues,
            "url": commit.url,
            "author": {
                "name": commit.author.name,
                "email": commit.author.email,
                "username": commit.author.username,
            },
            "added": commit.added,
            "removed": commit.removed,
            "modified": commit.modified,
            "merge": commit.merge,
        },
    )


_COMMON_FIELDS = (
    "repo.full_name",
    "repo.name",
    "repo.owner",
    "repo.url",
    "repo.private",
    "ref",
    "branch",
    "tag",
    "pusher",
    "sender",
)
KINDS: dict[str, KindSchema] = {
    "git.push": KindSchema.of(
        *_COMMON_FIELDS,
        "before",
        "after",
        "created",
        "deleted",
        "forced",
        "commit_count",
        "compare",
        "skipped_commits",
        "commits_omitted",
    ),
    "git.commit": KindSchema.of(
        *_COMMON_FIELDS,
        "sha",
        "short_sha",
        "message",
        "raw_message",
        "time_spent",
        "issues",
        "url",
        "author.name",
        "author.email",
        "author.username",
        "added",
        "removed",
        "modified",
        "merge",
    ),
}
"""The data fields of the git kinds, as ``push_event`` and ``commit_event`` fill them: every git source sends
these kinds with this data."""
