"""``togglbridge calendar preview`` and ``togglbridge backfill calendar``, on the example rule file and its sample
week (examples/calendar.ics): the preview shows what polling will do; a backfill logs past meetings once, through
a real worker, and never twice however often it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from tests.pipeline_support import ROOT, running_pipeline, wait_for
from togglbridge.cli import main
from togglbridge.queues import QUEUE_INGEST
from togglbridge.status import ping_workers
from togglbridge.store import keys
from workers.app import app, configure

EXAMPLE = ROOT / "examples" / "togglbridge.yaml"
SAMPLE = ROOT / "examples" / "calendar.ics"
FEED = {"ALICE_CALENDAR_ICS": SAMPLE.as_uri()}


def preview(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(
        main, ["calendar", "preview", "alice-work", "--config", str(EXAMPLE), *args], env=env or FEED
    )
    return result


def test_preview_shows_each_meeting_and_what_the_rules_do_with_it() -> None:
    # Monday 2026-11-30 and Tuesday: two stand-ups, free lunches, a declined vendor sync.
    result = preview("--from", "2026-11-30", "--days", "2", "--json")
    assert result.exit_code == 0, result.output
    meetings = json.loads(result.output)
    by_title: dict[str, list[Any]] = {}
    for meeting in meetings:
        by_title.setdefault(meeting["title"], []).append(meeting)
    assert sorted(by_title) == ["Daily standup", "Lunch", "Vendor sync"]

    standup = by_title["Daily standup"][0]
    assert standup["start"] == "2026-11-30T08:30:00+00:00"  # 09:30 in Berlin
    started, ended = standup["events"]
    assert started["id"] == f"ics:alice-work:{standup['key']}:started"  # the id polling gives it
    assert [a["type"] for a in started["actions"]] == ["start"]
    assert started["actions"][0]["description"] == "Daily standup"
    assert started["actions"][0]["project"] == "Meetings"
    assert [a["type"] for a in ended["actions"]] == ["stop"]

    assert all("free" in lunch["left_out"] and lunch["events"] == [] for lunch in by_title["Lunch"])
    (vendor,) = by_title["Vendor sync"]
    assert vendor["my_status"] == "declined" and "declined" in vendor["left_out"]


def test_preview_as_a_table_and_its_errors() -> None:
    table = preview("--from", "2026-12-02", "--days", "1", env={**FEED, "COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "Focus: deep work" in table.output and "tag #focus (running entry)" in table.output
    assert "left out: shows as free" in table.output

    unset = preview(env={"ALICE_CALENDAR_ICS": ""})
    assert unset.exit_code == 2 and "ALICE_CALENDAR_ICS is not set" in unset.output
    exported = preview(
        "--ics", str(SAMPLE), "--from", "2026-12-02", "--days", "1", env={"ALICE_CALENDAR_ICS": ""}
    )
    assert exported.exit_code == 0 and "Daily standup" in exported.output

    unknown = CliRunner().invoke(main, ["calendar", "preview", "nope", "--config", str(EXAMPLE)], env=FEED)
    assert unknown.exit_code == 2 and "calendars: alice-work" in unknown.output


def test_a_dry_run_backfill_lists_what_it_would_log_and_sends_nothing(
    redis_client: redis.Redis, redis_url: str
) -> None:
    result = CliRunner().invoke(
        main,
        ["backfill", "calendar", "alice-work", "--config", str(EXAMPLE), "--from", "2026-11-23", "--to",
         "2026-11-24", "--dry-run"],
        env={**FEED, "TOGGLBRIDGE_REDIS_URL": redis_url, "COLUMNS": "160"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("would log 'Daily standup' @Meetings #meeting 15m") == 2
    assert "would log 'Sprint planning' @Meetings #meeting 1h" in result.output
    assert "3 meeting(s) over" in result.output
    assert redis_client.llen(QUEUE_INGEST) == 0 and not redis_client.keys("togglbridge:seen:*")


def utc(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


BACKFILL_END = int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())  # the end of run_backfill's --to day


def run_backfill(env: dict[str, str], config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "togglbridge.cli", "backfill", "calendar", "alice-work", "--config", str(config),
               "--from", "2026-11-23", "--to", "2026-11-24", *extra]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.integration
def test_a_backfill_logs_past_meetings_once(redis_url: str, tmp_path: Path) -> None:
    rules = EXAMPLE.read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env |= {**FEED, "TOGGLBRIDGE_REDIS_URL": redis_url, "COLUMNS": "160", "TOGGLBRIDGE_LOG_LEVEL": "WARNING"}
    with running_pipeline(redis_url, rules, tmp_path, ["alice"], extra_env=FEED) as pipeline:
        config = tmp_path / "togglbridge.yaml"
        configure(app, redis_url)
        wait_for(lambda: ping_workers(app)["answering"], what="the worker to answer")

        def logged() -> list[tuple[str, str, str]]:
            # The running bridge also polls the feed live: today's meeting may start a timer while this runs.
            # What the backfill logs is the week it was given.
            return sorted(
                (e.description, utc(e.start), utc(e.stop) if e.stop else "")
                for e in pipeline.sim.state.entries.values()
                if not e.deleted and e.start < BACKFILL_END
            )

        first = run_backfill(env, config)
        assert first.returncode == 0, first.stdout + first.stderr
        assert logged() == [
            ("Daily standup", "2026-11-23T08:30:00+00:00", "2026-11-23T08:45:00+00:00"),
            ("Daily standup", "2026-11-24T08:30:00+00:00", "2026-11-24T08:45:00+00:00"),
            ("Sprint planning", "2026-11-23T09:00:00+00:00", "2026-11-23T10:00:00+00:00"),
        ], first.stdout + first.stderr
        assert first.stdout.count("logged") == 3, first.stdout

        again = run_backfill(env, config)
        assert again.returncode == 0 and again.stdout.count("has entry") == 3, again.stdout
        assert len(logged()) == 3

        # Without the bridge's record of those entries, its ledger of applied actions still knows them...
        pipeline.redis.delete(keys.subjects("alice"), keys.subject_entries("alice"))
        later = run_backfill(env, config)
        assert later.returncode == 0 and later.stdout.count("applied already (entry") == 3, later.stdout
        # ... and without that either, the same event ids are duplicates the queue drops.
        pipeline.redis.delete(*pipeline.redis.keys(keys.done("*")))
        last = run_backfill(env, config)
        assert last.returncode == 0 and last.stdout.count("seen before") == 3, last.stdout
        assert pipeline.redis.llen(QUEUE_INGEST) == 0
        assert len(logged()) == 3


def test_a_backfill_says_so_when_no_worker_answers(
    redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGLBRIDGE_")}
    env |= {**FEED, "TOGGLBRIDGE_REDIS_URL": redis_url, "COLUMNS": "160"}
    result = run_backfill(env, EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "no worker answers" in result.stdout + result.stderr
    assert redis_client.llen(QUEUE_INGEST) == 3  # queued all the same, for when a worker runs
