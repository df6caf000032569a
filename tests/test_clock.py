"""The calendar clock: real time by default; from TOGGLBRIDGE_CLOCK_START, a clock that starts there and runs at
real speed, the same in every process that shares the Redis."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import fakeredis

from togglbridge.clock import calendar_now
from togglbridge.settings import Settings

START = datetime(2026, 11, 2, 8, 55, tzinfo=UTC)


def test_unset_is_the_real_time() -> None:
    before = datetime.now(UTC)
    assert before <= calendar_now(fakeredis.FakeRedis(), None) <= datetime.now(UTC)


def test_a_start_runs_at_real_speed_and_processes_agree() -> None:
    shared = fakeredis.FakeServer()
    beat, worker = fakeredis.FakeRedis(server=shared), fakeredis.FakeRedis(server=shared)
    first = calendar_now(beat, START)
    assert START <= first < START + timedelta(seconds=1)
    time.sleep(0.05)
    later = calendar_now(worker, START)  # another process, started later: the same clock
    assert first + timedelta(seconds=0.05) <= later < START + timedelta(seconds=1)
    # Another start is another clock, from its own beginning.
    assert calendar_now(worker, START + timedelta(days=1)) < START + timedelta(days=1, seconds=1)


def test_the_setting_reads_an_instant() -> None:
    settings = Settings(_env_file=None, clock_start="2026-11-02T09:55:00+01:00")
    assert settings.clock_start == START + timedelta(hours=0)
