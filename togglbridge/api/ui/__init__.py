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


class _PageHeaders:
    """The pages' security headers, as plain ASGI: the hooks pass straight through (starlette's
    BaseHTTPMiddleware would wrap every request, hooks included, in a task group and streams of its own)."""

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

        await self._app(scope, receive, with_headers)


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    app.state.rule_file = RuleFileReader(settings.config_file)
    app.include_router(login_router, include_in_schema=False)
    app.include_router(pages_router, include_in_schema=False)
    if settings.dashboard_token is not None:
        app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.add_middleware(_PageHeaders)

    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, exc: SignInFirst) -> Response:
        return RedirectResponse(f"/ui/login?next={quote(exc.path, safe='')}", status_code=303)
