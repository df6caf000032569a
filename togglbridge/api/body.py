"""Reading a request body with a size limit, before anything else looks at it."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body is larger than {limit} bytes (TOGGLBRIDGE_MAX_BODY_BYTES)")


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing early on ``Content-Length`` and again while streaming (a sender may lie)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
