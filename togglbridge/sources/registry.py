"""The registry of sources: the one place that knows which sources exist, and everything derived from them.

The receiver serves ``POST /hooks/<name>`` for each registered source and enables it when its variable is set;
the rule file's checks know the kinds each sends and their fields; identities map actors through the handle lists
the sources name (``github:``, ``slack:``), and the chat commands apply on the sources that are chat platforms.
Nothing else lists sources, so a new one is its module, its fixtures, its tests and one ``register`` line.

Kinds and handles the planner already understands, whose sources are still to come (calendars, chat platforms,
other forges, Toggl's webhooks), are declared here as planned, so rule files can use them today.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from togglbridge.sources.base import Handle, Source
from togglbridge.sources.kinds import OPEN_DATA, PLANNED_KINDS, KindSchema

PLANNED_HANDLES: tuple[Handle, ...] = ()
PLANNED_PLATFORMS = {handle.platform: handle.platform for handle in PLANNED_HANDLES if handle.chat}
"""Which handle list the actor of an event from these (future) sources is looked up in."""


class Registry:
    """The sources by name, and what follows from them (recomputed when a source is registered)."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources: dict[str, Source] = {}
        for source in sources:
            self.register(source)

    def register(self, source: Source) -> None:
        if source.name in self.sources:
            raise ValueError(f"a source named {source.name!r} is registered already")
        self.sources[source.name] = source
        self._forget_derived()

    def unregister(self, name: str) -> None:
        del self.sources[name]
        self._forget_derived()

    @contextmanager
    def registered(self, source: Source) -> Iterator[Source]:
        """``source`` registered for the duration (tests of the registry itself)."""
        self.register(source)
        try:
            yield source
        finally:
            self.unregister(source.name)

    def _forget_derived(self) -> None:
        for name in ("kind_schemas", "builtin_namespaces", "other_kinds_schema", "handles", "platforms"):
            self.__dict__.pop(name, None)

    # -- kinds ----------------------------------------------------------------------------------------------

    @cached_property
    def kind_schemas(self) -> dict[str, KindSchema]:
        """Every kind a source (or the planner's built-ins) sends by name, with its data fields."""
        named = {kind: schema for source in self.sources.values() for kind, schema in source.kinds.items()}
        return {**PLANNED_KINDS, **named}  # a source that now sends a planned kind declares it for good

    @property
    def known_kinds(self) -> tuple[str, ...]:
        """The kinds the built-in sources send. Generic webhooks may send any other dotted kind."""
        return tuple(self.kind_schemas)

    @cached_property
    def builtin_namespaces(self) -> frozenset[str]:
        """Kinds under these prefixes come only from built-in sources: a rule naming another one there is a typo."""
        chosen_by_sender = {s.name for s in self.sources.values() if s.other_kinds is not None}
        kinds = [k for s in self.sources.values() if s.name not in chosen_by_sender for k in s.kinds]
        return frozenset(kind.split(".")[0] for kind in [*kinds, *PLANNED_KINDS])

    @cached_property
    def other_kinds_schema(self) -> KindSchema | None:
        """The data of a kind no source names (one a generic webhook's sender chose); None when none sends them."""
        return next((s.other_kinds for s in self.sources.values() if s.other_kinds is not None), None)

    def kind_schema(self, kind: str) -> KindSchema:
        """The data fields of ``kind``; an open schema for a kind nobody declares."""
        return self.kind_schemas.get(kind) or self.other_kinds_schema or OPEN_DATA

    # -- identities -------------------------------------------------------------------------------------------

    @cached_property
    def handles(self) -> dict[str, Handle]:
        """The identity handle lists, by platform: the sources' own, then the planned ones."""
        found: dict[str, Handle] = {}
        for handle in [*(s.handle for s in self.sources.values() if s.handle), *PLANNED_HANDLES]:
            found.setdefault(handle.platform, handle)
        return found

    @property
    def chat_platforms(self) -> tuple[str, ...]:
        return tuple(platform for platform, handle in self.handles.items() if handle.chat)

    @cached_property
    def platforms(self) -> dict[str, str]:
        """Source name -> the handle list its events' actors are looked up in."""
        own = {name: s.handle.platform for name, s in self.sources.items() if s.handle is not None}
        return {**PLANNED_PLATFORMS, **own}
