"""Raw deliveries for ``togglbridge explain --source``: a payload saved from a sender's webhook log, turned into
events by its source's own parser, as the receiver would (without the signature, which needs the secret).

Any registered source works: each says which headers its parser needs that a saved payload lacks
(``Source.explain_headers``), and whether a payload looks like one of its own (``Source.recognizes``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from togglbridge.events import Event
from togglbridge.sources import SOURCES, Source


def delivery_headers(source: Source, body: bytes, given: Mapping[str, str]) -> dict[str, str]:
    """The source's defaults for this payload, overridden by the headers given (names compared in any case)."""
    defaults = source.explain_headers(_json_object(body) or {})
    overridden = {name.lower() for name in given}
    return {name: value for name, value in defaults.items() if name.lower() not in overridden} | dict(given)


def delivery_events(
    source: Source, body: bytes, given: Mapping[str, str], received_at: datetime | None = None
) -> list[Event]:
    """The events the source's parser makes of a delivery; raises the source's SourceError when it refuses it."""
    return source.parse(delivery_headers(source, body, given), body, received_at)


def recognizing_sources(body: bytes) -> list[str]:
    """The names of the sources whose payloads look like ``body``."""
    payload = _json_object(body)
    if payload is None:
        return []
    return [name for name, source in SOURCES.items() if _recognizes(source, payload)]


def _recognizes(source: Source, payload: dict[str, Any]) -> bool:
    try:
        return bool(source.recognizes(payload))
    except Exception:  # a guess that fails is no guess; the user still sees why the file is refused
        return False


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None
