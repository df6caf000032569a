"""Reading a request body with a size limit, before anything else looks at it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body is larger than {limit} bytes (TOGGLBRIDGE_MAX_BODY_BYTES)")


class ClientGone(Exception):
    """The sender closed the connection before its body arrived: nobody is left to answer."""


def refuse_declared(declared: str | None, limit: int) -> None:
    """Refuse early on ``Content-Length``, before a byte of the body is read."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing early on ``Content-Length`` and again while streaming (a sender may lie)."""
    refuse_declared(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_limited(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The same from an ASGI ``receive``: the hooks read their body without a starlette ``Request``."""
    refuse_declared(declared, limit)
    message = await receive()
    if message["type"] != "http.request":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if len(body) > limit:
        raise BodyTooLarge(limit)
    if not message.get("more_body", False):
        return body  # the usual case: the whole body in one message, no copy
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
