"""The sources: one module each, registered here by name (the receiver serves ``POST /hooks/<name>``).

``REGISTRY`` (``registry.Registry``) is the single source of truth: which sources exist, the kinds they send and
their fields, the identity handle lists and chat platforms, and the variable that enables each. A new source is
one module, its fixtures, its tests, and one line in the list below.
"""

from __future__ import annotations

from togglbridge.sources import (
    bitbucket,
    discord,
    generic,
    git_hook,
    gitea,
    github,
    gitlab,
    mattermost,
    slack,
    toggl,
)
from togglbridge.sources.base import (
    Handle,
    PayloadError,
    Reply,
    ReplyChannel,
    SignatureError,
    Source,
    SourceError,
    Verdict,
)
from togglbridge.sources.kinds import KindSchema
from togglbridge.sources.registry import Registry

REGISTRY = Registry(
    [
        github.SOURCE,
        generic.SOURCE,
        git_hook.SOURCE,
        gitlab.SOURCE,
        gitea.SOURCE,
        bitbucket.SOURCE,
        slack.SOURCE,
        mattermost.SOURCE,
        discord.SOURCE,
        toggl.SOURCE,
    ]
)
SOURCES = REGISTRY.sources
"""The registered sources by name (the registry's own mapping: it follows ``REGISTRY.register``)."""

__all__ = [
    "REGISTRY",
    "SOURCES",
    "Handle",
    "KindSchema",
    "PayloadError",
    "Reply",
    "ReplyChannel",
    "SignatureError",
    "Source",
    "SourceError",
    "Verdict",
]
