"""Who gets in: the dashboard, /metrics and /api/* are off without TOGGLBRIDGE_DASHBOARD_TOKEN, refused without the
token or a signed session, and every change needs the session's CSRF token from the dashboard's own origin."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tests.access_support import DASHBOARD_TOKEN, OPERATOR_HEADERS
from togglbridge.actions import ACTION_ADAPTER
from togglbridge.api.access import FAILED_LOGINS_PER_MINUTE, SESSION_COOKIE
from togglbridge.api.factory import build_receiver
from togglbridge.api.ui import MAX_FORM_BYTES
from togglbridge.settings import Settings
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.journal import record

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = {"Origin": "http://testserver"}
OPERATOR_PATHS = (
    "/ui",
    "/ui/events",
    "/ui/identities",
    "/ui/dead-letters",
    "/ui/deliveries",
    "/ui/calendars",
    "/ui/system",
    "/ui/tester",
    "/ui/static/dashboard.css",
    "/metrics",
    "/api/journal",
    "/api/journal/some-event",
    "/api/deliveries",
    "/api/status",
)
SECRET_EVENT = "git:acme/secret-project:0123abcd"


def receiver(redis_url: str, token: str | None) -> TestClient:
    settings = Settings(
        _env_file=None,
        redis_url=redis_url,
        dashboard_token=token,
        config_file=ROOT / "examples" / "togglbridge.yaml",
    )
    return TestClient(build_receiver(settings, redis_url, SourceSecrets.of(github="access-test-secret")))


@pytest.fixture
def journalled(redis_client: redis.Redis) -> redis.Redis:
    """One event in the journal whose name must never leak to a stranger."""
    redis_client.lpush(keys.JOURNAL_INDEX, SECRET_EVENT)
    redis_client.rpush(
        keys.journal(SECRET_EVENT),
        record("received", source="github", kind="git.commit", actor="alice@acme.io", event_id=SECRET_EVENT),
    )
    return redis_client


@pytest.fixture
def client(redis_url: str, journalled: redis.Redis) -> Iterator[TestClient]:
    with receiver(redis_url, DASHBOARD_TOKEN) as test_client:
        yield test_client


def sign_in(client: TestClient, token: str = DASHBOARD_TOKEN) -> str:
    """Signs in; returns the session's CSRF token, read from a page's sign-out form."""
    response = client.post(
        "/ui/login",
        data={"token": token, "next": "/ui/events"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/events"
    page = client.get("/ui/events")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_without_a_token_everything_inside_is_not_found(redis_url: str, journalled: redis.Redis) -> None:
    with receiver(redis_url, None) as client:
        for path in OPERATOR_PATHS:
            for headers in ({}, OPERATOR_HEADERS):
                response = client.get(path, headers=headers, follow_redirects=False)
                assert response.status_code == 404, path
                assert "secret-project" not in response.text
        assert client.post("/ui/login", data={"token": DASHBOARD_TOKEN}, headers=ORIGIN).status_code == 404
        assert client.get("/healthz").status_code == 200  # the receiver itself still answers


def test_without_credentials_pages_send_to_the_login_and_apis_answer_401(client: TestClient) -> None:
    for path in OPERATOR_PATHS:
        response = client.get(path, follow_redirects=False)
        assert "secret-project" not in response.text, path
        if path.startswith("/ui/") and not path.startswith("/ui/static"):
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/ui/login?next=%2Fui%2F")
        elif path.startswith(("/api/", "/metrics")):
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer " + DASHBOARD_TOKEN[:-1] + "x"}
    for path in ("/api/journal", "/metrics", "/api/status"):
        assert client.get(path, headers=wrong).status_code == 401
        assert client.get(path, headers={"Authorization": DASHBOARD_TOKEN}).status_code == 401  # no scheme
    assert (
        client.get("/api/journal", headers=OPERATOR_HEADERS).json()["events"][0]["event_id"] == SECRET_EVENT
    )


def test_a_session_opens_pages_and_apis_and_is_httponly_and_strict(client: TestClient) -> None:
    response = client.post(
        "/ui/login",
        data={"token": DASHBOARD_TOKEN, "next": "/ui/system"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/ui/system"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and DASHBOARD_TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    events = client.get("/ui/events")
    assert events.status_code == 200 and SECRET_EVENT in events.text
    assert events.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in events.headers["content-security-policy"]
    assert client.get("/api/journal").status_code == 200  # the session opens the JSON too
    assert client.get("/ui/static/dashboard.css").status_code == 200


def test_a_forged_or_foreign_cookie_is_no_session(client: TestClient, redis_url: str) -> None:
    client.cookies.set(SESSION_COOKIE, "eyJjc3JmIjoieCJ9.forged.signature")
    assert client.get("/ui/events", follow_redirects=False).status_code == 303
    with receiver(redis_url, "another-dashboard-token-entirely") as other:
        sign_in(other, "another-dashboard-token-entirely")
        foreign = other.cookies.get(SESSION_COOKIE)
    assert foreign
    client.cookies.set(
        SESSION_COOKIE, foreign
    )  # signed, but by another token: changing the token ends sessions
    assert client.get("/ui/events", follow_redirects=False).status_code == 303
    assert client.get("/api/journal").status_code == 401


def test_a_wrong_token_is_refused_and_guessing_is_limited(client: TestClient) -> None:
    wrong = client.post("/ui/login", data={"token": "not-the-token"}, headers=ORIGIN, follow_redirects=False)
    assert (
        wrong.status_code == 401
        and "That is not the token" in wrong.text
        and "set-cookie" not in wrong.headers
    )
    for _ in range(FAILED_LOGINS_PER_MINUTE - 1):
        client.post("/ui/login", data={"token": "still-wrong"}, headers=ORIGIN)
    blocked = client.post(
        "/ui/login", data={"token": DASHBOARD_TOKEN}, headers=ORIGIN, follow_redirects=False
    )
    assert blocked.status_code == 429 and "set-cookie" not in blocked.headers


def test_a_login_from_another_site_or_to_another_site_goes_nowhere(client: TestClient) -> None:
    foreign = {"Origin": "https://evil.example"}
    response = client.post(
        "/ui/login", data={"token": DASHBOARD_TOKEN}, headers=foreign, follow_redirects=False
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert "own address" in response.text
    for target in ("//evil.example/ui/", "https://evil.example", "/ui/\\evil", "/api/status"):
        response = client.post(
            "/ui/login",
            data={"token": DASHBOARD_TOKEN, "next": target},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert response.headers["location"] == "/ui/events", target


def test_a_change_needs_the_csrf_token_and_the_own_origin(
    client: TestClient, redis_client: redis.Redis
) -> None:
    action = ACTION_ADAPTER.validate_python(
        {
            "type": "stop",
            "identity": "alice",
            "key": "e1|rule|0",
            "event_id": "e1",
            "rule": "rule",
            "occurred_at": "2026-11-30T10:00:00Z",
            "stop": "2026-11-30T10:00:00Z",
        }
    )
    pipe = redis_client.pipeline(transaction=True)
    DeadLetters(redis_client).add("alice", action, 400, "Toggl said no", 1_700_000_000.0, pipe)
    pipe.execute()
    csrf = sign_in(client)
    refused = [
        ({}, {}),  # no token at all
        ({"csrf_token": "wrong"}, ORIGIN),
        ({"csrf_token": csrf}, {"Origin": "https://evil.example"}),
        ({"csrf_token": csrf}, {}),  # no origin, no referer
    ]
    for form, headers in refused:
        response = client.post("/ui/dead-letters/retry", data=form, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (form, headers)
        assert DeadLetters(redis_client).count() == 1  # nothing changed
    done = client.post(
        "/ui/dead-letters/retry",
        data={"csrf_token": csrf, "key": action.key},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/dead-letters?retried=1"
    assert DeadLetters(redis_client).count() == 0
    assert redis_client.zcard(keys.outbox("alice")) == 1
    # The wake-up for a worker carries the identity's name only.
    (message,) = redis_client.lrange("togglbridge.toggl", 0, -1)
    assert json.loads(message)["headers"]["task"] == "togglbridge.drain_identity"


def test_signing_out_ends_the_session_in_this_browser(client: TestClient) -> None:
    csrf = sign_in(client)
    response = client.post("/ui/logout", data={"csrf_token": csrf}, headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert (
        f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    client.cookies.clear()
    assert client.get("/ui/events", follow_redirects=False).status_code == 303


def test_a_weak_token_fails_at_start() -> None:
    from togglbridge.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"TOGGLBRIDGE_DASHBOARD_TOKEN: .*at least 16 characters"):
        load_settings(_env_file=None, dashboard_token="short")


def test_a_form_too_large_is_refused_before_it_is_read(client: TestClient) -> None:
    """Forms are parsed before anyone is asked who sends them: the cap comes first, for strangers too."""
    huge = b"token=" + b"x" * (MAX_FORM_BYTES + 1)
    form = {"Content-Type": "application/x-www-form-urlencoded", **ORIGIN}
    for path in ("/ui/login", "/ui/tester", "/ui/dead-letters/retry", "/ui/logout"):
        response = client.post(path, content=huge, headers=form)
        assert response.status_code == 413, path
        assert "frame-ancestors" in response.headers["content-security-policy"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
        yield b"token="
        for _ in range(3):
            yield b"x" * MAX_FORM_BYTES

    assert client.post("/ui/login", content=chunks(), headers=form).status_code == 413
    assert client.post("/hooks/github", content=b"{}", headers={"X-GitHub-Event": "ping"}).status_code != 413


def test_requests_from_another_site_never_lock_the_operator_out(client: TestClient) -> None:
    for _ in range(FAILED_LOGINS_PER_MINUTE + 2):
        foreign = client.post(
            "/ui/login", data={"token": "guess"}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
    sign_in(client)


def test_an_event_id_a_sender_chose_cannot_make_a_link_to_another_page(
    client: TestClient, redis_client: redis.Redis
) -> None:
    hostile = "../../metrics"
    redis_client.lpush(keys.JOURNAL_INDEX, hostile)
    redis_client.rpush(
        keys.journal(hostile),
        record("received", source="generic", kind="build.finished", actor="a@b.io", event_id=hostile),
    )
    sign_in(client)
    page = client.get("/ui/events").text
    assert 'href="/ui/events/..%2F..%2Fmetrics"' in page and 'href="/ui/events/../' not in page
    story = client.get("/ui/events/..%2F..%2Fmetrics")
    assert story.status_code == 200 and "build.finished" in story.text
