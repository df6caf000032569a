"""The sources: one module each, registered here by name (the receiver serves ``POST /hooks/<name>``).

Each source declares the kinds of event it sends and their data fields; the kinds the planner handles whose
sources are not here yet are declared in ``kinds.PLANNED_KINDS``. Everything that needs to know which kinds exist
(the rule file's checks, ``events.KNOWN_KINDS``) derives it from these two, here.
"""

from __future__ import annotations

from togglbridge.sources import generic, github
from togglbridge.sources.base import PayloadError, SignatureError, Source, SourceError
from togglbridge.sources.kinds import OPEN_DATA, PLANNED_KINDS, KindSchema

SOURCES: dict[str, Source] = {
    github.SOURCE.name: github.SOURCE,
    generic.SOURCE.name: generic.SOURCE,
}

KIND_SCHEMAS: dict[str, KindSchema] = {
    **{kind: schema for source in SOURCES.values() for kind, schema in source.kinds.items()},
    **PLANNED_KINDS,
}
"""Every kind a source (or the planner's built-ins) sends by name, with its data fields."""

KNOWN_KINDS: tuple[str, ...] = tuple(KIND_SCHEMAS)
"""The kinds the built-in sources send. Generic webhooks may send any other dotted kind."""

BUILTIN_NAMESPACES: frozenset[str] = frozenset(
    kind.split(".")[0]
    for kind in [
        *(kind for source in SOURCES.values() if source.other_kinds is None for kind in source.kinds),
        *PLANNED_KINDS,
    ]
)
"""Kinds under these prefixes come only from built-in sources, so a rule naming another one there is a typo."""

OTHER_KINDS_SCHEMA: KindSchema | None = next(
    (source.other_kinds for source in SOURCES.values() if source.other_kinds is not None), None
)
"""The data of a kind no source names (one a generic webhook's sender chose); None when no source sends them."""


def kind_schema(kind: str) -> KindSchema:
    """The data fields of ``kind``; an open schema for a kind nobody declares."""
    return KIND_SCHEMAS.get(kind) or OTHER_KINDS_SCHEMA or OPEN_DATA


__all__ = [
    "BUILTIN_NAMESPACES",
    "KIND_SCHEMAS",
    "KNOWN_KINDS",
    "SOURCES",
    "KindSchema",
    "PayloadError",
    "SignatureError",
    "Source",
    "SourceError",
    "kind_schema",
]
