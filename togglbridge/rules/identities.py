"""Who an event belongs to: its actor, in the sender's terms, mapped to one identity of the rule file.

In order: a calendar event belongs to its calendar's identity; then the actor is looked up among the handles of
the event's platform (GitHub username, Slack user id, ...); then each of the other handles its source gave it
(``Event.actor_handles``: a push's GitHub login beside the pusher's email, a commit author's username); then the
actor among emails (from any source); then among aliases. With a single identity that lists no handle at all,
every event is that identity's. Otherwise an actor that maps to nobody gives None: not an error, the event is
recorded with "no identity" and nothing is applied.
"""

from __future__ import annotations

from togglbridge.events import Event
from togglbridge.rules.rule_file import RuleFile
from togglbridge.sources import REGISTRY

Candidate = tuple[str, str]
"""(where, handle): where is a platform, "email" or "alias", as ``Config.identity_for_handle`` takes it."""

IDENTITY_LIST = {"email": "emails", "alias": "aliases"}
"""The identity's list a candidate's ``where`` is written as in the rule file; platforms are their own names."""


def resolve_identity(event: Event, config: RuleFile) -> str | None:
    """The identity ``event`` belongs to, or None."""
    return identify(event, config)[0]


def identify(event: Event, config: RuleFile) -> tuple[str | None, str | None]:
    """The identity ``event`` belongs to and why, in words ("actor 'a@b.io' is under alice's emails"), or
    (None, None)."""
    if event.kind.startswith("calendar."):
        for name in (event.data.get("calendar"), event.actor):
            calendar = config.calendar(name) if isinstance(name, str) else None
            if calendar is not None:
                return calendar.identity, f"the event comes from {calendar.identity}'s calendar {name!r}"
    for where, handle in identity_candidates(event):
        identity = config.identity_for_handle(where, handle)
        if identity is not None:
            listed = IDENTITY_LIST.get(where, where)
            return identity, f"{handle!r} is listed under {identity}'s {listed}"
    if len(config.identities) == 1:
        name, only = next(iter(config.identities.items()))
        if not only.handles():
            return name, f"{name} is the only identity and lists no handle, so every event is theirs"
    return None, None


def identity_candidates(event: Event) -> list[Candidate]:
    """Every (where, handle) the event's actor may be listed as, in the order they are tried."""
    actor = event.actor.strip()
    platform = REGISTRY.platforms.get(event.source)
    candidates: list[Candidate] = []
    if platform is not None and actor:
        candidates.append((platform, actor))
    candidates += [(h.platform, h.handle.strip()) for h in event.actor_handles if h.handle.strip()]
    if actor:
        candidates += [("email", actor), ("alias", actor)]
    return list(dict.fromkeys(candidates))


def no_identity_note(event: Event) -> str:
    """What to tell a user whose event maps to nobody, and which list of an identity each name belongs in."""
    suggestions = [
        f"'{handle}' under {IDENTITY_LIST.get(where, where)}:" for where, handle in _listable_names(event)
    ]
    where = " or ".join(suggestions) if suggestions else "its actor under aliases:"
    known_as = ", ".join(f"{h.platform} '{h.handle}'" for h in event.actor_handles)
    return (
        f"no identity: {event.source} actor '{event.actor}'"
        + (f" (also known as {known_as})" if known_as else "")
        + f" is not listed under any identity; add {where} to one in the rule file. Nothing is applied."
    )


def _listable_names(event: Event) -> list[Candidate]:
    """Each name of the actor once, with the one list it belongs in: a platform's handles first (they stay the
    same when a person's email changes), then the actor itself: an email under emails, a platform's handle under
    that platform, anything else under aliases."""
    names: dict[str, str] = {}
    for handle in event.actor_handles:
        names.setdefault(handle.handle.strip(), handle.platform)
    actor = event.actor.strip()
    if actor:
        platform = REGISTRY.platforms.get(event.source)
        names.setdefault(actor, "email" if _looks_like_email(actor) else platform or "alias")
    return [(where, handle) for handle, where in names.items() if handle]


def _looks_like_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(at and local and "." in domain)
