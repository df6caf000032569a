"""The receiver's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from togglbridge import __version__
from togglbridge.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="togglbridge", version=__version__)
    app.state.settings = settings

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process lives."""
        return {"status": "ok", "version": __version__}

    return app
