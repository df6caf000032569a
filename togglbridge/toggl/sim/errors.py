"""Domain errors of the simulated Toggl, free of HTTP.

The state raises these; the ASGI layer maps each class to its status code and sends the message as Toggl does:
a JSON-quoted string, never an object.
"""

from __future__ import annotations


class SimError(Exception):
    """Base class: `message` is the exact body text Toggl would send."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(SimError):
    """The request is malformed or breaks a rule (400)."""

    status = 400


class Forbidden(SimError):
    """The caller may not do this (403)."""

    status = 403


class NotFound(SimError):
    """The thing does not exist for this caller (404)."""

    status = 404


class Conflict(SimError):
    """The thing is not in a state that allows this (409)."""

    status = 409
