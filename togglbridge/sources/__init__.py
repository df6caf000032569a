"""The sources: one module each, registered here by name (the receiver serves ``POST /hooks/<name>``)."""

from __future__ import annotations

from togglbridge.sources import generic, github
from togglbridge.sources.base import PayloadError, SignatureError, Source, SourceError

SOURCES: dict[str, Source] = {
    github.SOURCE.name: github.SOURCE,
    generic.SOURCE.name: generic.SOURCE,
}

__all__ = ["SOURCES", "PayloadError", "SignatureError", "Source", "SourceError"]
