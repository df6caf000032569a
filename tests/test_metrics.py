"""``GET /metrics``: counters and histograms that every process adds to in Redis, gauges read at the scrape.

The pure parts (route templates, buckets, field names) alone; the scripts against the real Redis; then a known
scenario through the real pipeline (signed HTTP deliveries, the receiver, a prefork Celery worker, the simulator
over HTTP), whose every number is checked against what was sent and what the simulator saw."""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.access_support import DASHBOARD_TOKEN, OPERATOR_HEADERS
from tests.pipeline_support import GITHUB_SECRET, Pipeline, entries_of, push_body, running_pipeline, wait_for
from tests.test_pipeline import RULES  # the same rule file: a log per commit, a broken repo
from togglbridge.api.factory import build_receiver
from togglbridge.queues import ALL_QUEUES
from togglbridge.settings import Settings
from togglbridge.sources.github_payloads import delivery_headers
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import keys, metrics
from togglbridge.store.journal import Journal, record
from togglbridge.store.metrics import Tally, bucket_for, route_template
from togglbridge.store.redis_server import RedisServer
from togglbridge.toggl.transport import RequestRecord

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(exposition: str) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the exposition has no such sample (a counter that never counted)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of ``name`` whose labels include ``labels``."""
    return sum(
        amount
        for (sample, sample_labels), amount in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


# -- the pure parts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/api/v9/me", "/me"),
        ("/api/v9/me/time_entries/current", "/me/time_entries/current"),
        ("/api/v9/workspaces/7/time_entries", "/workspaces/{id}/time_entries"),
        ("/api/v9/workspaces/7/time_entries/42", "/workspaces/{id}/time_entries/{id}"),
        ("/api/v9/workspaces/7/time_entries/42/stop", "/workspaces/{id}/time_entries/{id}/stop"),
        ("/api/v9/workspaces/7/time_entries/1,2,3", "/workspaces/{id}/time_entries/{ids}"),
        ("/api/v9/workspaces/7/projects?name=x&page=2", "/workspaces/{id}/projects"),
        ("/webhooks/api/v1/subscriptions/7/12", "/webhooks/api/v1/subscriptions/{id}/{id}"),
        # anything that is not one of Toggl's path words is an id: a name or a token never becomes a label
        ("/api/v9/workspaces/7/tags/Client%20Work", "/workspaces/{id}/tags/{id}"),
        ("/api/v9/workspaces/abc-DEF_123", "/workspaces/{id}"),
        ("/api/v9/", "/"),
    ],
)
def test_a_route_is_its_path_with_the_ids_taken_out(path: str, route: str) -> None:
    assert route_template(path) == route


def test_a_value_falls_in_the_smallest_bucket_that_holds_it() -> None:
    bounds = (0.1, 0.5, 1.0)
    assert [bucket_for(v, bounds) for v in (0.0, 0.1, 0.10001, 0.5, 0.99, 1.0, 1.5, math.inf)] == [
        "0.1",
        "0.1",
        "0.5",
        "0.5",
        "1.0",
        "1.0",
        "+Inf",
        "+Inf",
    ]


@pytest.mark.parametrize("labels", [["github", "202"], ['we"ird', "a,b", "[x]", "ünï", ""], []])
def test_a_field_names_its_labels_whatever_they_hold(labels: list[str]) -> None:
    assert metrics.parse_field(metrics.field(labels)) == labels


def test_an_unreadable_field_is_left_out() -> None:
    assert metrics.parse_field("not json") is None
    assert metrics.parse_field('{"a": 1}') is None
    counters = metrics.counters_of(metrics.ACTIONS, {"nope": 1.0, '["log"]': 2.0, '["log","applied"]': 3.0})
    assert counters == {("log", "applied"): 3.0}


def test_an_outcome_says_what_planning_decided() -> None:
    assert metrics.event_outcome(None, 0, 0) == "no_identity"
    assert metrics.event_outcome(None, 0, 1) == "no_identity"
    assert metrics.event_outcome("alice", 2, 0) == "planned"
    assert metrics.event_outcome("alice", 0, 0) == "no_action"
    assert metrics.event_outcome("alice", 1, 1) == "error"  # a failed rule is what to look at


def test_an_unregistered_source_is_one_label() -> None:
    assert metrics.source_label("github") == "github"
    assert metrics.source_label("anything-anyone-types") == "unknown"


def test_histograms_read_cumulative_even_over_an_earlier_bucket_list() -> None:
    family = metrics.Family("h", "", ("route",), (0.1, 1.0))
    stored = {
        '["/me","0.1"]': 2.0,
        '["/me","0.5"]': 1.0,  # a bound an earlier version used
        '["/me","+Inf"]': 1.0,
        '["/me","sum"]': 7.25,
    }
    (histogram,) = metrics.histograms_of(family, stored).values()
    assert histogram.buckets == [(0.1, 2.0), (0.5, 3.0), (1.0, 3.0), (math.inf, 4.0)]
    assert (histogram.count, histogram.sum) == (4.0, 7.25)


# -- the scripts, on the real Redis ------------------------------------------------------------------------------


def test_a_tally_is_one_command_and_adds_across_writers(redis_client: redis.Redis) -> None:
    for _ in range(2):  # two processes' worth
        tally = Tally()
        tally.count(metrics.ACTIONS, "log", "applied")
        tally.count(metrics.ACTIONS, "log", "applied")
        tally.requests(
            [
                RequestRecord("POST", "/api/v9/workspaces/7/time_entries", 200, 40.0),
                RequestRecord("POST", "/api/v9/workspaces/8/time_entries", 200, 300.0),
                RequestRecord("GET", "/api/v9/me", None, 20_000.0),
            ]
        )
        pipe = redis_client.pipeline(transaction=True)
        tally.write(pipe)
        assert len(pipe.command_stack) == 1
        pipe.execute()
    readings = metrics.read(redis_client)
    assert readings.counters["actions"] == {("log", "applied"): 4.0}
    assert readings.counters["toggl_requests"] == {
        ("GET", "/me", "none"): 2.0,
        ("POST", "/workspaces/{id}/time_entries", "200"): 4.0,
    }
    posts = readings.histograms["toggl_request_duration_seconds"][("POST", "/workspaces/{id}/time_entries")]
    assert dict(posts.buckets)[0.05] == 2.0 and dict(posts.buckets)[0.5] == 4.0
    assert posts.count == 4.0 and posts.sum == pytest.approx(0.68)
    slow = readings.histograms["toggl_request_duration_seconds"][("GET", "/me")]
    assert dict(slow.buckets)[20.0] == 2.0  # 20 s is the last bound, inclusive


def test_an_empty_tally_writes_nothing(redis_client: redis.Redis) -> None:
    pipe = redis_client.pipeline()
    Tally().write(pipe)
    assert pipe.command_stack == []


def _accepted(client: redis.Redis, event_id: str, message_id: str) -> None:
    """What the receiver's accept script leaves: the journalled event and the message's safety copy."""
    client.lpush(keys.JOURNAL_INDEX, event_id)
    client.rpush(keys.journal(event_id), record("received"))
    client.hset(keys.UNPLANNED_MESSAGES, message_id, "{}")


def _plan(client: redis.Redis, message_id: str, events: list[metrics.PlannedEvent]) -> None:
    """The plan stage's transaction, as far as counting goes: journal appends, the count, the copy forgotten."""
    journal = Journal(client, cap=100)
    pipe = client.pipeline(transaction=True)
    for event in events:
        journal.append(event.event_id, record("planned", identity="alice", actions=[]), pipe=pipe)
    metrics.count_planned(pipe, message_id, events)
    pipe.hdel(keys.UNPLANNED_MESSAGES, message_id)
    pipe.execute()


def test_an_event_counts_once_however_often_it_is_planned(redis_client: redis.Redis) -> None:
    commit = metrics.PlannedEvent("git:acme/webapp:abc", "github", "git.commit", "planned")
    _accepted(redis_client, commit.event_id, "m1")
    _plan(redis_client, "m1", [commit])
    _plan(redis_client, "m1", [commit])  # Celery delivers the message again
    _accepted(redis_client, commit.event_id, "m2")  # the same commit in another push
    _plan(redis_client, "m2", [commit])
    events = metrics.read(redis_client).counters["events"]
    assert events == {("github", "git.commit", "planned"): 1.0}


def test_an_event_twice_in_one_message_counts_once(redis_client: redis.Redis) -> None:
    commit = metrics.PlannedEvent("git:acme/webapp:abc", "github", "git.commit", "planned")
    _accepted(redis_client, commit.event_id, "m1")
    _plan(redis_client, "m1", [commit, commit])
    assert metrics.read(redis_client).counters["events"] == {("github", "git.commit", "planned"): 1.0}


def test_an_event_the_journal_let_go_counts_on_its_messages_first_planning(redis_client: redis.Redis) -> None:
    trimmed = metrics.PlannedEvent("generic:old", "generic", "build.finished", "no_action")
    redis_client.hset(keys.UNPLANNED_MESSAGES, "m1", "{}")  # queued, but no longer journalled
    _plan(redis_client, "m1", [trimmed])
    _plan(redis_client, "m1", [trimmed])
    assert metrics.read(redis_client).counters["events"] == {("generic", "build.finished", "no_action"): 1.0}


# -- the endpoint ------------------------------------------------------------------------------------------------

PUSH = (Path(__file__).parent / "fixtures" / "github" / "push__main.json").read_bytes()


def receiver(redis_url: str, token: str | None = DASHBOARD_TOKEN) -> TestClient:
    settings = Settings(_env_file=None, redis_url=redis_url, dashboard_token=token)
    return TestClient(build_receiver(settings, redis_url, SourceSecrets.of(github=GITHUB_SECRET)))


def github(delivery: str) -> dict[str, str]:
    return delivery_headers(PUSH, GITHUB_SECRET, delivery=delivery)


def test_metrics_are_off_without_a_token(redis_url: str) -> None:
    with receiver(redis_url, token=None) as client:
        response = client.get("/metrics", headers=OPERATOR_HEADERS)
    assert response.status_code == 404
    assert "togglbridge_" not in response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-the-token"}, {"Authorization": f"Basic {DASHBOARD_TOKEN}"}],
    ids=["none", "wrong", "not-bearer"],
)
def test_metrics_need_the_token(redis_url: str, headers: dict[str, str]) -> None:
    with receiver(redis_url) as client:
        assert client.post("/hooks/github", content=PUSH, headers=github("d-1")).status_code == 202
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "togglbridge_" not in response.text and "github" not in response.text


def test_two_receivers_count_into_the_same_numbers(redis_url: str) -> None:
    with receiver(redis_url) as first, receiver(redis_url) as second:
        assert first.post("/hooks/github", content=PUSH, headers=github("a")).status_code == 202
        assert first.post("/hooks/github", content=PUSH, headers=github("b")).status_code == 202
        assert second.post("/hooks/github", content=PUSH, headers=github("c")).status_code == 202
        assert second.post("/hooks/github", content=PUSH, headers=github("a")).status_code == 200
        forged = github("d") | {"X-Hub-Signature-256": "sha256=" + "0" * 64}
        assert second.post("/hooks/github", content=PUSH, headers=forged).status_code == 401
        assert second.post("/hooks/no-such-source", content=b"{}").status_code == 404
        # A receiver writes what it counted within 50 ms, and at once when it is scraped: a first round of
        # scrapes has each write its own, so that the second round reads both.
        for client in (first, second):
            client.get("/metrics", headers=OPERATOR_HEADERS)
        scrapes = [client.get("/metrics", headers=OPERATOR_HEADERS) for client in (first, second)]
    for scrape in scrapes:
        assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
        samples = parse(scrape.text)
        name = "togglbridge_deliveries_total"
        assert value(samples, name, source="github", status="202") == 3
        assert value(samples, name, source="github", status="200") == 1
        assert value(samples, name, source="github", status="401") == 1
        assert value(samples, name, source="unknown", status="404") == 1
        assert total(samples, name) == 6
        assert value(samples, "togglbridge_queue_messages", queue="togglbridge.ingest") == 3


def test_a_scrape_without_redis_is_a_503(redis_url: str) -> None:
    with receiver(redis_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        working, state.sync_redis = state.sync_redis, redis.Redis(host="127.0.0.1", port=1)
        try:
            response = client.get("/metrics", headers=OPERATOR_HEADERS)
        finally:
            state.sync_redis.close()
            state.sync_redis = working
    assert response.status_code == 503


# -- a known scenario through the whole pipeline -----------------------------------------------------------------

QUOTA = 500


@pytest.fixture
def pipeline(redis_server: RedisServer, tmp_path: Path) -> Iterator[Pipeline]:
    identities = [f"{name}-{uuid.uuid4().hex[:6]}" for name in ("alice", "bob")]
    listed = "".join(f"  {name}:\n    emails: [{name}@acme.io]\n" for name in identities)
    rules = "defaults:\n  created_with: togglbridge-tests\nidentities:\n" + listed + RULES
    with running_pipeline(
        redis_server.url, rules, tmp_path, identities, extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"}
    ) as running:
        running.sim.knobs.quota_per_hour = QUOTA
        yield running


def send(pipeline: Pipeline, body: bytes, delivery: str, *, forged: bool = False) -> int:
    headers = delivery_headers(body, GITHUB_SECRET, delivery=delivery)
    if forged:
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    return httpx.post(f"{pipeline.url}/hooks/github", content=body, headers=headers, timeout=10).status_code


def scrape(pipeline: Pipeline) -> Samples:
    response = httpx.get(f"{pipeline.url}/metrics", headers=OPERATOR_HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return parse(response.text)


def _sim_route(label: str) -> tuple[str, str]:
    """The simulator's route label ("POST /workspaces/{wid}/time_entries") as the metric's (method, route)."""
    method, path = label.split(" ", 1)
    return method, re.sub(r"\{[^}]+\}", "{id}", path)


@pytest.mark.integration
def test_a_known_scenario_gives_exact_numbers(pipeline: Pipeline) -> None:
    alice, bob = pipeline.identities
    bob_push = push_body(bob, 1)
    answers = [
        send(pipeline, push_body(alice, 2), "alice-1"),  # a push and two commits
        send(pipeline, push_body(alice, 2), "alice-1"),  # redelivered: 200, nothing queued
        send(pipeline, bob_push, "bob-1"),
        send(pipeline, push_body("carol", 1), "carol-1"),  # nobody in the rule file
        send(pipeline, push_body(alice, 1, repo="acme/broken", start_minute=30), "broken-1"),
        send(pipeline, push_body(bob, 1), "forged", forged=True),
    ]
    assert answers == [202, 200, 202, 202, 202, 401]
    wait_for(lambda: len(entries_of(pipeline, bob)) == 1, what="bob's entry")
    # bob's commit again in another push, once it was applied: a new push event, the same commit event
    assert send(pipeline, bob_push, "bob-2") == 202
    wait_for(lambda: len(entries_of(pipeline, alice)) == 2, what="alice's entries")

    def settled() -> Samples | None:
        samples = scrape(pipeline)
        finished = total(samples, "togglbridge_actions_total", result="applied")
        finished += total(samples, "togglbridge_actions_total", result="dead")
        finished += total(samples, "togglbridge_actions_total", result="skipped")
        idle = all(value(samples, "togglbridge_queue_messages", queue=q) == 0 for q in ALL_QUEUES)
        ticked = value(samples, "togglbridge_beat_last_tick_timestamp_seconds") > 0
        return samples if finished == 5 and idle and ticked else None

    samples = wait_for(settled, what="every action's end and empty queues")

    deliveries = "togglbridge_deliveries_total"
    assert value(samples, deliveries, source="github", status="202") == 5
    assert value(samples, deliveries, source="github", status="200") == 1
    assert value(samples, deliveries, source="github", status="401") == 1
    assert total(samples, deliveries) == 7

    events = "togglbridge_events_total"
    assert value(samples, events, source="github", kind="git.push", outcome="no_action") == 4
    assert value(samples, events, source="github", kind="git.push", outcome="no_identity") == 1
    assert value(samples, events, source="github", kind="git.commit", outcome="planned") == 4  # bob's once
    assert value(samples, events, source="github", kind="git.commit", outcome="no_identity") == 1
    assert total(samples, events) == 10

    actions = "togglbridge_actions_total"
    assert value(samples, actions, type="log", result="applied") == 3
    assert value(samples, actions, type="log", result="skipped") == 1  # bob's commit, already applied
    assert value(samples, actions, type="log", result="healed") == 1  # the unknown project, tried again
    assert value(samples, actions, type="log", result="dead") == 1  # ... and refused again
    assert total(samples, actions) == 6

    # Toggl's requests, as the simulator itself counted them
    stats = pipeline.sim.stats
    requests = "togglbridge_toggl_requests_total"
    by_route: Counter[tuple[str, str]] = Counter()
    for label, count in stats.by_route.items():
        by_route[_sim_route(label)] += count
    assert by_route[("POST", "/workspaces/{id}/time_entries")] == 5  # 3 entries and the refused one, twice
    for (method, route), count in by_route.items():
        assert total(samples, requests, method=method, route=route) == count, (method, route)
        duration = "togglbridge_toggl_request_duration_seconds"
        assert value(samples, f"{duration}_count", method=method, route=route) == count
        assert value(samples, f"{duration}_bucket", method=method, route=route, le="+Inf") == count
        assert value(samples, f"{duration}_sum", method=method, route=route) > 0
    for status, count in stats.by_status.items():
        assert total(samples, requests, status=str(status)) == count, status
    assert total(samples, requests) == stats.total
    assert value(samples, requests, method="POST", route="/workspaces/{id}/time_entries", status="400") == 2

    # each finished action that sent a request: 3 applied and the refused one
    latency = "togglbridge_delivery_to_toggl_seconds"
    assert value(samples, f"{latency}_count", priority="normal") == 4
    assert value(samples, f"{latency}_bucket", priority="normal", le="+Inf") == 4
    assert value(samples, f"{latency}_sum", priority="normal") > 0

    # the gauges, computed at the scrape
    for queue in ALL_QUEUES:
        assert value(samples, "togglbridge_queue_messages", queue=queue) == 0
    for identity in (alice, bob):
        assert value(samples, "togglbridge_outbox_actions", identity=identity) == 0
        user = pipeline.sim.user_for(api_key="simulator", connection=identity)
        sent = stats.by_credential[user.id]
        assert value(samples, "togglbridge_toggl_quota_remaining", identity=identity) == QUOTA - sent
        assert 0 < value(samples, "togglbridge_toggl_quota_reset_seconds", identity=identity) <= 3600
    assert value(samples, "togglbridge_dead_letters") == 1
    assert value(samples, "togglbridge_parked_identities") == 0
    assert value(samples, "togglbridge_beat_last_tick_timestamp_seconds") > 0


def exposition_names(exposition: str) -> set[str]:
    """The series names an exposition offers PromQL: each sample's, and each family's by its type (a family may
    have no sample yet)."""
    names: set[str] = set()
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    for family in text_string_to_metric_families(exposition):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, [""])}
    return names


def scraped_names(redis_url: str) -> set[str]:
    """The names a real receiver's /metrics shows, with one increment in every kept family."""
    client = redis.Redis.from_url(redis_url)
    tally = Tally()
    for family in metrics.FAMILIES:
        labels = ["x"] * len(family.labels)
        if family.histogram:
            tally.observe(family, 0.2, *labels)
        else:
            tally.count(family, *labels)
    pipe = client.pipeline()
    tally.write(pipe)
    pipe.execute()
    client.close()
    with receiver(redis_url) as test_client:
        response = test_client.get("/metrics", headers=OPERATOR_HEADERS)
    assert response.status_code == 200
    return exposition_names(response.text)


def test_every_name_follows_prometheus_conventions(redis_url: str) -> None:
    names = scraped_names(redis_url)
    assert names and all(name.startswith("togglbridge_") for name in names)
    assert {
        "togglbridge_deliveries_total",
        "togglbridge_events_total",
        "togglbridge_actions_total",
        "togglbridge_toggl_requests_total",
        "togglbridge_toggl_request_duration_seconds_bucket",
        "togglbridge_delivery_to_toggl_seconds_count",
        "togglbridge_queue_messages",
        "togglbridge_outbox_actions",
        "togglbridge_parked_identities",
        "togglbridge_dead_letters",
        "togglbridge_toggl_quota_remaining",
        "togglbridge_toggl_quota_reset_seconds",
        "togglbridge_calendar_feed_failures",
        "togglbridge_calendar_feed_last_success_timestamp_seconds",
    } <= names
    # a scrape holds no secret: not the dashboard token, not a source's
    with receiver(redis_url) as client:
        text = client.get("/metrics", headers=OPERATOR_HEADERS).text
    assert DASHBOARD_TOKEN not in text and GITHUB_SECRET not in text


def test_a_kind_no_source_declares_is_counted_as_other() -> None:
    from togglbridge.store.metrics import kind_label

    assert kind_label("git.commit") == "git.commit"
    assert kind_label("calendar.started") == "calendar.started"
    assert kind_label("build.finished-" + "x" * 40) == "other"  # a generic sender's own kind
