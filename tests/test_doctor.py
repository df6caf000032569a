"""`togglbridge doctor` against the simulator over real HTTP: it reports the workspaces, or what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from togglbridge.cli import main
from togglbridge.store.redis_server import free_port
from togglbridge.toggl.sim import Simulator, serve_in_thread

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures" / "config"
MINIMAL = FIXTURES / "minimal.yaml"


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with serve_in_thread(Simulator()) as url:
        yield url


@pytest.fixture(autouse=True)
def _only_these_settings(monkeypatch: pytest.MonkeyPatch, tmp_path, redis_url: str) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TOGGLBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOGGLBRIDGE_REDIS_URL", redis_url)
    monkeypatch.setenv("TOGGLBRIDGE_GITHUB_SECRET", "a-github-secret")
    (tmp_path / "togglbridge.yaml").write_text(MINIMAL.read_text())


def doctor() -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor"])
    return result.exit_code, result.output


def test_doctor_reports_the_simulated_workspace_through_the_gateway(
    monkeypatch: pytest.MonkeyPatch, sim_url: str
) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_URL", f"{sim_url}/toggl-track")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "k")
    code, output = doctor()
    assert code == 0, output
    assert "✓ redis" in output and "✓ identity me via gateway" in output and "workspace [" in output


def test_doctor_reports_the_workspace_with_a_direct_token(
    monkeypatch: pytest.MonkeyPatch, sim_url: str
) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_URL", sim_url)
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_TOKEN", "my-token")
    code, output = doctor()
    assert code == 0 and "✓ identity me via direct" in output
    assert "my-token" not in output


def test_doctor_says_what_is_wrong_and_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_URL", f"http://127.0.0.1:{free_port()}/toggl-track")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "secret-key-value")
    code, output = doctor()
    assert code == 1
    assert "✗ redis" in output and "unset TOGGLBRIDGE_REDIS_URL" in output
    assert "✗ identity me" in output and "TOGGLBRIDGE_GATEWAY_URL" in output
    assert "secret-key-value" not in output


def test_doctor_without_a_credential_points_to_the_simulator() -> None:
    code, output = doctor()
    assert code == 0 and "simulator" in output and "TOGGLBRIDGE_GATEWAY_KEY" in output


def test_a_wrong_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_MAX_BODY_BYTES", "lots")
    code, output = doctor()
    assert code == 1 and "TOGGLBRIDGE_MAX_BODY_BYTES" in output


def test_doctor_checks_the_rule_file_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "togglbridge.yaml").write_text((FIXTURES / "three_problems.yaml").read_text())
    code, output = doctor()
    assert code == 1
    assert "✗ rule file" in output and "togglbridge.yaml:" in output


def test_doctor_says_a_missing_rule_file_and_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "togglbridge.yaml").unlink()
    code, output = doctor()
    assert code == 1 and "TOGGLBRIDGE_CONFIG_FILE" in output


def test_doctor_lists_enabled_and_disabled_sources_and_warns_of_demo_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from togglbridge.demo import DEMO_SECRETS

    monkeypatch.setenv("TOGGLBRIDGE_GITHUB_SECRET", DEMO_SECRETS["github"])
    code, output = doctor()
    assert code == 0, output
    assert "github (TOGGLBRIDGE_GITHUB_SECRET)" in output.split("disabled")[0]  # enabled
    assert "generic (TOGGLBRIDGE_WEBHOOK_SECRET)" in output.split("disabled")[1]
    assert "demo secret" in output and DEMO_SECRETS["github"] not in output


def test_doctor_names_unset_variables_the_rule_file_names_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_url: str
) -> None:
    (tmp_path / "togglbridge.yaml").write_text(
        "identities:\n"
        "  bob: {toggl: {token_env: BOB_TOKEN_FOR_DOCTOR}}\n"
        "  eve: {toggl: {token_env: EVE_TOKEN_FOR_DOCTOR}}\n"
        "calendars:\n"
        "  - {name: work, identity: bob, url_env: BOB_CALENDAR_FOR_DOCTOR}\n"
        "rules: []\n"
    )
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_URL", sim_url)
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_TOKEN", "default-token")
    monkeypatch.setenv("EVE_TOKEN_FOR_DOCTOR", "eves-secret-token")
    monkeypatch.delenv("BOB_TOKEN_FOR_DOCTOR", raising=False)
    monkeypatch.delenv("BOB_CALENDAR_FOR_DOCTOR", raising=False)
    code, output = doctor()
    assert code == 1
    assert "✗ identity bob" in output and "BOB_TOKEN_FOR_DOCTOR is not set" in output
    assert "✗ calendar work" in output and "BOB_CALENDAR_FOR_DOCTOR" in output
    assert "✓ identity eve" in output and "workspaces" in output  # one request with eve's own token
    assert "eves-secret-token" not in output and "default-token" not in output


def test_doctor_checks_the_embedded_redis_with_a_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOGGLBRIDGE_REDIS_URL")
    monkeypatch.setenv("TOGGLBRIDGE_DATA_DIR", str(tmp_path / "data"))
    code, output = doctor()
    assert code == 0, output
    assert "✓ redis" in output and "embedded" in output and " ms)" in output


def test_doctor_says_whether_each_identitys_toggl_webhook_subscription_is_active(
    monkeypatch: pytest.MonkeyPatch, sim_url: str
) -> None:
    """With Toggl's webhooks enabled, a workspace with no subscription fails, naming the command that makes one;
    one the receiver validated is reported active (the receiver here: a tiny server answering the ping)."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from togglbridge.serving import serve_in_thread as serve_app

    async def answer(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"validation_code": body.get("validation_code")})

    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_URL", f"{sim_url}/toggl-track")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "k")
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_WEBHOOK_SECRET", "a-toggl-webhook-secret-0123456789")
    code, output = doctor()
    assert code == 1 and "✗ identity me webhooks" in output and "toggl-webhooks subscribe" in output

    headers = {"Authorization": "Bearer k"}
    me = httpx.get(f"{sim_url}/toggl-track/api/v9/me", headers=headers).json()
    with serve_app(
        Starlette(routes=[Route("/hooks/toggl", answer, methods=["POST"])]), name="receiver"
    ) as url:
        made = httpx.post(
            f"{sim_url}/toggl-track/webhooks/api/v1/subscriptions/{me['default_workspace_id']}",
            headers=headers,
            json={"url_callback": f"{url}/hooks/toggl", "event_filters": [{"entity": "time_entry", "action": "*"}],
                  "secret": "a-toggl-webhook-secret-0123456789", "enabled": True, "description": "togglbridge"},
        )  # fmt: skip
        assert made.status_code == 200, made.text
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "is active" not in doctor()[1]:
            time.sleep(0.2)
        code, output = doctor()
    assert "✓ identity me webhooks" in output and "is active" in output, output
