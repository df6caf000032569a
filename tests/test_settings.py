"""Settings come from TOGGLBRIDGE_* variables; a wrong value fails at start naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from togglbridge.settings import SettingsError, load_settings
from togglbridge.sources import SOURCES
from togglbridge.sources.secrets import SourceSecrets


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TOGGLBRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_need_nothing_and_choose_the_simulator() -> None:
    settings = load_settings()
    assert settings.redis_url is None
    assert str(settings.gateway_url) == "https://api.maton.ai/toggl-track"
    assert str(settings.toggl_api_url).rstrip("/") == "https://api.track.toggl.com"
    assert settings.toggl_mode == "simulator"
    assert settings.max_body_bytes == 1024 * 1024


def test_gateway_key_wins_over_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "gk-123")
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_TOKEN", "tt-456")
    assert load_settings().toggl_mode == "gateway"


def test_a_token_alone_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_TOGGL_API_TOKEN", "tt-456")
    assert load_settings().toggl_mode == "direct"


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TOGGLBRIDGE_REDIS_URL=redis://127.0.0.1:6399/2\n")
    assert load_settings().redis_url == "redis://127.0.0.1:6399/2"


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "very-secret-key")
    monkeypatch.setenv("TOGGLBRIDGE_GITHUB_SECRET", "gh-secret-value")
    settings = load_settings()
    assert "very-secret-key" not in repr(settings)
    assert "gh-secret-value" not in str(settings.model_dump())
    assert settings.gateway_key is not None
    assert settings.gateway_key.get_secret_value() == "very-secret-key"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TOGGLBRIDGE_REDIS_URL", "http://localhost", "redis://"),
        ("TOGGLBRIDGE_GATEWAY_URL", "not a url", "URL"),
        ("TOGGLBRIDGE_MAX_BODY_BYTES", "-5", "greater than 0"),
        ("TOGGLBRIDGE_MAX_BODY_BYTES", "lots", "integer"),
        ("TOGGLBRIDGE_LOG_LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_a_wrong_value_names_the_variable_and_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message
    assert expected in message


def test_a_source_secret_of_the_wrong_shape_names_its_variable_never_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_WEBHOOK_SECRET", "leaky-secret-value")
    with pytest.raises(SettingsError) as caught:
        SourceSecrets.load(SOURCES.values(), env_file=None)
    message = str(caught.value)
    assert "TOGGLBRIDGE_WEBHOOK_SECRET" in message and "whsec_" in message
    assert "leaky-secret-value" not in message


def test_source_secrets_come_from_the_environment_then_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TOGGLBRIDGE_GITHUB_SECRET=from-the-file\n")
    monkeypatch.delenv("TOGGLBRIDGE_GITHUB_SECRET", raising=False)
    assert (
        SourceSecrets.load(SOURCES.values(), env_file=env_file)["github"].get_secret_value()
        == "from-the-file"
    )
    monkeypatch.setenv("TOGGLBRIDGE_GITHUB_SECRET", "from-the-environment")
    loaded = SourceSecrets.load(SOURCES.values(), env_file=env_file)
    assert loaded["github"].get_secret_value() == "from-the-environment"
    assert "from-the-environment" not in repr(loaded)


def test_the_drain_lock_must_outlive_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_HTTP_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("TOGGLBRIDGE_DRAIN_LOCK_SECONDS", "10")
    with pytest.raises(SettingsError, match="TOGGLBRIDGE_DRAIN_LOCK_SECONDS must be longer"):
        load_settings()


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGLBRIDGE_GATEWAY_KEY", "")
    monkeypatch.setenv("TOGGLBRIDGE_GITHUB_SECRET", "  ")
    settings = load_settings()
    assert settings.gateway_key is None and settings.toggl_mode == "simulator"
    assert "github" not in SourceSecrets.load(SOURCES.values(), env_file=None)
