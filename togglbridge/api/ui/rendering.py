"""The dashboard's templates and the checks every page makes: signed in to read, and for a change also the
session's CSRF token and a request from the dashboard's own origin."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from togglbridge import __version__
from togglbridge.api.access import (
    CSRF_FIELD,
    CSRF_HEADER,
    OFF_MESSAGE,
    OperatorAccess,
    Session,
    operator_access,
    same_origin,
)
from togglbridge.api.ui.story import shown_value
from togglbridge.durations import format_duration
from togglbridge.rules.planner import KIND_MISMATCH

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


class SignInFirst(Exception):
    """A page asked for without a session: the handler sends the browser to the login page and back."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _ago(moment: str | float | None) -> str:
    """'3 min ago' for an ISO time or unix seconds; '' for nothing."""
    if moment is None or moment == "":
        return ""
    try:
        when = (
            datetime.fromtimestamp(float(moment), UTC)
            if isinstance(moment, int | float)
            else datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
        )
    except ValueError:
        return str(moment)
    seconds = (datetime.now(UTC) - when).total_seconds()
    if seconds < 0:
        return f"in {format_duration(-seconds)}"
    if seconds < 5:
        return "just now"
    return f"{format_duration(seconds)} ago"


def _other_kind_rules(rules: list[dict[str, Any]]) -> list[str]:
    """The rules skipped only because they take other kinds: named together, they are noise one by one."""
    return [str(r.get("name")) for r in rules if str(r.get("skipped") or "").startswith(KIND_MISMATCH)]


def _seconds(value: float | None) -> str:
    return format_duration(value) if value else "0s"


TEMPLATES.env.filters["ago"] = _ago
# An event id as one segment of a link's path: '/' escaped too, so that an id a sender chose ("../../metrics")
# can never make a link that a browser resolves to another page.
TEMPLATES.env.filters["in_path"] = lambda value: quote(str(value), safe=":@")
TEMPLATES.env.filters["shown"] = shown_value
TEMPLATES.env.filters["duration"] = _seconds
TEMPLATES.env.filters["other_kind_rules"] = _other_kind_rules
TEMPLATES.env.globals["version"] = __version__


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> Response:
    """A page: every template knows the current path (for the menu) and the session's CSRF token (for buttons)."""
    values = {"csrf_field": CSRF_FIELD, "csrf_token": session.csrf if session else "", **(context or {})}
    response = TEMPLATES.TemplateResponse(request, name, values, status_code=status_code)
    # Pages carry what people tracked: never cached, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    return response


def page_session(request: Request, access: Annotated[OperatorAccess, Depends(operator_access)]) -> Session:
    """For reading a page: the session, else off to the login page (404 while the dashboard is off)."""
    if not access.enabled:
        raise HTTPException(404, OFF_MESSAGE)
    session = access.session(request)
    if session is None:
        raise SignInFirst(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return session


async def signed_in_session(
    request: Request, access: Annotated[OperatorAccess, Depends(operator_access)]
) -> Session:
    """For a change: a session, its CSRF token (form field or header) and the dashboard's own origin; else 403."""
    if not access.enabled:
        raise HTTPException(404, OFF_MESSAGE)
    session = access.session(request)
    if session is None:
        raise HTTPException(401, "sign in at /ui/login first")
    offered = request.headers.get(CSRF_HEADER)
    if offered is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    if not access.csrf_matches(session, offered) or not same_origin(request):
        raise HTTPException(403, "refused: the request did not come from this dashboard (CSRF check)")
    return session
