"""Hostile input to the receiver and the pipeline: whatever arrives, the receiver answers with a documented status
and never a 5xx, nothing without a valid signature reaches Redis, and no event data crashes the planner or the
executor. (Each source's own hostile-input tests, signed bodies of every odd shape, are in tests/sources/.)

- Schemathesis covers what the OpenAPI document describes (every operation, valid and invalid parameters).
- Hypothesis covers what it cannot describe: the raw bodies and headers of the signed hooks, unsigned (forged)
  and validly signed, including oversized, truncated, wrongly encoded and deeply nested bodies.
- Hypothesis-built events go through ``dispatch`` with the example rule file and a real Redis, and a bounded number
  of them through the executor against the simulator over HTTP: with the example rule file, and with one that
  feeds event data into every field of every action type (``fixtures/hostile/every_action.yaml``) while the
  simulator fails a third of the requests.

Inputs are derandomized, so CI sees the same examples on every run and a failure is a bug, never bad luck. Set
``TOGGLBRIDGE_FUZZ_EXPLORE=1`` to draw fresh examples, ten times as many, when hunting locally.

Every bug this suite found is fixed; each test that found one stays, so that it cannot come back.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import event, example, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile_support import (
    DEEPEST,
    GENERIC_EVENT,
    MAX_BODY_BYTES,
    PUSH,
    Headers,
    assert_documented,
    check_dispatch,
    hostile_bodies,
    hostile_receiver,
    post,
    queued_events,
    signed,
    valid_body,
    waiting_actions,
)
from tests.sources.harness import FIXTURES, SENDERS, fuzz, int64, json_values, nested, odd_values
from tests.test_receiver import untouched
from togglbridge.config import Config, load_config
from togglbridge.events import Event, known_kinds
from togglbridge.executor import Executor
from togglbridge.runtime import accounts_from_config
from togglbridge.settings import Settings
from togglbridge.sources import SOURCES, generic, github
from togglbridge.store import keys
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.journal import Journal
from togglbridge.store.ledger import Ledger
from togglbridge.store.outbox import Outbox
from togglbridge.toggl.access import SettingsAccess
from togglbridge.toggl.sim import Simulator, serve_in_thread

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
WRONG_SECRET = "not-the-secret"
WRONG_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"x" * 24).decode()
# A request without a valid signature is refused before its body means anything: 401, or 413 / 415 when the
# size or content type is checked first. Never 200 or 202 (accepted), never 400 (parsed).
UNSIGNED_STATUSES = {401, 413, 415}
EXAMPLE_EVENTS: list[dict[str, Any]] = [
    json.loads(p.read_text()) for p in sorted((ROOT / "examples" / "events").glob("*.json"))
]


def github_signature(body: bytes, secret: str = SENDERS["github"].secret) -> str:
    return github.SIGNATURE.sign(body, secret)[github.SIGNATURE.header]


def standard_signature(
    msg_id: str, timestamp: int, body: bytes, secret: str = SENDERS["generic"].secret
) -> str:
    at = datetime.fromtimestamp(timestamp, UTC)
    return generic.SIGNATURE.sign(body, secret, msg_id, at)["webhook-signature"]


def test_the_signing_helpers_produce_signatures_the_receiver_accepts(
    receiver: TestClient, redis_client: redis.Redis
) -> None:
    """Everything below relies on these helpers; a helper that signed wrongly would make every "forged" case
    trivially refused and every "signed" case silently unsigned."""
    push = json.dumps(PUSH).encode()
    assert post(receiver, "/hooks/github", push, signed("github", push)).status_code == 202
    generic_body = json.dumps(GENERIC_EVENT).encode()
    assert post(receiver, "/hooks/generic", generic_body, signed("generic", generic_body)).status_code == 202
    distinct_commits = sum(commit["distinct"] is not False for commit in PUSH["commits"])
    # The push, each of its distinct commits, and the generic event.
    assert len(queued_events(redis_client)) == 1 + distinct_commits + 1
    # And the forgeries' own signatures, made with the right secret, are the senders'.
    assert signed("github", push)[-1] == (b"x-hub-signature-256", github_signature(push).encode())


# -- strategies: headers ------------------------------------------------------------------------------------------

ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
TRANSPORT_HEADERS = {"content-length", "transfer-encoding", "host", "connection", "expect"}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded",
    "",
]


WRONG_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"x" * 24).decode()


@dataclass(frozen=True)
class Forgery:
    """How a forged request fills its signature header; ``value`` builds it for the request's body (and, for
    Standard Webhooks, the id and timestamp it carries, so that only the signature itself is wrong)."""

    how: str
    text: str = ""

    def value(self, endpoint: str, body: bytes, msg_id: str | None, stamp: str | None) -> str | None:
        signed_id, signed_at = (
            msg_id or "msg_forged",
            int(stamp) if stamp and stamp.isdigit() else int(time.time()),
        )
        if self.how == "missing":
            return None
        if self.how == "text":
            return self.text
        if self.how == "huge":
            prefix = "sha256=" if endpoint == "github" else "v1,"
            return prefix + self.text * (64 * 1024 // max(1, len(self.text)))
        if self.how == "wrong secret":
            if endpoint == "github":
                return github_signature(body, WRONG_SECRET)
            return standard_signature(signed_id, signed_at, body, WRONG_WEBHOOK_SECRET)
        if self.how == "other body":  # the right secret, but for another body: a replayed signature
            other = body + b" "
            if endpoint == "github":
                return github_signature(other)
            return standard_signature(signed_id, signed_at, other)
        raise AssertionError(self.how)


def forgeries(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[Forgery]:
    free_text = st.text(alphabet=alphabet, max_size=120)
    return st.one_of(
        st.just(Forgery("missing")),
        st.just(Forgery("wrong secret")),
        st.just(Forgery("other body")),
        free_text.map(lambda t: Forgery("text", t)),
        free_text.map(lambda t: Forgery("text", "sha256=" + t)),
        free_text.map(lambda t: Forgery("text", "v1," + t)),
        st.binary(min_size=32, max_size=32).map(lambda b: Forgery("text", "sha256=" + b.hex())),
        st.binary(min_size=32, max_size=32).map(
            lambda b: Forgery("text", "v1," + base64.b64encode(b).decode())
        ),
        st.lists(st.sampled_from(["v1,", "v2,", "v1", ",", " ", "=", "a"]), max_size=8).map(
            lambda parts: Forgery("text", "".join(parts))
        ),
        st.text(alphabet=alphabet, min_size=1, max_size=4).map(lambda t: Forgery("huge", t)),
    )


def timestamps(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    now = int(time.time())
    return st.one_of(
        st.none(),
        st.sampled_from([str(now), str(now - 3600), str(now + 3600), "0", "-1", "1e400", "nan", "inf", ""]),
        st.integers().map(str),
        st.text(alphabet=alphabet, max_size=40),
    )


def extra_headers(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[Headers]:
    names = st.from_regex(r"[A-Za-z0-9-]{1,24}", fullmatch=True).filter(
        lambda n: n.lower() not in TRANSPORT_HEADERS
    )
    values = st.text(alphabet=alphabet, max_size=200) | st.integers(1, 4).map(lambda n: "x" * (n * 16 * 1024))
    return st.lists(st.tuples(names, values), max_size=4).map(
        lambda pairs: [(n.encode(), v.encode("latin-1")) for n, v in pairs]
    )


@st.composite
def forged_requests(
    draw: st.DrawFn, endpoint: str, alphabet: st.SearchStrategy[str]
) -> tuple[bytes, Headers, bool]:
    """A request that does not carry a valid signature: (body, headers, send without Content-Length)."""
    body = draw(hostile_bodies(valid_body(endpoint)) | st.just(valid_body(endpoint)))
    free_text = st.text(alphabet=alphabet, max_size=80)
    headers: Headers = []
    # Mostly JSON, so that most requests get past the content-type check to the signature check.
    content_type: str | None = "application/json"
    if draw(st.integers(0, 3)) == 0:  # a quarter of the time anything at all
        content_type = draw(st.sampled_from(CONTENT_TYPES) | free_text | st.none())
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    forgery = draw(forgeries(alphabet))
    if endpoint == "github":
        signature = forgery.value(endpoint, body, None, None)
        if signature is not None:
            headers.append((b"x-hub-signature-256", signature.encode("latin-1")))
        github_fields = {
            "x-github-event": st.sampled_from(["push", "ping", ""]) | free_text,
            "x-github-delivery": free_text,
        }
        for name, strategy in github_fields.items():
            chosen = draw(st.none() | strategy)
            if chosen is not None:
                headers.append((name.encode(), chosen.encode("latin-1")))
    else:
        # Mostly a well-formed id and a fresh timestamp, so that the signature itself is what gets checked.
        msg_id: str | None = f"msg_{draw(st.integers(0, 10**6))}"
        if draw(st.integers(0, 2)) == 0:
            msg_id = draw(st.none() | free_text | st.just("x" * 64 * 1024))
        stamp = str(int(time.time())) if draw(st.booleans()) else draw(timestamps(alphabet))
        generic_fields = {
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": forgery.value(endpoint, body, msg_id, stamp),
        }
        for name, given_value in generic_fields.items():
            if given_value is not None:
                headers.append((name.encode(), given_value.encode("latin-1")))
    headers += draw(extra_headers(alphabet))
    return body, headers, draw(st.booleans())


# -- unsigned: nothing gets in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alphabet_name", ["ascii", "latin-1"])
@pytest.mark.parametrize("endpoint", ["github", "generic"])
def test_a_request_without_a_valid_signature_is_refused_and_changes_nothing(
    receiver: TestClient, redis_client: redis.Redis, endpoint: str, alphabet_name: str
) -> None:
    """Any body, with a missing, garbled, huge, wrongly keyed or replayed signature, any other headers (header
    values in ASCII, or in all of latin-1 as HTTP allows): refused with 401, 413 or 415 and a reason, never a
    5xx, and Redis is left untouched (nothing queued, journalled or marked as seen)."""
    alphabet = ASCII if alphabet_name == "ascii" else LATIN1

    @fuzz(150)
    @given(request=forged_requests(endpoint, alphabet))
    def check(request: tuple[bytes, Headers, bool]) -> None:
        body, headers, chunked = request
        response = post(receiver, f"/hooks/{endpoint}", body, headers, chunked=chunked)
        event(f"answered {response.status_code}")  # --hypothesis-show-statistics: is every refusal reached?
        assert_documented(response, UNSIGNED_STATUSES)
        assert untouched(redis_client), "a refused request wrote to Redis"

    if alphabet_name == "latin-1":  # bytes over 0x7f in the signature header: always tried, whatever is drawn
        signature = (
            ("x-hub-signature-256", "sha256=é") if endpoint == "github" else ("webhook-signature", "v1,é")
        )
        headers = [
            (b"content-type", b"application/json"),
            (signature[0].encode(), signature[1].encode("latin-1")),
        ]
        check = example(request=(valid_body(endpoint), headers, False))(check)
    check()


@pytest.mark.parametrize("endpoint", ["github", "generic"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
def test_an_oversized_body_is_413_whether_or_not_it_is_signed(
    receiver: TestClient, redis_client: redis.Redis, endpoint: str, chunked: bool
) -> None:
    body = b'{"padding": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for headers in (signed(endpoint, body), [(b"content-type", b"application/json")]):
        response = post(receiver, f"/hooks/{endpoint}", body, headers, chunked=chunked)
        assert response.status_code == 413 and "TOGGLBRIDGE_MAX_BODY_BYTES" in response.json()["error"]
    assert untouched(redis_client)


# -- validly signed, but hostile bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["github", "generic"])
def test_a_signed_body_that_is_not_a_delivery_is_refused_with_a_reason(
    receiver: TestClient, redis_client: redis.Redis, endpoint: str
) -> None:
    """Random bytes, non-objects, truncations, other encodings, invalid UTF-8, 10^5 levels of nesting and
    oversized bodies, each with a valid signature: refused, never a 5xx, nothing queued or marked as seen."""
    # The generic source's library decodes the body as UTF-8 before checking the signature, so a non-UTF-8
    # body is a 401 there rather than a 400; either refuses it.
    allowed = {400, 413} if endpoint == "github" else {400, 401, 413}

    @fuzz(150)
    @given(body=hostile_bodies(valid_body(endpoint)), chunked=st.booleans())
    @example(body=nested(DEEPEST), chunked=False)
    @example(body=valid_body(endpoint).decode().encode("utf-16"), chunked=False)
    def check(body: bytes, chunked: bool) -> None:
        response = post(receiver, f"/hooks/{endpoint}", body, signed(endpoint, body), chunked=chunked)
        event(f"answered {response.status_code}")
        assert_documented(response, allowed)
        assert untouched(redis_client)

    check()


def test_deep_nesting_is_refused_as_such(receiver: TestClient) -> None:
    body = (
        b'{"kind": "a.b", "actor": "x", "occurred_at": "2026-11-02T10:00:00Z", "data": {"d": '
        + nested(DEEPEST)
        + b"}}"
    )
    for endpoint in ("github", "generic"):
        response = post(receiver, f"/hooks/{endpoint}", body, signed(endpoint, body))
        assert response.status_code == 400 and response.json()["error"] == "body is nested too deeply"


@pytest.mark.parametrize("endpoint", ["github", "generic"])
def test_a_signed_body_with_a_5000_digit_number_is_a_400(receiver: TestClient, endpoint: str) -> None:
    body = (
        b'{"kind": "a.b", "actor": "x", "occurred_at": "2026-11-02T10:00:00Z", "data": {"n": '
        + b"9" * 5000
        + b"}}"
    )
    assert post(receiver, f"/hooks/{endpoint}", body, signed(endpoint, body)).status_code == 400


# -- schemathesis: the whole OpenAPI surface --------------------------------------------------------------------

CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(redis_url: str) -> Iterator[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", hostile_receiver(redis_url))
    yield schema
    # from_asgi started the app's lifespan (its Redis clients) and keeps it for the process: end it here.
    schemathesis_asgi.shutdown_lifespans()


def test_no_operation_of_the_openapi_document_answers_a_5xx_or_off_its_documentation(
    api_schema: Any, receiver: TestClient
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"POST /hooks/{source}", "GET /api/journal", "GET /api/status", "GET /healthz"} <= labels
    # Something in the journal and the queues, so /api/journal and /api/status serialize real records.
    push = json.dumps(PUSH).encode()
    assert post(receiver, "/hooks/github", push, signed("github", push)).status_code == 202
    failures: dict[str, str] = {}
    for operation in operations:
        strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
        if operation.query:  # a free-text path parameter has no invalid values, so negate queries only
            strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        for strategy in strategies:

            @fuzz(60)
            @given(case=strategy)
            def check(case: Any) -> None:
                case.validate_response(case.call(), checks=CONFORMANCE_CHECKS)

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports a FailureGroup
                failures.setdefault(operation.label, f"{type(exc).__name__}: {exc}"[:2000])
    # Generated source names are (almost) all unknown, so 404: ask for the real ones too. The operation documents
    # no body (the hooks read raw bytes), so these carry none; the hypothesis tests above send the bodies.
    hooks = api_schema["/hooks/{source}"]["POST"]
    for name in SOURCES:
        for headers in ({}, {"Content-Type": "application/json"}, {"Content-Type": "text/plain"}):
            case = hooks.Case(path_parameters={"source": name}, headers=headers)
            try:
                case.validate_response(case.call(), checks=CONFORMANCE_CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports a FailureGroup
                failures.setdefault(f"POST /hooks/{name} {headers}", f"{type(exc).__name__}: {exc}"[:2000])
    assert not failures, "\n\n".join(f"{label}:\n{reason}" for label, reason in failures.items())


# -- event data: the planner, dispatch and the executor -----------------------------------------------------------

HANDLES = ["alice@acme.io", "bob@acme.io", "U024BE7LH", "alice-gh", "alice-work", "x[bot]@acme.io", "bob"]
SOURCES_SEEN = ["github", "gitlab", "slack", "mattermost", "discord", "ics", "generic", "cli"]
DATA_KEYS = [
    "title", "my_status", "all_day", "calendar", "repo", "branch", "message", "verb", "description", "project",
    "tags", "billable", "text", "channel_name", "author", "sha", "start", "end", "duration_seconds",
]  # fmt: skip


any_time = st.datetimes(timezones=st.just(UTC))
event_ids = st.text(min_size=1, max_size=40)


@st.composite
def mutated_examples(draw: st.DrawFn) -> Event:
    """One of the example events (which match the example rules), with some of its fields swapped for odd values:
    these reach the rules' conditions, templates and actions, where random events rarely get."""
    base = copy.deepcopy(draw(st.sampled_from(EXAMPLE_EVENTS)))
    data = base["data"]
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=3, unique=True)):
        data[key] = draw(json_values | odd_values)
    if draw(st.booleans()):
        base["occurred_at"] = draw(any_time)
    if draw(st.booleans()):
        base["subject"] = draw(st.none() | st.text(max_size=20))
    if draw(st.booleans()):
        base["actor"] = draw(st.sampled_from(HANDLES) | st.text(max_size=20))
    base["id"] = draw(event_ids)
    return Event.model_validate(base)


random_events = st.builds(
    Event,
    id=event_ids,
    source=st.sampled_from(SOURCES_SEEN) | st.text(min_size=1, max_size=10),
    kind=st.sampled_from(known_kinds()) | st.from_regex(r"[a-z]{1,6}\.[a-z]{1,6}", fullmatch=True),
    occurred_at=any_time,
    actor=st.sampled_from(HANDLES) | st.text(max_size=20),
    data=st.dictionaries(
        st.sampled_from(DATA_KEYS) | st.text(max_size=8), json_values | odd_values, max_size=8
    ),
    subject=st.none() | st.text(max_size=20),
)
any_events = mutated_examples() | random_events


def test_dispatch_plans_any_event_data_without_raising(
    redis_client: redis.Redis, example_config: Config
) -> None:
    @fuzz(300)
    @given(events=st.lists(any_events, min_size=1, max_size=5))
    def check(events: list[Event]) -> None:
        redis_client.flushdb()
        check_dispatch(redis_client, example_config, events)

    check()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"description": "Write report \ud83d"}, id="chat description"),
        pytest.param({"text": "start \udc00 @Acme", "verb": None}, id="chat text"),
    ],
)
def test_a_lone_surrogate_in_event_text_is_refused_or_planned(
    receiver: TestClient, redis_client: redis.Redis, example_config: Config, change: dict[str, Any]
) -> None:
    """JSON can carry a lone surrogate (``\\ud83d``, escaped). The receiver may refuse it (400), or accept it
    and a worker must then plan it; a 202 followed by a crash loses the whole delivery. (Found by this suite:
    dispatch used to raise PydanticSerializationError on the action's description.)"""
    chat = next(e for e in EXAMPLE_EVENTS if e["kind"] == "chat.command")
    payload = {
        "kind": "chat.command",
        "actor": "alice@acme.io",
        "occurred_at": chat["occurred_at"],
        "data": chat["data"] | change,
    }
    body = json.dumps(payload).encode()  # ensure_ascii: the surrogate travels as an escape, as JSON allows
    response = post(receiver, "/hooks/generic", body, signed("generic", body))
    assert_documented(response, {202, 400})
    if response.status_code == 202:
        check_dispatch(
            redis_client, example_config, [Event.model_validate(e) for e in queued_events(redis_client)]
        )


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator()
    with serve_in_thread(sim, host="127.0.0.1", port=0) as url:
        yield sim, url


@pytest.fixture
def toggl(simulator: tuple[Simulator, str]) -> Iterator[tuple[Simulator, str]]:
    """The module's simulator, its failure knobs back to "well-behaved" after each test."""
    yield simulator
    simulator[0].knobs.error_rate = 0.0


def simulated_access(config: Config, sim_url: str) -> SettingsAccess:
    """Each identity of ``config`` as its own simulated Toggl account."""
    simulator_mode = Settings(_env_file=None, gateway_key=None, toggl_api_token=None)
    return SettingsAccess(simulator_mode, accounts_from_config(config), simulator_url=sim_url)


def settle(client: redis.Redis, executor: Executor, identity: str, sim: Simulator) -> None:
    """Drain as workers would, again and again, until nothing waits: a parked identity is unparked at once (as if
    its wait had passed), and injected Toggl failures stop after a while, as outages do. Must not raise."""
    for attempt in range(40):
        if attempt == 20:
            sim.knobs.error_rate = 0.0
        report = executor.drain(identity)
        if report.status == "empty":
            return
        assert report.status == "parked", report
        client.zadd(keys.PARKED, {identity: 0})
    raise AssertionError(f"{identity}'s actions did not settle in 40 drains")


def assert_accounted_for(client: redis.Redis, identity: str, action_keys: list[str]) -> None:
    """Nothing waits any more, and each planned action took effect (the ledger has it) or is a dead letter."""
    assert Outbox(client).depth(identity) == 0
    dead_keys = {letter["key"] for letter in DeadLetters(client).all()}
    ledger = Ledger(client)
    for key in action_keys:
        assert ledger.done(key) is not None or key in dead_keys, f"{key!r} vanished"


def test_the_executor_applies_whatever_the_planner_made_without_raising(
    redis_client: redis.Redis, example_config: Config, toggl: tuple[Simulator, str]
) -> None:
    """The example rule file, odd event data, a well-behaved Toggl: every action takes effect or becomes a dead
    letter, and the drain never raises."""
    _, sim_url = toggl
    access = simulated_access(example_config, sim_url)
    planned_total = 0
    try:

        @fuzz(40)
        @given(events=st.lists(mutated_examples(), min_size=1, max_size=4))
        def check(events: list[Event]) -> None:
            nonlocal planned_total
            redis_client.flushdb()
            identities = check_dispatch(redis_client, example_config, events)
            planned = {identity: waiting_actions(redis_client, identity) for identity in identities}
            planned_total += sum(map(len, planned.values()))
            executor = Executor(redis_client, access, Journal(redis_client, cap=10_000), rng=random.Random(0))
            for identity, action_keys in planned.items():
                report = executor.drain(identity)
                assert report.status == "empty", report
                assert_accounted_for(redis_client, identity, action_keys)

        check()
    finally:
        access.close()
    assert planned_total > 0, "no example produced an action: the executor was not exercised"


# Every action type, every field fed from event data (tests/fixtures/hostile/every_action.yaml).
EVERY_ACTION_KINDS = [
    "fuzz.start", "fuzz.start_at", "fuzz.stop", "fuzz.stop_mine", "fuzz.stop_same", "fuzz.log", "fuzz.log_span",
    "fuzz.commit", "fuzz.tag", "fuzz.update",
]  # fmt: skip
EDGES_OF_TIME = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 5, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
]
plausible_times = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
event_times = st.sampled_from(EDGES_OF_TIME) | any_time | plausible_times
time_texts = event_times.map(datetime.isoformat) | st.sampled_from(
    ["", "soon", "2026-11-02T10:00:00", "0000-00-00"]
)
ACTION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "description": st.text(max_size=60) | json_values,
    "project": st.text(max_size=20) | int64 | json_values,
    "tag": st.text(max_size=20) | json_values,
    "start": time_texts | json_values,
    "stop": time_texts | json_values,
    "end": time_texts | json_values,
    "duration": int64 | st.sampled_from(["30m", "1h30m", "0", "-5", str(10**19)]) | json_values,
}


@st.composite
def action_fields(draw: st.DrawFn) -> dict[str, Any]:
    """The fields the rule file's templates read, each usually there (a missing one is a plan error, not an
    action, so mostly present keeps the executor busy)."""
    present = st.sampled_from([True] * 5 + [False])
    return {name: draw(values) for name, values in ACTION_FIELDS.items() if draw(present)}


every_action_events = st.builds(
    Event,
    id=st.uuids().map(str),
    source=st.just("generic"),
    kind=st.sampled_from(EVERY_ACTION_KINDS),
    occurred_at=event_times,
    actor=st.just("mallory@acme.io"),
    data=action_fields(),
    subject=st.sampled_from([None, "meeting-1", "meeting-2"]),
)


@pytest.fixture(scope="module")
def every_action_config() -> Config:
    return load_config(FIXTURES / "hostile" / "every_action.yaml")


def fuzz_event(kind: str, at: datetime, **data: Any) -> Event:
    return Event(
        id=f"{kind}:{uuid.uuid4().hex}", source="generic", kind=kind, occurred_at=at, actor="m", data=data
    )


def test_every_kind_of_action_with_any_data_and_failing_toggl_settles_without_raising(
    redis_client: redis.Redis, every_action_config: Config, toggl: tuple[Simulator, str]
) -> None:
    """Any data in every field of every action type, 5xx from Toggl on a third of the requests for a while:
    the drains never raise, and in the end every action took effect or is a dead letter."""
    sim, sim_url = toggl
    access = simulated_access(every_action_config, sim_url)
    try:

        @fuzz(40)
        @given(
            events=st.lists(every_action_events, min_size=1, max_size=6),
            error_rate=st.sampled_from([0.0, 0.3]),
            seed=st.integers(0, 2**16),
        )
        @example(
            events=[fuzz_event("fuzz.commit", datetime(1, 1, 1, 0, 5, tzinfo=UTC), description="early")],
            error_rate=0.0,
            seed=0,
        )
        def check(events: list[Event], error_rate: float, seed: int) -> None:
            redis_client.flushdb()
            sim.knobs.error_rate, sim.knobs.seed = error_rate, seed
            check_dispatch(redis_client, every_action_config, events)
            planned = waiting_actions(redis_client, "mallory")
            event(f"{min(len(planned), 3)}+ actions planned")  # --hypothesis-show-statistics
            executor = Executor(
                redis_client, access, Journal(redis_client, cap=10_000), rng=random.Random(seed)
            )
            settle(redis_client, executor, "mallory", sim)
            assert_accounted_for(redis_client, "mallory", planned)

        check()
    finally:
        access.close()


def refused_or_settled(
    client: redis.Redis,
    config: Config,
    toggl: tuple[Simulator, str],
    events: list[Event],
    before_drain: Callable[[list[str]], object] = lambda planned: None,
) -> None:
    """Either the planner refuses the events' actions with a reason (an error in the plan, the event journalled),
    or the executor applies them or dead-letters them; in no case does anything raise. ``before_drain`` gets the
    planned actions' keys, to set the scene for the executor."""
    sim, sim_url = toggl
    check_dispatch(client, config, events)
    planned = waiting_actions(client, "mallory")
    if not planned:
        journal = Journal(client, cap=100)
        for sent in events:
            plans = [r for r in journal.event(sent.id) if r["stage"] == "planned"]
            assert plans and plans[-1]["errors"], f"{sent.id}: no action and no reason why"
        return
    before_drain(planned)
    access = simulated_access(config, sim_url)
    try:
        executor = Executor(client, access, Journal(client, cap=100), rng=random.Random(0))
        settle(client, executor, "mallory", sim)
    finally:
        access.close()
    assert_accounted_for(client, "mallory", planned)


def test_a_log_ending_at_the_beginning_of_time_does_not_crash_the_drain(
    redis_client: redis.Redis, every_action_config: Config, toggl: tuple[Simulator, str]
) -> None:
    commit = fuzz_event("fuzz.commit", datetime(1, 1, 1, 0, 5, tzinfo=UTC), description="early")
    refused_or_settled(redis_client, every_action_config, toggl, [commit])


# Regression (found by this suite): a LogAction of 10**19 s planned fine and crashed every drain.
def test_a_log_of_an_enormous_duration_does_not_crash_the_drain(
    redis_client: redis.Redis, every_action_config: Config, toggl: tuple[Simulator, str]
) -> None:
    log = fuzz_event(
        "fuzz.log", datetime(2026, 11, 2, 10, tzinfo=UTC), description="forever", duration=10**19, project=""
    )
    refused_or_settled(redis_client, every_action_config, toggl, [log])


# Regression (found by this suite): the reconcile window overflowed at the edges of time, crashing every drain.
@pytest.mark.parametrize(
    "at",
    [datetime(1, 1, 1, 0, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)],
    ids=["year 1", "year 9999"],
)
def test_reconciling_an_unanswered_create_at_the_edge_of_time_does_not_crash_the_drain(
    redis_client: redis.Redis, every_action_config: Config, toggl: tuple[Simulator, str], at: datetime
) -> None:
    start = fuzz_event("fuzz.start", at, description="edge", project="", tag="x")

    def unanswered_create(planned: list[str]) -> None:  # as if a first attempt's create had no answer
        for key in planned:
            Ledger(redis_client).mark_intent(key, {"start": at.isoformat(), "description": "edge"})

    refused_or_settled(redis_client, every_action_config, toggl, [start], before_drain=unanswered_create)
