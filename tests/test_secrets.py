"""Secrets: run the bridge with known, distinctive secrets, then look for them everywhere the
bridge writes or answers. None may appear.

The secrets: the gateway key, the GitHub webhook secret, the Standard Webhooks secret (and the key it encodes), and
a Toggl API token that an identity names with ``token_env``. Where they are looked for:

- every Redis key and value of every type (strings, lists, hashes, sets, sorted sets, streams), including Celery
  messages waiting in the queues or unacknowledged, with every base64 run inside them decoded (recursively);
- the logs: this process's records at DEBUG (caplog), its stdout and stderr (capfd: uvicorn, rich, the CLI),
  and the worker process's own output;
- every HTTP answer of the bridge (status line aside: body and every header), accepted or refused;
- the output of the CLI commands an operator runs (``doctor``, ``status``, ``retry-dead``).

Each secret is searched as itself, in base64 (standard and URL-safe) and in hex; each also contains a marker word,
so a truncated or re-cased copy is found too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner
from fastapi.testclient import TestClient

from togglbridge.api.factory import build_receiver
from togglbridge.cli import main as cli
from togglbridge.config import load_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.executor import Executor
from togglbridge.queues import TASK_PLAN
from togglbridge.runtime import accounts_from_config
from togglbridge.serving import serve_in_thread
from togglbridge.settings import Settings
from togglbridge.sources import generic, github, github_payloads
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.store import text
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.journal import Journal
from togglbridge.toggl.access import SettingsAccess
from togglbridge.toggl.sim import Simulator
from togglbridge.toggl.sim import serve_in_thread as serve_simulator
from workers.app import QUEUE_INGEST, QUEUE_TOGGL
from workers.tasks import kick

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent

# Each secret carries this marker, so that a partial copy (truncated, re-cased) is caught as well. Nothing else
# in the scenario (names, ids, messages) contains it.
MARKER = "Kq7Canary"
GATEWAY_KEY = f"gwkey-{MARKER}-5e1f0c2a9b7d4e31"
GITHUB_SECRET = f"ghsecret-{MARKER}-7c3d9e1f20ab"
WEBHOOK_KEY = f"stdwh-{MARKER}-0123456789abcdef".encode()  # the key; the setting holds it base64-encoded
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
SOURCE_SECRETS = SourceSecrets.of(github=GITHUB_SECRET, generic=WEBHOOK_SECRET)
TOGGL_TOKEN = f"toggltoken-{MARKER}-0f9e8d7c6b5a"
DASHBOARD_TOKEN = f"dashtoken-{MARKER}-3b9a70c1e2d4"
OPERATOR_HEADERS = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
TOKEN_ENV = "TB_SECRETS_TEST_DANA_TOKEN"  # the identity's token_env: a name, not a secret
GATEWAY_CONNECTION = "conn-carol"

SECRETS: dict[str, bytes] = {
    "gateway key": GATEWAY_KEY.encode(),
    "GitHub secret": GITHUB_SECRET.encode(),
    "Standard Webhooks secret": WEBHOOK_SECRET.encode(),
    "Standard Webhooks key": WEBHOOK_KEY,
    "Toggl token": TOGGL_TOKEN.encode(),
    "Toggl basic auth": f"{TOGGL_TOKEN}:api_token".encode(),
    "dashboard token": DASHBOARD_TOKEN.encode(),
}


def secret_forms() -> dict[bytes, str]:
    """Every byte string that betrays a secret, with what it is."""
    forms: dict[bytes, str] = {MARKER.lower().encode(): "the secrets' marker word (any case)"}
    for name, secret in SECRETS.items():
        forms[secret] = name
        forms[base64.b64encode(secret).rstrip(b"=")] = f"{name} in base64"
        forms[base64.urlsafe_b64encode(secret).rstrip(b"=")] = f"{name} in URL-safe base64"
        forms[secret.hex().encode()] = f"{name} in hex"
    return forms


FORMS = secret_forms()
BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")


def readings(blob: bytes, depth: int = 0) -> Iterator[bytes]:
    """The blob, and what every base64 run inside it decodes to, recursively: a Celery message is JSON whose body
    is base64 of JSON, and a secret could hide one level further down."""
    yield blob
    if depth >= 3:
        return
    for run in BASE64_RUN.findall(blob):
        padded = run.rstrip(b"=") + b"=" * (-len(run.rstrip(b"=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(padded)
            except (binascii.Error, ValueError):
                continue
            yield from readings(decoded, depth + 1)


def leaks(blob: bytes) -> list[str]:
    """What secrets (in what form) the blob gives away."""
    found = []
    for reading in readings(blob):
        lowered = reading.lower()
        for form, what in FORMS.items():
            haystack = lowered if form == MARKER.lower().encode() else reading
            if form in haystack:
                found.append(what)
    return sorted(set(found))


@dataclass
class Evidence:
    """Everything the bridge wrote or answered, by where it was found."""

    blobs: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, where: str, blob: bytes | str) -> None:
        self.blobs.append((where, blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob))

    def add_response(self, where: str, response: httpx.Response) -> None:
        self.add(f"{where}: body", response.content)
        for name, value in response.headers.raw:
            self.add(f"{where}: header {name.decode('latin-1')}", name + b": " + value)

    def assert_no_secret(self) -> None:
        found = {where: what for where, blob in self.blobs if (what := leaks(blob))}
        assert not found, "secrets leaked:\n" + "\n".join(
            f"  {where}: {what}" for where, what in found.items()
        )


# -- Redis, every key of every type ------------------------------------------------------------------------------


@dataclass
class RedisDump:
    blobs: list[tuple[str, bytes]]
    types: set[str]


def dump_redis(client: redis.Redis) -> RedisDump:
    """Every key and every value stored under it, whatever its type."""
    untyped: Any = client  # redis-py's reply types are unions of everything a reply can be
    blobs: list[tuple[str, bytes]] = []
    types: set[str] = set()
    for raw_key in client.scan_iter(count=1000):
        key = bytes(raw_key)
        kind = text(client.type(key))
        types.add(kind)
        where = f"redis {kind} {key.decode('latin-1')}"
        blobs.append((f"{where} (its name)", key))
        values: Iterable[Any]
        if kind == "string":
            values = [client.get(key)]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [part for pair in client.hgetall(key).items() for part in pair]
        elif kind == "set":
            values = client.smembers(key)
        elif kind == "zset":
            values = [member for member, _ in untyped.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            values = [
                part
                for _, entry in untyped.xrange(key)
                for pair in entry.items()
                for part in pair  # field names and values
            ]
        else:
            raise AssertionError(f"{where}: a Redis type this test does not read; teach it")
        blobs += [
            (where, bytes(v) if isinstance(v, bytes) else str(v).encode()) for v in values if v is not None
        ]
    return RedisDump(blobs, types)


def celery_bodies(client: redis.Redis, queue: str) -> list[Any]:
    """The decoded bodies of the Celery messages waiting on ``queue``."""
    return [json.loads(base64.b64decode(json.loads(raw)["body"])) for raw in client.lrange(queue, 0, -1)]


def test_the_search_finds_a_secret_wherever_it_hides(redis_client: redis.Redis) -> None:
    """The search below must be able to fail: a secret planted in each form, in each Redis type and inside a
    Celery-like envelope (base64 in JSON in base64), is reported."""
    inner = base64.b64encode(json.dumps({"args": [f"Bearer {GATEWAY_KEY}"]}).encode()).decode()
    planted = {
        "plain": GITHUB_SECRET.encode(),
        "basic auth header": b"Authorization: Basic " + base64.b64encode(f"{TOGGL_TOKEN}:api_token".encode()),
        "hex": WEBHOOK_KEY.hex().encode(),
        "celery envelope": json.dumps(
            {"body": base64.b64encode(json.dumps({"x": inner}).encode()).decode()}
        ).encode(),
        "truncated and upper-cased": GATEWAY_KEY[:16].upper().encode(),
    }
    for name, blob in planted.items():
        assert leaks(b"prefix " + blob + b" suffix"), f"{name} was not found"
    assert not leaks(b"togglbridge:journal:e:git:acme/webapp:" + b"0" * 40)
    redis_client.set("s", planted["plain"])
    redis_client.rpush("l", b"x", planted["celery envelope"])
    redis_client.hset("h", "f", planted["hex"])
    redis_client.sadd("set", planted["basic auth header"])
    redis_client.zadd("z", {planted["truncated and upper-cased"]: 1})
    redis_client.xadd("st", {"k": planted["plain"]})
    dump = dump_redis(redis_client)
    leaking = {where for where, blob in dump.blobs if leaks(blob)}
    assert leaking == {
        f"redis {t} {k}"
        for t, k in [
            ("string", "s"),
            ("list", "l"),
            ("hash", "h"),
            ("set", "set"),
            ("zset", "z"),
            ("stream", "st"),
        ]
    }


# -- the scenario ----------------------------------------------------------------------------------------------

RULES = f"""
defaults:
  created_with: togglbridge-secrets-test
identities:
  carol:
    toggl: {{connection: {GATEWAY_CONNECTION}}}
    emails: [carol@acme.io]
  dana:
    toggl: {{token_env: {TOKEN_ENV}}}
    emails: [dana@acme.io]
rules:
  - name: broken repo
    on: git.commit
    if: {{repo.full_name: acme/broken}}
    stop: true
    do:
      - log: {{description: "{{{{ message | first_line }}}}", duration: 10m, project: 999999}}
  - name: commits
    on: git.commit
    do:
      - log: {{description: "{{{{ repo.name }}}}: {{{{ message | first_line }}}}", duration: 10m, tags: [code]}}
  - name: builds
    on: build.finished
    do:
      - log: {{description: "build {{{{ pipeline }}}}", duration: 5m}}
"""


def push_body(person: str, commits: int, *, repo: str = "acme/webapp", minute: int = 0) -> bytes:
    """A push of ``commits`` commits a minute apart from ``minute`` past 10:00, numbered from ``minute``."""
    listed = github_payloads.spaced_commits(
        commits,
        start=datetime(2026, 11, 2, 10, minute, tzinfo=UTC),
        salt=(person, repo, minute),
        message="Commit {n}\n\nbody",
        first=minute,
    )
    return github_payloads.push_body(person, listed, repo=repo)


def github_headers(body: bytes, secret: str = GITHUB_SECRET, delivery: str | None = None) -> dict[str, str]:
    return github_payloads.delivery_headers(body, secret, delivery=delivery)


def generic_headers(body: bytes, key: bytes = WEBHOOK_KEY, at: int | None = None) -> dict[str, str]:
    secret = "whsec_" + base64.b64encode(key).decode()
    stamp = datetime.fromtimestamp(at or time.time(), UTC)
    signed = generic.SIGNATURE.sign(body, secret, f"msg_{uuid.uuid4().hex}", stamp)
    return {"Content-Type": "application/json", **signed}


BUILD = json.dumps(
    {
        "kind": "build.finished",
        "actor": "dana@acme.io",
        "occurred_at": "2026-11-02T11:00:00Z",
        "data": {"pipeline": "api"},
    }
).encode()


def expected_signatures(body: bytes, headers: dict[str, str]) -> list[str]:
    """The signatures the bridge computes for a delivery. A refusal that echoed one would let the sender forge
    exactly that delivery, so no answer may contain them."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get("webhook-timestamp", "")
    at = datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else datetime.now(UTC)
    standard = generic.SIGNATURE.sign(body, WEBHOOK_SECRET, str(lowered.get("webhook-id")), at)
    return [
        github.SIGNATURE.sign(body, GITHUB_SECRET)["X-Hub-Signature-256"].removeprefix("sha256="),
        standard["webhook-signature"].removeprefix("v1,"),
    ]


def refused_requests() -> list[tuple[str, bytes, dict[str, str], int]]:
    """Deliveries the bridge must refuse: (path, body, headers, expected status)."""
    push = push_body("carol", 1, minute=50)
    return [
        ("/hooks/github", push, github_headers(push, secret="not-the-secret"), 401),
        ("/hooks/github", push, github_headers(push + b" "), 401),  # the right secret, for another body
        ("/hooks/github", push, github_headers(push) | {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
        ("/hooks/github", push, {"Content-Type": "application/json", "X-GitHub-Event": "push"}, 401),
        ("/hooks/github", push, github_headers(push) | {"Content-Type": "text/plain"}, 415),
        ("/hooks/generic", BUILD, generic_headers(BUILD, key=b"another key entirely"), 401),
        ("/hooks/generic", BUILD, generic_headers(BUILD, at=int(time.time()) - 3600), 401),
        ("/hooks/generic", BUILD, {"Content-Type": "application/json"}, 401),
        ("/hooks/generic", b"{}", generic_headers(b"{}"), 400),
        ("/hooks/gitlab", push, github_headers(push), 404),
    ]


def assert_refused_without_a_hint(
    response: httpx.Response, body: bytes, headers: dict[str, str], status: int
) -> None:
    assert response.status_code == status, response.text
    for signature in expected_signatures(body, headers):
        assert signature not in response.text, "a refusal gave away the signature it expected"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until ``predicate`` is truthy; a generous timeout only bounds a hang, it asserts nothing about speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def entries_of(sim: Simulator, **credential: str) -> int:
    """How many live entries the simulated account of a credential holds (proves that credential was used)."""
    user = sim.user_for(**credential)
    with sim.lock:
        return sum(1 for e in sim.state.entries.values() if e.user_id == user.id and not e.deleted)


def journal_stages(client: redis.Redis, event_id: str) -> list[str]:
    return [r["stage"] for r in Journal(client, cap=10_000).event(event_id)]


@pytest.fixture
def simulator() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator()
    with serve_simulator(sim, host="127.0.0.1", port=0) as url:
        yield sim, url


def bridge_environment(redis_url: str, sim_url: str, config_file: Path, data_dir: Path) -> dict[str, str]:
    """The environment of a deployment with every secret set, Toggl being the simulator behind the gateway's and
    Toggl's own addresses."""
    return {
        "TOGGLBRIDGE_REDIS_URL": redis_url,
        "TOGGLBRIDGE_GATEWAY_KEY": GATEWAY_KEY,
        "TOGGLBRIDGE_GATEWAY_URL": f"{sim_url}/toggl-track",
        "TOGGLBRIDGE_TOGGL_API_URL": sim_url,
        "TOGGLBRIDGE_GITHUB_SECRET": GITHUB_SECRET,
        "TOGGLBRIDGE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        TOKEN_ENV: TOGGL_TOKEN,
        "TOGGLBRIDGE_CONFIG_FILE": str(config_file),
        "TOGGLBRIDGE_DATA_DIR": str(data_dir),
        "TOGGLBRIDGE_LOG_LEVEL": "DEBUG",
        "TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS": "4",
        "TOGGLBRIDGE_DRAIN_LOCK_SECONDS": "8",
    }


def test_no_secret_leaks_from_a_deployment_with_a_worker_process(
    redis_url: str,
    redis_client: redis.Redis,
    simulator: tuple[Simulator, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Gateway mode against the simulator: carol's actions go through the gateway with the key, dana's straight
    to "Toggl" with her token. Signed deliveries are accepted and applied, forged ones refused, one action is a
    dead letter (Toggl's 400), one is retried after injected 5xx, the dead letter is re-driven, and an operator
    runs doctor and status; then every trace is searched."""
    caplog.set_level(logging.DEBUG)
    sim, sim_url = simulator
    config_file = tmp_path / "togglbridge.yaml"
    config_file.write_text(RULES)
    env = bridge_environment(redis_url, sim_url, config_file, tmp_path / "data")
    evidence = Evidence()

    worker_output = tmp_path / "worker.log"
    worker_env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")} | env
    with worker_output.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "togglbridge.cli", "worker", "--concurrency", "1"],
            env=worker_env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        settings = Settings(
            _env_file=None,
            redis_url=redis_url,
            gateway_key=GATEWAY_KEY,
            gateway_url=f"{sim_url}/toggl-track",
            log_level="DEBUG",
            dashboard_token=DASHBOARD_TOKEN,
        )
        receiver = build_receiver(settings, redis_url, SOURCE_SECRETS)
        with (
            serve_in_thread(receiver, lifespan="on", name="receiver", log_level="debug") as url,
            httpx.Client(base_url=url, timeout=10, headers=OPERATOR_HEADERS) as http,
        ):

            def send(path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
                response = http.post(path, content=body, headers=headers)
                evidence.add_response(f"POST {path} -> {response.status_code}", response)
                return response

            # Accepted and applied: carol through the gateway, dana directly with her token.
            carol_push, dana_push = push_body("carol", 2), push_body("dana", 2)
            carol_headers = github_headers(carol_push, delivery="d-carol")
            assert send("/hooks/github", carol_push, carol_headers).status_code == 202
            assert send("/hooks/github", dana_push, github_headers(dana_push)).status_code == 202
            assert send("/hooks/generic", BUILD, generic_headers(BUILD)).status_code == 202
            again = send("/hooks/github", carol_push, carol_headers)  # a redelivery
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
            for path, body, headers, status in refused_requests():
                assert_refused_without_a_hint(send(path, body, headers), body, headers, status)

            # A dead letter: Toggl refuses a project that does not exist.
            broken = push_body("carol", 1, repo="acme/broken", minute=30)
            assert send("/hooks/github", broken, github_headers(broken)).status_code == 202
            dead = DeadLetters(redis_client)
            wait_for(lambda: dead.count() == 1, "the dead letter")
            broken_event = dead.all()[0]["event_id"]
            wait_for(
                lambda: entries_of(sim, api_key=GATEWAY_KEY, connection=GATEWAY_CONNECTION) == 2,
                "carol's entries",
            )
            wait_for(lambda: entries_of(sim, token=TOGGL_TOKEN) == 3, "dana's entries (2 commits, 1 build)")

            # A retry: Toggl fails with 5xx until the failure has been journalled, then recovers.
            sim.knobs.error_rate = 1.0
            try:
                flaky = push_body("dana", 1, minute=40)
                response = send("/hooks/github", flaky, github_headers(flaky))
                (flaky_commit,) = [e for e in response.json()["events"] if e.startswith("git:")]
                wait_for(lambda: "retry" in journal_stages(redis_client, flaky_commit), "a retry after a 5xx")
            finally:
                sim.knobs.error_rate = 0.0
            wait_for(lambda: "applied" in journal_stages(redis_client, flaky_commit), "the retried action")

            # The operator re-drives the dead letter (Toggl refuses it again) and looks at the bridge.
            runner = CliRunner()
            for command in (
                ["retry-dead"], ["status"], ["status", "--json"], ["doctor"], ["journal", "-n", "50"],
                ["journal", "--json", "-n", "50"],
            ):  # fmt: skip
                result = runner.invoke(cli, command, env=env)
                evidence.add(f"togglbridge {' '.join(command)} (exit {result.exit_code})", result.output)
                assert result.exception is None or isinstance(result.exception, SystemExit), result.output
                if command == ["retry-dead"]:
                    assert result.exit_code == 0 and "1 dead letter" in result.output
                    wait_for(
                        lambda: journal_stages(redis_client, broken_event).count("dead") == 2,
                        "the re-driven dead letter",
                    )
            for path in (
                "/api/journal?limit=1000",
                "/api/journal?limit=1000&records=true",
                f"/api/journal/{flaky_commit}",
                f"/api/journal/{broken_event}",
                "/api/deliveries?limit=1000",
                "/api/status?workers=true",
                "/api/status",
                "/healthz",
                "/readyz",
                "/openapi.json",
                "/docs",
            ):
                response = http.get(path)
                evidence.add_response(f"GET {path} -> {response.status_code}", response)
                assert response.status_code == 200, path
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    # Both credentials were really used, so their absence below means something.
    assert entries_of(sim, api_key=GATEWAY_KEY, connection=GATEWAY_CONNECTION) == 2
    assert entries_of(sim, token=TOGGL_TOKEN) == 4

    # Messages left in the queues for the scan: a delivery nobody plans now, and a kick nobody takes.
    with TestClient(receiver) as client:
        late = push_body("carol", 1, minute=55)
        response = client.post("/hooks/github", content=late, headers=github_headers(late))
        evidence.add_response("POST /hooks/github (worker stopped)", response)
        assert response.status_code == 202
    kick("carol")
    assert celery_bodies(redis_client, QUEUE_INGEST) and celery_bodies(redis_client, QUEUE_TOGGL)

    dump = dump_redis(redis_client)
    assert {"string", "list", "hash", "zset", "set"} <= dump.types, dump.types
    evidence.blobs += dump.blobs
    worker_log = worker_output.read_bytes()
    assert TASK_PLAN.encode() in worker_log, "the worker's output was not captured"
    evidence.add("worker process output", worker_log)
    evidence.add("log records (DEBUG)", caplog.text)
    captured = capfd.readouterr()
    evidence.add("stdout", captured.out)
    evidence.add("stderr", captured.err)
    evidence.assert_no_secret()


@pytest.mark.parametrize("toggl_mode", ["simulator", "gateway"])
def test_no_secret_leaks_from_in_process_planning_and_execution(
    redis_url: str,
    redis_client: redis.Redis,
    simulator: tuple[Simulator, str],
    tmp_path: Path,
    toggl_mode: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same pieces in this process, so that their log records at DEBUG (httpx, httpcore, kombu, the bridge)
    are all captured: signed deliveries become Celery messages, which are read back from Redis, planned and
    applied, through the simulator as the built-in default (``simulator``) or behind the gateway's address with
    the gateway key and a token from the environment (``gateway``)."""
    caplog.set_level(logging.DEBUG)
    sim, sim_url = simulator
    config_file = tmp_path / "togglbridge.yaml"
    config_file.write_text(RULES)
    config = load_config(config_file)
    monkeypatch.setenv(TOKEN_ENV, TOGGL_TOKEN)
    credentials: dict[str, Any] = {"gateway_key": None, "toggl_api_token": None}
    if toggl_mode == "gateway":
        credentials = {
            "gateway_key": GATEWAY_KEY,
            "gateway_url": f"{sim_url}/toggl-track",
            "toggl_api_url": sim_url,
        }
    settings = Settings(
        _env_file=None,
        redis_url=redis_url,
        simulator_url=sim_url,
        dashboard_token=DASHBOARD_TOKEN,
        **credentials,
    )
    assert settings.toggl_mode == toggl_mode
    evidence = Evidence()
    receiver = build_receiver(settings, redis_url, SOURCE_SECRETS)
    with TestClient(receiver, headers=OPERATOR_HEADERS) as client:

        def keep(response: httpx.Response) -> None:
            response.read()
            evidence.add_response(
                f"{response.request.method} {response.request.url} -> {response.status_code}", response
            )

        client.event_hooks = {"request": [], "response": [keep]}
        pushes = [
            push_body("carol", 2),
            push_body("dana", 1),
            push_body("carol", 1, repo="acme/broken", minute=30),
        ]
        for body in pushes:
            assert client.post("/hooks/github", content=body, headers=github_headers(body)).status_code == 202
        assert client.post("/hooks/generic", content=BUILD, headers=generic_headers(BUILD)).status_code == 202
        for path, body, headers, status in refused_requests():
            response = client.post(path, content=body, headers=headers)
            assert_refused_without_a_hint(response, body, headers, status)

        # What a worker does with the messages: read them back, plan, apply.
        events = [
            Event.model_validate(e)
            for body in reversed(celery_bodies(redis_client, QUEUE_INGEST))
            for e in body[0][0]
        ]
        assert len(events) == 3 + 2 + 2 + 1  # each push and its commits, and the build
        journal = Journal(redis_client, cap=10_000)
        identities = dispatch(redis_client, journal, config, events)
        assert identities == {"carol", "dana"}
        access = SettingsAccess(settings, accounts_from_config(config), simulator_url=sim_url)
        try:
            executor = Executor(redis_client, access, journal)
            applied = {identity: executor.drain(identity).applied for identity in sorted(identities)}
        finally:
            access.close()
        assert applied == {"carol": 2, "dana": 2}
        assert DeadLetters(redis_client).count() == 1
        if toggl_mode == "gateway":
            assert entries_of(sim, api_key=GATEWAY_KEY, connection=GATEWAY_CONNECTION) == 2
            assert entries_of(sim, token=TOGGL_TOKEN) == 2
        for path in ("/api/journal?limit=1000", "/api/deliveries", "/api/status", "/healthz", "/readyz"):
            assert client.get(path).status_code == 200

    dump = dump_redis(redis_client)
    evidence.blobs += dump.blobs
    evidence.add("log records (DEBUG)", caplog.text)
    assert "HTTP Request" in caplog.text, "the Toggl requests' log records were not captured"
    captured = capfd.readouterr()
    evidence.add("stdout", captured.out)
    evidence.add("stderr", captured.err)
    evidence.assert_no_secret()
