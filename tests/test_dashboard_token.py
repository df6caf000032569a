"""The token ``togglbridge up`` keeps for a loopback dashboard: kept across restarts, readable by its owner only,
and never reused or written through when someone else could have read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from togglbridge.cli.serve import DASHBOARD_TOKEN_FILE, _local_dashboard_token
from togglbridge.settings import Settings


def token_for(data_dir: Path, monkeypatch: pytest.MonkeyPatch, host: str = "127.0.0.1") -> str | None:
    monkeypatch.delenv("TOGGLBRIDGE_DASHBOARD_TOKEN", raising=False)
    if not _local_dashboard_token(Settings(_env_file=None, data_dir=data_dir), host):
        return None
    return os.environ["TOGGLBRIDGE_DASHBOARD_TOKEN"]


def test_one_private_token_across_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = token_for(tmp_path, monkeypatch)
    assert first is not None and len(first) >= 32
    path = tmp_path / DASHBOARD_TOKEN_FILE
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().strip() == first
    assert token_for(tmp_path, monkeypatch) == first
    assert token_for(tmp_path, monkeypatch, host="0.0.0.0") is None  # elsewhere the operator sets it


def test_a_token_others_could_read_is_replaced_and_a_link_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / DASHBOARD_TOKEN_FILE
    path.write_text("readable-by-everyone-0123456789\n")
    path.chmod(0o644)
    fresh = token_for(tmp_path, monkeypatch)
    assert fresh != "readable-by-everyone-0123456789"
    assert path.stat().st_mode & 0o777 == 0o600
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("someone's file\n")
    elsewhere.chmod(0o644)
    path.unlink()
    path.symlink_to(elsewhere)
    linked = token_for(tmp_path, monkeypatch)
    assert elsewhere.read_text() == "someone's file\n"
    assert not path.is_symlink() and path.read_text().strip() == linked
