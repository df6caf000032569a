"""Signing in and out of the dashboard: the login page sets the signed session cookie, the sign-out button clears
it. The token itself is never stored in the browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from togglbridge.api.access import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    OperatorAccess,
    operator_access,
    same_origin,
)
from togglbridge.api.ui.rendering import render, signed_in_session

router = APIRouter()

HOME = "/ui/events"
FOREIGN_ORIGIN = (
    "Refused: the form was not sent from this dashboard's own address. Behind a proxy, pass the Host header "
    "(or X-Forwarded-Host) through."
)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard page, never another site (``//evil.example`` included)."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


@router.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/ui/login")
def login(
    request: Request,
    access: Annotated[OperatorAccess, Depends(operator_access)],
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    client = request.client.host if request.client else "unknown"
    target = _safe_next(next)
    if not access.may_try_login(client):
        return render(
            request,
            "login.html",
            {"next": target, "error": "Too many wrong tokens from this address: wait a minute."},
            status_code=429,
        )
    if not same_origin(request):  # not a guess at the token: never counted against the address
        return render(request, "login.html", {"next": target, "error": FOREIGN_ORIGIN}, status_code=403)
    if not access.token_matches(token.strip()):
        access.failed_login(client)
        return render(
            request, "login.html", {"next": target, "error": "That is not the token."}, status_code=401
        )
    cookie, _session = access.new_session()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https",
        path="/",
    )
    return response


@router.post("/ui/logout")
def logout(request: Request, _signed_in: Annotated[object, Depends(signed_in_session)]) -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
