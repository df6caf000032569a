"""`togglbridge doctor` against the simulator over real HTTP: it reports the workspaces, or what is wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from togglbridge.cli import main
from togglbridge.store.redis_server import free_port
from togglbridge.toggl.sim import Simulator, serve_in_thread

pytestmark = pytest.mark.integration


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
    assert "✓ redis" in output and "✓ toggl via gateway" in output and "workspace [" in output


def test_doctor_reports_the_workspace_with_a_direct_token(
    monkeypatch: pytest.MonkeyPatch, sim_url: str
) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_URL", sim_url)
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_TOKEN", "my-token")
    code, output = doctor()
    assert code == 0 and "✓ toggl via direct" in output
    assert "my-token" not in output


def test_doctor_says_what_is_wrong_and_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_URL", f"http://127.0.0.1:{free_port()}/toggl-track")
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "secret-key-value")
    code, output = doctor()
    assert code == 1
    assert "✗ redis" in output and "unset TOGGLBRIDGE_REDIS_URL" in output
    assert "✗ toggl" in output and "TOGGLBRIDGE_GATEWAY_URL" in output
    assert "secret-key-value" not in output


def test_doctor_without_a_credential_points_to_the_simulator() -> None:
    code, output = doctor()
    assert code == 0 and "simulator" in output and "TOGGLBRIDGE_GATEWAY_KEY" in output


def test_a_wrong_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_MAX_BODY_BYTES", "lots")
    code, output = doctor()
    assert code == 1 and "TOGGLBRIDGE_MAX_BODY_BYTES" in output
