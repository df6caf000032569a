"""A real headless browser for the dashboard's tests: Debian's chromium (``/usr/bin/chromium``, or
``TOGGLBRIDGE_CHROMIUM``) driven by Playwright, which never downloads a browser of its own.

Without the browser the tests are skipped with what to install, except in CI (``CI=true``), where a missing
browser is a failure: ``.ci/run`` installs it. Screenshots go to ``test-output/screenshots/`` (or
``TOGGLBRIDGE_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(os.environ.get("TOGGLBRIDGE_SCREENSHOTS") or ROOT / "test-output" / "screenshots")
# This machine's network is closed: without these, chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    named = os.environ.get("TOGGLBRIDGE_CHROMIUM")
    if named:
        return named
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


# Per module, not per session: Playwright's sync API runs an event loop in this thread while it is open, and
# the tests after it that call asyncio.run must find none.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        message = "no chromium: install Debian's package (apt-get install chromium) to run the browser tests"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (.ci/run installs it)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot kept for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
