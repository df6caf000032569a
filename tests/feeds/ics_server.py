"""A small ICS server for the fetch tests: real HTTP on 127.0.0.1, with a path per behaviour a calendar host
shows (validators and 304s, a body too large, a body too slow, errors, a login page instead of a calendar)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

CALENDAR = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//togglbridge tests//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:standup@example.com\r\nDTSTAMP:20261130T090000Z\r\nDTSTART:20261130T093000Z\r\n"
    b"DTEND:20261130T094500Z\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
LAST_MODIFIED = "Mon, 30 Nov 2026 09:00:00 GMT"
ICS = "text/calendar; charset=utf-8"


@dataclass
class Feed:
    """What /cal serves; a test changes it to make a new version of the feed."""

    body: bytes = CALENDAR
    etag: str = '"v1"'
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of every request to any path
    streamed_bytes: int = 0  # how much of the endless bodies the server got to send


def build_app(feed: Feed) -> Starlette:
    def remember(request: Request) -> None:
        feed.requests.append(dict(request.headers))

    async def validated(request: Request) -> Response:
        """Honours If-None-Match (and If-Modified-Since when no ETag was sent)."""
        remember(request)
        headers = {"ETag": feed.etag, "Last-Modified": LAST_MODIFIED}
        if_none_match = request.headers.get("if-none-match")
        if if_none_match == feed.etag or (
            if_none_match is None and request.headers.get("if-modified-since") == LAST_MODIFIED
        ):
            return Response(status_code=304, headers=headers)
        return Response(feed.body, media_type=ICS, headers=headers)

    async def unvalidated(request: Request) -> Response:
        """No validators at all: the same body on every request, as a feed generated per request."""
        remember(request)
        return Response(feed.body, media_type=ICS)

    async def new_etag_every_time(request: Request) -> Response:
        remember(request)
        return Response(feed.body, media_type=ICS, headers={"ETag": f'"{len(feed.requests)}"'})

    async def endless(request: Request) -> Response:
        """A calendar that never ends, as fast as the client reads it."""
        remember(request)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"BEGIN:VCALENDAR\r\n"
            line = b"X-PADDING:" + b"x" * 1000 + b"\r\n"
            while True:
                feed.streamed_bytes += len(line) * 64
                yield line * 64
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type=ICS)

    async def declared_too_large(request: Request) -> Response:
        """Says how large it is up front; the client should not read any of it."""
        remember(request)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(1024):
                feed.streamed_bytes += 16 * 1024
                yield b"x" * 16 * 1024
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type=ICS, headers={"Content-Length": str(16 * 1024 * 1024)})

    async def trickle(request: Request) -> Response:
        """A line every 0.2 s, for ever: each read is quick, the whole never comes."""
        remember(request)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"BEGIN:VCALENDAR\r\n"
            while True:
                await asyncio.sleep(0.2)
                yield b"X-SLOW:1\r\n"

        return StreamingResponse(chunks(), media_type=ICS)

    async def stall(request: Request) -> Response:
        """Headers, then nothing."""
        remember(request)

        async def chunks() -> AsyncIterator[bytes]:
            await asyncio.sleep(3600)
            yield b""

        return StreamingResponse(chunks(), media_type=ICS)

    def status(code: int, headers: dict[str, str] | None = None) -> Route:
        async def answer(request: Request) -> Response:
            remember(request)
            return PlainTextResponse(f"status {code}", status_code=code, headers=headers)

        return Route(f"/status/{code}", answer)

    async def login_page(request: Request) -> Response:
        remember(request)
        return Response(b"<!doctype html><title>Sign in</title>" + b" " * 4096, media_type="text/html")

    async def short_html(request: Request) -> Response:
        remember(request)
        return Response(b"<html>no</html>", media_type="text/html")

    async def ics_as_text(request: Request) -> Response:
        """A calendar with a byte-order mark, served as text/plain (as some hosts do)."""
        remember(request)
        return Response(b"\xef\xbb\xbf\r\n" + feed.body, media_type="text/plain")

    async def moved(request: Request) -> Response:
        remember(request)
        return RedirectResponse("/cal", status_code=301)

    async def unconditional_304(request: Request) -> Response:
        remember(request)
        return Response(status_code=304)

    return Starlette(
        routes=[
            Route("/cal", validated),
            Route("/plain", unvalidated),
            Route("/new-etag", new_etag_every_time),
            Route("/endless", endless),
            Route("/declared-too-large", declared_too_large),
            Route("/trickle", trickle),
            Route("/stall", stall),
            status(500),
            status(503, {"Retry-After": "30"}),
            status(429, {"Retry-After": "120"}),
            status(404),
            status(410),
            status(401),
            status(403),
            status(400),
            Route("/login", login_page),
            Route("/short-html", short_html),
            Route("/ics-as-text", ics_as_text),
            Route("/moved", moved),
            Route("/always-304", unconditional_304),
        ]
    )
