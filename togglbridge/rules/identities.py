"""Who an event belongs to: its actor, in the sender's terms, mapped to one identity of the rule file.

In order: a calendar event belongs to its calendar's identity; then the actor is looked up among the handles of
the event's platform (GitHub username, Slack user id, ...); then among emails (from any source); then among
aliases. With a single identity that lists no handle at all, every event is that identity's. Otherwise an actor
that maps to nobody gives None: not an error, the event is recorded with "no identity" and nothing is applied.
"""

from __future__ import annotations

from togglbridge.config import SOURCE_PLATFORM, Config
from togglbridge.events import Event


def resolve_identity(event: Event, config: Config) -> str | None:
    """The identity ``event`` belongs to, or None."""
    if event.kind.startswith("calendar."):
        for name in (event.data.get("calendar"), event.actor):
            calendar = config.calendar(name) if isinstance(name, str) else None
            if calendar is not None:
                return calendar.identity
    actor = event.actor.strip()
    platform = SOURCE_PLATFORM.get(event.source)
    candidates: list[tuple[str, str]] = []
    if platform is not None:
        candidates.append((platform, actor))
        username = _author_username(event)
        if username:
            candidates.append((platform, username))  # a commit by an email not listed, from a known account
    candidates += [("email", actor), ("alias", actor)]
    for where, handle in candidates:
        identity = config.identity_for_handle(where, handle)
        if identity is not None:
            return identity
    if len(config.identities) == 1:
        name, only = next(iter(config.identities.items()))
        if not only.handles():
            return name
    return None


def no_identity_note(event: Event) -> str:
    """What to tell a user whose event maps to nobody, and what to change so that it does."""
    platform = SOURCE_PLATFORM.get(event.source)
    where = f"{platform}: or emails:" if platform else "emails: or aliases:"
    return (
        f"no identity: {event.source} actor '{event.actor}' is not listed under any identity; "
        f"add it to one ({where}) in the rule file. Nothing is applied."
    )


def _author_username(event: Event) -> str | None:
    author = event.data.get("author")
    username = author.get("username") if isinstance(author, dict) else None
    return username if isinstance(username, str) and username else None
