"""``togglbridge backfill git``: a local repository's history through the rules, with the ids a push gives, once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.pipeline_support import ROOT, running_pipeline, wait_for
from togglbridge.cli import main
from togglbridge.status import ping_workers
from workers.app import app, configure

RULES = """
defaults: {timezone: Europe/Berlin}
identities:
  alice:
    emails: [alice@acme.io]
rules:
  - name: commits to client repos
    on: git.commit
    if: {repo.full_name: {glob: "acme/*"}}
    do:
      - log:
          description: "{{ repo.name }}: {{ message | first_line }}"
          duration: 30m
          tags: [code]
"""

COMMITS = [  # (when, message)
    ("2026-11-23T09:10:00+01:00", "Start the importer"),
    ("2026-11-23T11:40:00+01:00", "Parse dates ABC-12 #time 45m"),
    ("2026-11-24T16:00:00+01:00", "Handle empty files"),
    ("2026-11-26T10:00:00+01:00", "Outside the days asked for"),
]


def git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@acme.io",
           "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@acme.io"}  # fmt: skip
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "webapp"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "remote", "add", "origin", "git@github.com:acme/webapp.git")
    for number, (when, message) in enumerate(COMMITS):
        (path / f"file{number}.txt").write_text(message)
        git(path, "add", ".")
        git(path, "commit", "-q", "-m", message, when=when)
    return path


def backfill(
    repo: Path, config: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "togglbridge.cli", "backfill", "git", "--repo", str(repo), "--config",
               str(config), "--since", "2026-11-23", "--until", "2026-11-24", *extra]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_a_dry_run_shows_the_entries_it_would_make(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES)
    result = CliRunner().invoke(
        main,
        ["backfill", "git", "--repo", str(repo), "--config", str(config), "--since", "2026-11-23", "--until",
         "2026-11-24", "--dry-run"],
        env={"COLUMNS": "200", "TOGGLBRIDGE_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "acme/webapp (main): what a backfill would do" in result.output
    assert "would log 'webapp: Start the importer' #code 30m" in result.output
    assert "would log 'webapp: Parse dates ABC-12' #code 45m" in result.output  # the directive says 45m
    assert "Outside the days" not in result.output
    assert "3 commit(s) from 2026-11-23 to 2026-11-24" in result.output


def test_the_projects_own_history_prints_its_table() -> None:
    result = CliRunner().invoke(
        main,
        ["backfill", "git", "--repo", str(ROOT), "--since", "2026-01-01", "--dry-run", "--config",
         str(ROOT / "examples" / "togglbridge.yaml")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "what a backfill would do (nothing sent)" in result.output
        and "commit(s) from 2026-01-01" in result.output
    )


def test_a_bad_repository_or_span_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES)
    plain = tmp_path / "plain"
    plain.mkdir()
    result = CliRunner().invoke(
        main, ["backfill", "git", "--repo", str(plain), "--config", str(config), "--since", "2026-11-23"]
    )
    assert result.exit_code == 1 and "not a git repository" in result.output.lower()
    result = CliRunner().invoke(
        main,
        ["backfill", "git", "--repo", str(plain), "--config", str(config), "--since", "2026-11-23", "--until", "2026-11-01"],
    )  # fmt: skip
    assert result.exit_code == 2 and "before the first" in result.output


@pytest.mark.integration
def test_a_backfill_logs_the_commits_once(repo: Path, redis_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env |= {"TOGGLBRIDGE_REDIS_URL": redis_url, "COLUMNS": "200", "TOGGLBRIDGE_LOG_LEVEL": "WARNING"}
    with running_pipeline(redis_url, RULES, tmp_path, ["alice"]) as pipeline:
        config = tmp_path / "togglbridge.yaml"
        configure(app, redis_url)
        wait_for(lambda: ping_workers(app)["answering"], what="the worker to answer")

        first = backfill(repo, config, env=env)
        assert first.returncode == 0, first.stdout + first.stderr

        def logged() -> list[tuple[str, str, int]]:
            return sorted(
                (e.description, datetime.fromtimestamp(e.start, UTC).isoformat(), e.duration)
                for e in pipeline.sim.state.entries.values()
                if not e.deleted
            )

        assert logged() == [
            ("webapp: Handle empty files", "2026-11-24T14:30:00+00:00", 1800),
            ("webapp: Parse dates ABC-12", "2026-11-23T09:55:00+00:00", 2700),  # 45m ending at 11:40 Berlin
            ("webapp: Start the importer", "2026-11-23T07:40:00+00:00", 1800),
        ], first.stdout

        again = backfill(repo, config, env=env)
        assert again.returncode == 0 and again.stdout.count("applied already (entry") == 3, again.stdout
        assert len(logged()) == 3


def test_going_back_further_than_the_ledger_remembers_needs_force(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES)
    args = ["backfill", "git", "--repo", str(repo), "--config", str(config), "--since", "2025-01-01"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "remembers what it applied for 60 days" in refused.output
    assert (
        CliRunner()
        .invoke(main, [*args, "--dry-run"], env={"TOGGLBRIDGE_DATA_DIR": str(tmp_path / "d")})
        .exit_code
        == 0
    )
