"""The dashboard at ``/ui``: server-rendered pages (Jinja2), a stylesheet and a little script shipped in the
package, no build step and nothing from a CDN. Off (404) unless ``TOGGLBRIDGE_DASHBOARD_TOKEN`` is set."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from togglbridge.api.ui.login import router as login_router
from togglbridge.api.ui.pages import router as pages_router
from togglbridge.api.ui.rendering import HERE, SignInFirst
from togglbridge.api.ui.rule_file import RuleFileReader
from togglbridge.settings import Settings

# Everything the pages load is their own: no inline script, no other origin, never inside another site's frame.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


PAGE_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


# The largest form a page sends: the rule tester's pasted delivery (up to its own 1 MiB limit) and its headers.
MAX_FORM_BYTES = 2 * 1024 * 1024


class _Dashboard:
    """In front of ``/ui``, as plain ASGI (the hooks pass straight through; starlette's BaseHTTPMiddleware would
    wrap every request in a task group and streams of its own): the pages' security headers, and a cap on what a
    form may send, checked before anything reads it. A form is parsed before any check of who sends it, so
    without the cap anyone could make the receiver hold a gigabyte of fields."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/ui"):
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *PAGE_HEADERS]}
            await send(message)

        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            await _too_large(with_headers)
            return
        received = 0
        tripped = False

        async def capped() -> Message:
            nonlocal received, tripped
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_FORM_BYTES:
                tripped = True
                raise _FormTooLarge
            return message

        async def answer(message: Message) -> None:
            # The form parser turns the stopped read into its own 400: say what really happened.
            if not tripped:
                await with_headers(message)
            elif message["type"] == "http.response.start":
                await _too_large(with_headers)

        try:
            await self._app(scope, capped, answer)
        except _FormTooLarge:
            await _too_large(with_headers)


class _FormTooLarge(Exception):
    """A body sent in chunks went past the cap that its Content-Length did not announce."""


async def _too_large(send: Send) -> None:
    body = b"request body too large for the dashboard"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    app.state.rule_file = RuleFileReader(settings.config_file)
    if settings.dashboard_token is None:
        return  # off: nothing under /ui exists, so every path of it is a 404 that reads no body
    app.include_router(login_router, include_in_schema=False)
    app.include_router(pages_router, include_in_schema=False)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.add_middleware(_Dashboard)

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, exc: SignInFirst) -> Response:
        return RedirectResponse(f"/ui/login?next={quote(exc.path, safe='')}", status_code=303)
