"""The dashboard in a real headless Chromium, against a running bridge (receiver, a real Celery worker, the
simulator over HTTP, real Redis): signing in from the link ``make run`` prints, a push appearing without a reload,
an event's story, a dead letter retried once its cause is fixed, every page on a phone and in dark mode, and a
stranger sent to the login page. Screenshots of each page land in ``test-output/screenshots/``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.access_support import DASHBOARD_TOKEN
from tests.browser_support import screenshot
from tests.pipeline_support import Pipeline, push_body, running_pipeline, send_push, wait_for
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.redis_server import RedisServer
from togglbridge.toggl.sim.models import Project, name_key

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures"
MISSING_PROJECT = 999_999
RULES = f"""
defaults:
  created_with: togglbridge-tests
identities:
  alice:
    emails: [alice@acme.io]
rules:
  - name: broken repo
    on: git.commit
    if: {{repo.full_name: acme/broken}}
    stop: true
    do:
      - log: {{description: "{{{{ message | first_line }}}}", duration: 10m, project: {MISSING_PROJECT}}}
  - name: commits
    on: git.commit
    if: {{repo.full_name: {{glob: "acme/*"}}, branch: main}}
    do:
      - log: {{description: "{{{{ repo.name }}}}: {{{{ message | first_line }}}}", duration: 10m, tags: [code]}}
"""


@pytest.fixture(scope="module")
def bridge(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with running_pipeline(
        redis_server.url, RULES, tmp_path_factory.mktemp("dashboard"), ["alice"]
    ) as running:
        yield running


@pytest.fixture
def page(browser: Any, bridge: Pipeline) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()


def sign_in(page: Any, bridge: Pipeline) -> None:
    """As a person does with the link ``make run`` prints: the token after '#', never sent to the server."""
    page.goto(f"{bridge.url}/ui/login#token={DASHBOARD_TOKEN}")
    page.wait_for_url("**/ui/events")
    assert "token" not in page.url


def live_entries(bridge: Pipeline) -> list[Any]:
    user = bridge.sim.user_for(api_key="simulator", connection="alice")
    with bridge.sim.lock:
        return [e for e in bridge.sim.state.entries.values() if e.user_id == user.id and not e.deleted]


def test_a_stranger_is_sent_to_the_login_and_a_wrong_token_gets_nothing(
    browser: Any, bridge: Pipeline
) -> None:
    context = browser.new_context()
    try:
        stranger = context.new_page()
        stranger.goto(f"{bridge.url}/ui/events")
        assert stranger.url.startswith(f"{bridge.url}/ui/login?next=")
        assert stranger.locator("h1").inner_text() == "Sign in"
        stranger.fill("#token", "a-wrong-token-of-enough-length")
        stranger.click("button[type=submit]")
        assert "That is not the token" in stranger.content()
        screenshot(stranger, "login-refused")
        for path in ("/api/journal", "/metrics", "/api/status"):
            assert context.request.get(f"{bridge.url}{path}").status == 401
    finally:
        context.close()


def test_a_push_appears_without_a_reload_and_tells_its_story(page: Any, bridge: Pipeline) -> None:
    sign_in(page, bridge)
    empty = page.locator("#event-rows tr.empty")
    if not bridge.redis.exists(keys.JOURNAL_INDEX):
        assert "No events yet" in empty.inner_text()
        screenshot(page, "events-empty")
    page.evaluate("window.__notReloaded = true")

    body = push_body("alice", 2)
    assert send_push(bridge, body).status_code == 202
    rows = page.locator("#event-rows tr[data-event^='git:acme/webapp:']")
    rows.first.wait_for()
    wait_for(lambda: page.locator("#event-rows .badge.applied").count() >= 2, timeout=60, what="applied rows")
    assert (
        page.evaluate("window.__notReloaded") is True
    )  # the rows came in place, not by loading the page again
    assert rows.count() == 2
    screenshot(page, "events")

    rows.first.locator("a").first.click()
    page.wait_for_url(lambda url: "/ui/events/git:acme%2Fwebapp:" in url)  # one path segment, / escaped
    story = page.locator("#story")
    assert "'alice@acme.io' is listed under alice's emails" in story.inner_text()
    rules = page.locator("table.rules")
    commits_rule = rules.locator("tr", has=page.locator("th", has_text="commits"))
    assert "matched" in commits_rule.inner_text()
    assert "repo.full_name glob acme/*: got acme/webapp" in commits_rule.inner_text()
    assert "they do not take" not in rules.inner_text()  # every rule here takes commits
    request_row = page.locator("table.requests tr", has_text="/time_entries").first
    assert request_row.locator("td.status").inner_text() == "200"
    assert "POST /api/v9/workspaces/" in request_row.inner_text()
    link = page.locator("a", has_text="see it in the simulator's state")
    assert link.get_attribute("href") == f"{bridge.sim_url}/_sim/state"
    assert page.locator("h1 .badge").inner_text() == "applied"
    screenshot(page, "event-story")

    page.goto(f"{bridge.url}/ui/events?kind=git.push")
    assert page.locator("#event-rows tr[data-event]").count() >= 1
    assert page.locator("#event-rows tr[data-event^='git:acme/webapp:']").count() == 0


def test_a_dead_letter_is_retried_from_its_page_once_its_cause_is_fixed(page: Any, bridge: Pipeline) -> None:
    sign_in(page, bridge)
    broken = push_body("alice", 1, repo="acme/broken", start_minute=30)
    assert send_push(bridge, broken).status_code == 202
    letters = DeadLetters(bridge.redis)
    wait_for(lambda: letters.count() == 1, timeout=60, what="the refused action's dead letter")
    (refused,) = letters.all()
    page.goto(f"{bridge.url}/ui/dead-letters")
    row = page.locator("table.letters tbody tr")
    assert row.count() == 1 and "Project" in row.locator("td.error").inner_text()
    screenshot(page, "dead-letters")
    identities = page.goto(f"{bridge.url}/ui/identities")
    assert identities is not None and identities.ok
    card = page.locator(".identity-card[data-identity=alice]")
    assert "Project" in card.inner_text()  # the last error
    screenshot(page, "identities")

    # The fix: the project the rule names now exists.
    user = bridge.sim.user_for(api_key="simulator", connection="alice")
    with bridge.sim.lock:
        workspace = bridge.sim.state.workspaces[user.default_workspace_id]
        workspace.projects[MISSING_PROJECT] = Project(MISSING_PROJECT, workspace.id, "Restored", "#06aed5")
        workspace.project_names[name_key("Restored")] = MISSING_PROJECT
    before = len(live_entries(bridge))
    page.goto(f"{bridge.url}/ui/dead-letters")
    page.locator("table.letters tbody tr button", has_text="Retry").click()
    page.wait_for_url("**/ui/dead-letters?retried=1")
    assert "1 letter put back in the queue" in page.locator(".notice").inner_text()
    wait_for(lambda: len(live_entries(bridge)) == before + 1, timeout=60, what="the retried action's entry")
    assert [e.project_id for e in live_entries(bridge)].count(MISSING_PROJECT) == 1
    assert letters.count() == 0
    page.locator("#letters p.empty").wait_for()  # the page saw it go, without a reload
    screenshot(page, "dead-letters-retried")
    page.goto(f"{bridge.url}/ui/events/{refused['event_id']}")
    assert page.locator("h1 .badge").inner_text() == "applied"  # died once, then applied: no failure now
    steps = [step.inner_text().split()[1] for step in page.locator("p.step").all()]
    assert steps == ["healed", "dead", "applied"]  # refused, learned again and refused, then retried by hand


def test_every_page_renders_on_a_desktop_a_phone_and_in_dark_mode(browser: Any, bridge: Pipeline) -> None:
    pages = ["events", "identities", "dead-letters", "deliveries", "calendars", "system", "tester"]
    for name, options in (
        ("desktop", {"viewport": {"width": 1280, "height": 860}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}),
        ("dark", {"viewport": {"width": 1280, "height": 860}, "color_scheme": "dark"}),
    ):
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.on(
                "console",
                lambda message, errors=errors: (
                    errors.append(message.text) if message.type == "error" else None
                ),
            )
            sign_in(page, bridge)
            for path in pages:
                response = page.goto(f"{bridge.url}/ui/{path}")
                assert response is not None and response.status == 200, path
                assert page.locator("main h1").count() == 1, path
                # Nothing wider than the screen but the tables, which scroll in their own box.
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (name, path, overflow)
                screenshot(page, f"{path}-{name}")
            assert errors == [], errors  # no script error, nothing refused by the content security policy
        finally:
            context.close()


def test_the_rule_tester_explains_a_raw_delivery_and_a_broken_one(page: Any, bridge: Pipeline) -> None:
    sign_in(page, bridge)
    page.goto(f"{bridge.url}/ui/tester")
    raw = (FIXTURES / "github" / "push__main.json").read_text()
    payload = json.loads(raw)
    author = payload["commits"][0]["author"]["email"]
    page.select_option("#source", "github")
    page.fill("#body", raw)
    page.click("form.tester button[type=submit]")
    result = page.locator("#tester-result")
    result.wait_for()
    assert (
        "git.commit" in result.inner_text() and "commits" in result.locator("table.rules").last.inner_text()
    )
    assert author in result.inner_text() or "no identity" in result.inner_text()
    screenshot(page, "tester")
    # The form keeps what was pasted, so a fix is one edit away.
    assert page.locator("#body").input_value() == raw

    page.select_option("#source", "")
    page.fill("#body", '{"id": "x", "kind": "build.finished"}')
    page.click("form.tester button[type=submit]")
    problems = page.locator("#tester-result ul.errors").inner_text()
    assert "source: Field required" in problems and "actor: Field required" in problems

    before = int(bridge.redis.llen(keys.JOURNAL_INDEX))
    time.sleep(0.5)
    assert int(bridge.redis.llen(keys.JOURNAL_INDEX)) == before  # explaining queued nothing


def test_the_metrics_and_apis_answer_a_signed_in_browser_and_the_token(page: Any, bridge: Pipeline) -> None:
    sign_in(page, bridge)
    assert page.request.get(f"{bridge.url}/api/status").ok  # the session cookie opens the JSON as well
    scraped = httpx.get(f"{bridge.url}/metrics", headers={"Authorization": f"Bearer {DASHBOARD_TOKEN}"})
    assert scraped.status_code == 200 and "togglbridge_" in scraped.text
