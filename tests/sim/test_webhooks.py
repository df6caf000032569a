"""The simulator's Toggl webhooks: subscriptions over HTTP, the validation ping, signed and retried deliveries.

A local starlette server receives the deliveries. Tests wait for what they expect with timeouts (the receiver's
condition, or `sim.webhooks.wait_idle`), never on how long something took.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.sim.support import API_KEY, CONNECTION, START, create_entry, direct_client
from togglbridge.serving import serve_in_thread
from togglbridge.toggl.sim import SimClock, Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_sim

WAIT = 10.0  # seconds: generous, only reached when something is broken
SECRET = "a-shared-secret"


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


class Receiver:
    """A subscriber's endpoint: records every POST; echoes the validation code; fails the first `fail` events."""

    def __init__(self) -> None:
        self.calls: list[Received] = []
        self.echo = True
        self.fail = 0
        self._cond = threading.Condition()

    async def receive(self, request: Request) -> Response:
        raw = await request.body()
        message = json.loads(raw)
        with self._cond:
            self.calls.append(Received(dict(request.headers), raw))
            self._cond.notify_all()
            if message["payload"] != "ping" and self.fail > 0:
                self.fail -= 1
                return Response("down for maintenance", 503)
        if message["payload"] == "ping" and self.echo and "validation_code" in message:
            return JSONResponse({"validation_code": message["validation_code"]})
        return Response(status_code=204)

    def wait_for(self, count: int) -> list[Received]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.calls) >= count, WAIT), self.calls
            return list(self.calls)

    def events(self) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.body["payload"] != "ping"]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    made = Receiver()
    app = Starlette(routes=[Route("/{path:path}", made.receive, methods=["POST"])])
    with serve_in_thread(app, name="toggl-webhooks-receiver") as base:
        yield made, base


@pytest.fixture
def hooks(url: str) -> Iterator[httpx.Client]:
    """The Webhooks API through the gateway prefix, as the gateway test user."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Maton-Connection": CONNECTION}
    with httpx.Client(base_url=url + "/toggl-track/webhooks/api/v1", headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _quick_retries(sim: Simulator) -> None:
    # Real seconds between tries would only slow the suite; the order of tries is what the tests look at.
    sim.knobs.webhook_retry_seconds = 0.01


def subscribe(
    hooks: httpx.Client, wid: int, callback: str, filters: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body = {
        "url_callback": callback,
        "event_filters": filters or [{"entity": "*", "action": "*"}],
        "secret": SECRET,
        "enabled": True,
        "description": "tests",
    }
    response = hooks.post(f"/subscriptions/{wid}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def validated(
    sim: Simulator, hooks: httpx.Client, wid: int, callback: str, filters: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """A subscription whose ping was answered: it receives events from now on."""
    sub = subscribe(hooks, wid, callback, filters)
    assert sim.webhooks.wait_idle(WAIT)
    shown: dict[str, Any] = hooks.get(f"/subscriptions/{wid}/{sub['subscription_id']}").json()
    assert shown["validated_at"] is not None
    return shown


def signature(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_create_answers_like_toggl_and_the_echoed_ping_validates(
    sim: Simulator, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    sub = subscribe(hooks, wid, base + "/toggl", [{"entity": "time_entry", "action": "*"}])
    assert sub["workspace_id"] == wid
    assert sub["user_id"] == sim.user_for(api_key=API_KEY, connection=CONNECTION).id
    assert sub["enabled"] is True
    assert sub["description"] == "tests"
    assert sub["event_filters"] == [{"entity": "time_entry", "action": "*"}]
    assert sub["url_callback"] == base + "/toggl"
    assert sub["secret"] == SECRET
    assert sub["validated_at"] is None
    assert {"created_at", "updated_at", "has_pending_events"} <= set(sub)

    (ping,) = rec.wait_for(1)
    assert ping.headers["x-webhook-signature-256"] == signature(ping.raw)
    assert ping.body["payload"] == "ping"
    assert ping.body["subscription_id"] == sub["subscription_id"]
    assert ping.body["validation_code"]
    assert sim.webhooks.wait_idle(WAIT)
    shown = hooks.get(f"/subscriptions/{wid}/{sub['subscription_id']}").json()
    assert shown["validated_at"] is not None
    assert [s["subscription_id"] for s in hooks.get(f"/subscriptions/{wid}").json()] == [
        sub["subscription_id"]
    ]

    # Once validated, a ping no longer carries a code.
    assert hooks.post(f"/subscriptions/{wid}/{sub['subscription_id']}/ping").status_code == 200
    assert "validation_code" not in rec.wait_for(2)[1].body


def test_an_unanswered_ping_leaves_it_unvalidated_and_silent_until_validated_by_code(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    rec.echo = False
    sub = subscribe(hooks, wid, base + "/toggl")
    code = rec.wait_for(1)[0].body["validation_code"]
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    assert rec.events() == []
    sid = sub["subscription_id"]
    assert hooks.get(f"/validate/{wid}/{sid}/not-the-code").status_code == 400
    assert hooks.get(f"/validate/{wid}/{sid}/{code}").status_code == 200
    assert hooks.get(f"/subscriptions/{wid}/{sid}").json()["validated_at"] is not None


def test_a_created_entry_arrives_signed_with_the_entry_as_the_api_shows_it(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    sub = validated(sim, hooks, wid, base + "/toggl")
    entry = create_entry(api, wid, START, description="writing")
    (delivery,) = rec.wait_for(2)[1:]
    assert delivery.headers["x-webhook-signature-256"] == signature(delivery.raw)
    assert delivery.headers["content-type"] == "application/json"
    body = delivery.body
    shown = api.get(f"/me/time_entries/{entry['id']}").json()
    assert body["payload"] == {**shown, "created_with": "tests"}
    assert body["creator_id"] == sub["user_id"]
    assert body["subscription_id"] == sub["subscription_id"]
    assert body["url_callback"] == base + "/toggl"
    assert isinstance(body["event_id"], int)
    assert {"created_at", "timestamp"} <= set(body)
    meta = body["metadata"]
    assert meta["action"] == "created"
    assert meta["model"] == "time_entry"
    assert meta["workspace_id"] == str(wid)
    assert meta["path"] == f"/api/v9/workspaces/{wid}/time_entries"
    assert meta["request_type"] == "POST"


def test_stops_updates_deletes_and_projects_arrive_in_order(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/toggl")
    entry = create_entry(api, wid, START)
    sim.clock.advance(600)
    assert api.patch(f"/workspaces/{wid}/time_entries/{entry['id']}/stop").status_code == 200
    assert api.delete(f"/workspaces/{wid}/time_entries/{entry['id']}").status_code == 200
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Docs"}).json()
    assert api.put(f"/workspaces/{wid}/projects/{project['id']}", json={"name": "Docs 2"}).status_code == 200
    assert api.delete(f"/workspaces/{wid}/projects/{project['id']}").status_code == 200
    rec.wait_for(7)
    seen = [(e["metadata"]["model"], e["metadata"]["action"]) for e in rec.events()]
    assert seen == [
        ("time_entry", "created"),
        ("time_entry", "updated"),
        ("time_entry", "deleted"),
        ("project", "created"),
        ("project", "updated"),
        ("project", "deleted"),
    ]
    events = rec.events()
    assert events[1]["payload"]["stop"] is not None
    assert events[2]["payload"]["server_deleted_at"] is not None
    assert events[4]["payload"]["name"] == "Docs 2"
    assert len({e["event_id"] for e in events}) == len(events)


def test_auto_stop_is_an_update_of_the_entry_it_stopped(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/toggl", [{"entity": "time_entry", "action": "updated"}])
    first = create_entry(api, wid, START)
    create_entry(api, wid, START + timedelta(minutes=5))
    assert sim.webhooks.wait_idle(WAIT)
    (update,) = rec.events()
    assert update["payload"]["id"] == first["id"]
    assert update["payload"]["stop"] is not None


def test_filters_choose_the_events(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/projects", [{"entity": "project", "action": "created"}])
    validated(sim, hooks, wid, base + "/entries", [{"entity": "time_entry", "action": "*"}])
    create_entry(api, wid, START)
    project = api.post(f"/workspaces/{wid}/projects", json={"name": "Docs"}).json()
    api.put(f"/workspaces/{wid}/projects/{project['id']}", json={"name": "Docs 2"})
    assert sim.webhooks.wait_idle(WAIT)
    by_url = sorted((e["url_callback"].rsplit("/", 1)[1], e["metadata"]["model"]) for e in rec.events())
    assert by_url == [("entries", "time_entry"), ("projects", "project")]


def test_the_redeliver_knob_sends_each_event_twice_with_the_same_id(
    sim: Simulator, url: str, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/toggl")
    assert httpx.patch(url + "/_sim/knobs", json={"webhook_redeliver": True}).status_code == 200
    create_entry(api, wid, START)
    first, second = rec.wait_for(3)[1:]
    assert first.raw == second.raw
    assert second.headers["x-webhook-signature-256"] == signature(second.raw)
    assert sim.webhooks.wait_idle(WAIT)
    kinds = [(d["event_id"], d["redelivery"]) for d in sim.webhooks.deliveries() if d["kind"] == "event"]
    assert kinds == [(first.body["event_id"], False), (first.body["event_id"], True)]


def test_a_failing_receiver_is_retried_with_the_same_event(
    sim: Simulator, url: str, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/toggl")
    rec.fail = 2
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    tries = rec.events()
    assert len(tries) == 3
    assert len({json.dumps(t, sort_keys=True) for t in tries}) == 1
    state = httpx.get(url + "/_sim/state").json()
    (event,) = [d for d in state["webhook_deliveries"] if d["kind"] == "event"]
    assert event["status"] == "delivered"
    assert event["attempts"] == 3
    assert event["last_status_code"] == 204


def test_a_receiver_that_keeps_failing_is_given_up_after_the_attempts(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    validated(sim, hooks, wid, base + "/toggl")
    sim.knobs.webhook_max_attempts = 2
    rec.fail = 5
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    assert len(rec.events()) == 2
    (event,) = [d for d in sim.webhooks.deliveries() if d["kind"] == "event"]
    assert (event["status"], event["attempts"], event["last_error"]) == ("failed", 2, "HTTP 503")


def test_a_deleted_subscription_receives_nothing_more(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    gone = validated(sim, hooks, wid, base + "/gone")
    validated(sim, hooks, wid, base + "/kept")
    assert hooks.delete(f"/subscriptions/{wid}/{gone['subscription_id']}").status_code == 200
    assert hooks.get(f"/subscriptions/{wid}/{gone['subscription_id']}").status_code == 404
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    assert [e["url_callback"] for e in rec.events()] == [base + "/kept"]


def test_a_disabled_subscription_receives_nothing(
    sim: Simulator, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    sub = validated(sim, hooks, wid, base + "/toggl")
    patched = hooks.patch(f"/subscriptions/{wid}/{sub['subscription_id']}", json={"enabled": False})
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    assert rec.events() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"event_filters": [{"entity": "*", "action": "*"}], "description": "x"}, "url_callback is required"),
        (
            {
                "url_callback": "ftp://x",
                "event_filters": [{"entity": "*", "action": "*"}],
                "description": "x",
            },
            "url",
        ),
        ({"url_callback": "http://x", "description": "x"}, "event_filters is required"),
        ({"url_callback": "http://x", "event_filters": [], "description": "x"}, "non-empty"),
        (
            {
                "url_callback": "http://x",
                "event_filters": [{"entity": "cat", "action": "*"}],
                "description": "x",
            },
            "cat",
        ),
        (
            {
                "url_callback": "http://x",
                "event_filters": [{"entity": "tag", "action": "ate"}],
                "description": "x",
            },
            "ate",
        ),
        ({"url_callback": "http://x", "event_filters": [{"entity": "tag", "action": "*"}]}, "description"),
        (["not", "an", "object"], ""),
    ],
)
def test_a_bad_body_is_400_with_a_message(
    sim: Simulator, hooks: httpx.Client, wid: int, body: Any, message: str
) -> None:
    response = hooks.post(f"/subscriptions/{wid}", json=body)
    assert response.status_code == 400
    assert message in response.json()
    assert sim.state.subscriptions == {}


def test_unknown_subscriptions_are_404_and_other_workspaces_403(
    sim: Simulator, url: str, hooks: httpx.Client, wid: int
) -> None:
    assert hooks.get(f"/subscriptions/{wid}/12345").status_code == 404
    assert hooks.post(f"/subscriptions/{wid}", content=b"{").status_code == 400
    sub = subscribe(hooks, wid, "http://127.0.0.1:9/nowhere")
    with direct_client(url) as other:
        webhooks = url + "/webhooks/api/v1"
        auth = other.auth
        assert httpx.get(f"{webhooks}/subscriptions/{wid}", auth=auth).status_code == 403
        forbidden = httpx.delete(f"{webhooks}/subscriptions/{wid}/{sub['subscription_id']}", auth=auth)
        assert forbidden.status_code == 403
        assert httpx.get(f"{webhooks}/subscriptions/{wid}").status_code == 403  # no credential at all
    assert sub["subscription_id"] in sim.state.subscriptions


def test_the_admin_state_shows_subscriptions_and_deliveries_without_secrets(
    sim: Simulator, url: str, api: httpx.Client, hooks: httpx.Client, wid: int, receiver: tuple[Receiver, str]
) -> None:
    _rec, base = receiver
    sub = validated(sim, hooks, wid, base + "/toggl")
    create_entry(api, wid, START)
    assert sim.webhooks.wait_idle(WAIT)
    response = httpx.get(url + "/_sim/state")
    assert SECRET not in response.text
    state = response.json()
    (shown,) = state["webhook_subscriptions"]
    assert shown["subscription_id"] == sub["subscription_id"]
    assert "secret" not in shown
    assert [(d["kind"], d["status"]) for d in state["webhook_deliveries"]] == [
        ("ping", "delivered"),
        ("event", "delivered"),
    ]


def test_the_webhook_knobs_are_checked(url: str) -> None:
    assert httpx.patch(url + "/_sim/knobs", json={"webhook_max_attempts": 0}).status_code == 400
    assert httpx.patch(url + "/_sim/knobs", json={"webhook_redeliver": "yes"}).status_code == 400
    changed = httpx.patch(url + "/_sim/knobs", json={"webhook_delay_seconds": 0.01})
    assert changed.json()["webhook_delay_seconds"] == 0.01


def test_subscriptions_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.json"
    first = Simulator(clock=SimClock(START), state_file=state_file)
    with serve_sim(first) as url:
        wid = first.user_for(api_key=API_KEY, connection=CONNECTION).default_workspace_id
        headers = {"Authorization": f"Bearer {API_KEY}", "Maton-Connection": CONNECTION}
        with httpx.Client(
            base_url=url + "/toggl-track/webhooks/api/v1", headers=headers, timeout=10
        ) as hooks:
            sub = subscribe(hooks, wid, "http://127.0.0.1:9/nowhere")
    assert first.webhooks.wait_idle(WAIT)
    again = Simulator(clock=SimClock(START), state_file=state_file)
    kept = again.state.subscriptions[sub["subscription_id"]]
    assert (kept.secret, kept.url_callback, kept.workspace_id) == (SECRET, "http://127.0.0.1:9/nowhere", wid)
    assert again.state.new_subscription_id() > sub["subscription_id"]
