"""A new source is one module and one registry line: a throwaway source, registered here and nowhere else, is
served by the receiver (enabled by its own variable, signed, answering its own handshake), validated in a rule
file (its kinds, their fields, its identity handle list) and explained, with no other file touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from togglbridge.api.factory import build_receiver
from togglbridge.cli.explain import explain_command
from togglbridge.config import ConfigError, load_config
from togglbridge.events import Event
from togglbridge.settings import Settings
from togglbridge.sources import REGISTRY, SOURCES
from togglbridge.sources.base import Handle, Headers, Reply, Source, Verdict, json_object, lower_keys
from togglbridge.sources.kinds import KindSchema
from togglbridge.sources.secrets import SourceSecrets
from togglbridge.sources.signing import HmacHex

pytestmark = pytest.mark.integration

SIGNATURE = HmacHex("X-Acme-Signature", prefix="sha256=")
SECRET = "acme-test-secret"
DEPLOY = {"id": "dep-42", "who": "wile", "service": "web", "at": "2026-11-02T10:00:00Z"}


def parse(headers: Headers, body: bytes, received_at: datetime | None = None) -> list[Event]:
    if lower_keys(headers).get("x-acme-event") == "ping":
        return []
    payload = json_object(body)
    return [
        Event(
            id=f"acme:{payload['id']}",
            source="acme",
            kind="acme.deployed",
            actor=payload["who"],
            occurred_at=datetime.fromisoformat(payload["at"]),
            data={"service": payload["service"]},
        )
    ]


def answer(headers: Headers, body: bytes, verdict: Verdict) -> Reply | None:
    return Reply(200, {"pong": True}) if lower_keys(headers).get("x-acme-event") == "ping" else None


ACME = Source(
    name="acme",
    secret_env="ACME_SECRET",
    verify=SIGNATURE.verify,
    parse=parse,
    delivery_id=lambda headers: lower_keys(headers).get("x-acme-delivery"),
    sign=lambda headers, body, secret, now: {**headers, **SIGNATURE.sign(body, secret)},
    kinds={"acme.deployed": KindSchema.of("service")},
    explain_headers=lambda payload: {"X-Acme-Delivery": "explain"},
    handle=Handle("acme", "Acme usernames."),
    answer=answer,
)

RULES = """\
identities:
  wile:
    acme: [wile]
  other:
    emails: [other@acme.io]
rules:
  - name: deploys
    on: acme.deployed
    if: {service: web}
    do:
      - log: {description: "Deployed {{ SERVICE }}", duration: 15m}
"""


@pytest.fixture
def acme() -> Iterator[Source]:
    with REGISTRY.registered(ACME) as source:
        yield source
    assert "acme" not in SOURCES


def rule_file(tmp_path: Path, service: str = "service") -> Path:
    path = tmp_path / "togglbridge.yaml"
    path.write_text(RULES.replace("SERVICE", service))
    return path


def post(client: TestClient, body: bytes, secret: str = SECRET, event: str = "deploy") -> Any:
    headers = {"Content-Type": "application/json", "X-Acme-Event": event, "X-Acme-Delivery": f"d-{event}"}
    return client.post(
        "/hooks/acme", content=body, headers=ACME.sign(headers, body, secret, datetime.now(UTC))
    )


def test_a_registered_source_is_served_enabled_by_its_own_variable(acme: Source, redis_url: str) -> None:
    secrets = SourceSecrets.load(SOURCES.values(), environ={"TOGGLBRIDGE_ACME_SECRET": SECRET}, env_file=None)
    settings = Settings(_env_file=None, redis_url=redis_url)
    body = json.dumps(DEPLOY).encode()
    with TestClient(build_receiver(settings, redis_url, secrets)) as client:
        accepted = post(client, body)
        assert accepted.status_code == 202 and accepted.json()["events"] == ["acme:dep-42"]
        assert post(client, body, secret="wrong").status_code == 401
        ping = post(client, b"{}", event="ping")
        assert (ping.status_code, ping.json()) == (200, {"pong": True})  # the source's own answer
    with TestClient(build_receiver(settings, redis_url, SourceSecrets.of())) as client:
        disabled = post(client, body)
        assert disabled.status_code == 404 and "TOGGLBRIDGE_ACME_SECRET" in disabled.json()["error"]


def test_a_registered_source_is_known_to_the_rule_file(acme: Source, tmp_path: Path) -> None:
    config = load_config(rule_file(tmp_path))
    assert config.identity_for_handle("acme", "wile") == "wile"
    with pytest.raises(ConfigError) as typo:
        load_config(rule_file(tmp_path, service="servcie"))
    (problem,) = typo.value.errors
    assert problem.line == 11 and "did you mean 'service'?" in problem.message


def test_a_registered_source_explains_a_raw_delivery(acme: Source, tmp_path: Path) -> None:
    raw = tmp_path / "deploy.json"
    raw.write_text(json.dumps(DEPLOY))
    result = CliRunner().invoke(
        explain_command, ["--source", "acme", str(raw), "--config", str(rule_file(tmp_path)), "--json"]
    )
    assert result.exit_code == 0, result.output
    (plan,) = json.loads(result.output)
    assert plan["identity"] == "wile"
    assert [action["type"] for action in plan["actions"]] == ["log"]
    assert plan["actions"][0]["description"] == "Deployed web"


def test_without_the_registry_line_the_source_does_not_exist(tmp_path: Path) -> None:
    assert "acme" not in SOURCES and "acme" not in REGISTRY.handles
    with pytest.raises(ConfigError) as unknown:
        load_config(rule_file(tmp_path))
    messages = " ".join(problem.message for problem in unknown.value.errors)
    assert "unknown key 'acme'" in messages
