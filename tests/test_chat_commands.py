"""The built-in chat commands, planned and applied against the simulator, with the follow-up each tells: log,
tag, untag, status, today, week and resume (start and stop: tests/test_follow_ups.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis

from tests.test_executor import entries
from togglbridge.config import Config, parse_config
from togglbridge.dispatch import dispatch
from togglbridge.events import Event
from togglbridge.executor import Executor
from togglbridge.follow_ups import story
from togglbridge.rules.planner import plan
from togglbridge.store.journal import Journal
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # a Wednesday, 16:30 in Berlin


@pytest.fixture(autouse=True)
def _restore_knobs(restore_knobs: None, sim_url: str) -> None:
    """Every test here starts with the simulator's default knobs (and the simulator serving)."""


@pytest.fixture
def config(identity: str) -> Config:
    return parse_config(
        f"""
defaults: {{timezone: Europe/Berlin}}
identities:
  {identity}: {{slack: [U1]}}
  someone-else: {{slack: [U2]}}
chat: {{tags: [chat]}}
rules: []
"""
    )


class Chat:
    """Types commands as user U1 at given times; each is planned, applied, and its follow-up text read."""

    def __init__(self, client: redis.Redis, config: Config, executor: Executor, identity: str) -> None:
        self.client, self.config, self.executor, self.identity = client, config, executor, identity
        self.count = 0

    def say(self, text: str, at: datetime, **parsed: Any) -> str:
        from togglbridge.chat_text import parse_chat_command

        self.count += 1
        command = parse_chat_command(text)
        event = Event(
            id=f"slack:t{self.count}", source="slack", kind="chat.command", occurred_at=at, actor="U1",
            data=command.to_event_data(text),
        )  # fmt: skip
        journal = Journal(self.client, cap=1000)
        from togglbridge.store.enqueue import EventQueue
        from workers.app import app

        EventQueue(self.client, app, task="t", queue="q", journal_cap=1000).accept_sync(
            "slack", event.id, [event]
        )
        dispatch(self.client, journal, self.config, [event])
        self.executor.drain(self.identity)
        told = story(self.client, journal.event(event.id), journal.summary(event.id) or {})
        return told or ""


@pytest.fixture
def chat(redis_client: redis.Redis, config: Config, executor: Executor, identity: str) -> Chat:
    return Chat(redis_client, config, executor, identity)


def shape(sim: Simulator, sim_url: str, identity: str) -> list[tuple[str, str, str | None, list[str]]]:
    return [
        (e["description"], e["start"][:16], e["stop"][:16] if e["stop"] else None, sorted(e["tags"]))
        for e in entries(sim, sim_url, identity)
    ]


def test_log_makes_a_finished_entry_when_and_as_told(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    told = chat.say("log 1h30m Review @Acme #code yesterday at 14:00", NOW)
    assert told == "Logged 1h 30m “Review” @Acme #code #chat."
    told = chat.say("log 45m Standup notes", NOW)  # no day, no time: it ends now
    assert shape(sim, sim_url, identity) == [
        ("Review", "2026-11-24T13:00", "2026-11-24T14:30", ["chat", "code"]),
        ("Standup notes", "2026-11-25T14:45", "2026-11-25T15:30", ["chat"]),
    ]


def test_tag_untag_and_resume_the_running_entry(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    chat.say("start Write report @Acme #writing", NOW)
    assert (
        chat.say("tag #deep #focus", NOW + timedelta(minutes=1)) == "Tagged your running entry #deep #focus."
    )
    assert chat.say("untag #focus", NOW + timedelta(minutes=2)) == "Untagged your running entry #focus."
    chat.say("stop", NOW + timedelta(minutes=30))
    assert (
        chat.say("tag #late", NOW + timedelta(minutes=31))
        == "Nothing is running, so there was nothing to tag."
    )
    assert chat.say("resume", NOW + timedelta(minutes=40)) == "Resumed “Write report”."
    first, second = shape(sim, sim_url, identity)
    assert first == ("Write report", "2026-11-25T15:30", "2026-11-25T16:00", ["chat", "deep", "writing"])
    assert second[:3] == ("Write report", "2026-11-25T16:10", None)
    assert set(second[3]) == {"chat", "deep", "writing"}
    assert chat.say("resume", NOW + timedelta(minutes=41)) == "“Write report” is running already."


def test_status_today_and_week_answer_with_one_request_each(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    assert chat.say("status", NOW) == "Nothing is running.\nToday: 0m."
    chat.say("log 2h Design @Acme yesterday at 09:00", NOW)
    chat.say("log 1h Review @Beta at 08:00", NOW)
    chat.say("start Write report @Acme", NOW)
    status = chat.say("status", NOW + timedelta(minutes=20))
    assert status.startswith("Running: “Write report” @Acme #chat for ")
    assert status.endswith("for 20m.\nToday: 1h 20m.")
    today = chat.say("today", NOW + timedelta(minutes=20)).splitlines()
    assert today == ["Today: 1h 20m.", "Beta: 1h 00m", "Acme: 20m"]
    week = chat.say("week", NOW + timedelta(minutes=20)).splitlines()
    assert week == ["This week: 3h 20m.", "Acme: 2h 20m", "Beta: 1h 00m"]


def test_the_built_ins_plan_as_documented(config: Config, identity: str) -> None:
    from togglbridge.chat_text import parse_chat_command

    def planned(text: str) -> list[str]:
        command = parse_chat_command(text)
        event = Event(id="e", source="slack", kind="chat.command", occurred_at=NOW, actor="U1",
                      data=command.to_event_data(text))  # fmt: skip
        return [a.type for a in plan(event, config).actions]

    assert [
        planned(t)
        for t in (
            "start x",
            "stop",
            "log 1h x",
            "tag #a",
            "untag #a",
            "status",
            "today",
            "week",
            "resume",
            "help",
            "undo",
        )
    ] == [
        ["start"],
        ["stop"],
        ["log"],
        ["tag"],
        ["untag"],
        ["report"],
        ["report"],
        ["report"],
        ["resume"],
        [],
        ["undo"],
    ]


def test_undo_takes_back_the_last_change_once_and_only_when_recent(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    assert chat.say("undo", NOW) == "Nothing I did in the last 10 minutes to undo."
    chat.say("start Write report", NOW)
    assert chat.say("undo", NOW + timedelta(minutes=1)) == "Undone: deleted the entry I started."
    assert shape(sim, sim_url, identity) == []
    assert chat.say("undo", NOW + timedelta(minutes=2)) == "Nothing I did in the last 10 minutes to undo."

    chat.say("log 30m Review", NOW + timedelta(minutes=3))
    assert chat.say("undo", NOW + timedelta(minutes=4)) == "Undone: deleted the entry I logged."
    assert shape(sim, sim_url, identity) == []

    chat.say("start Deep work", NOW + timedelta(minutes=5))
    chat.say("tag #focus", NOW + timedelta(minutes=6))
    assert chat.say("undo", NOW + timedelta(minutes=7)) == "Undone: removed #focus."
    chat.say("stop", NOW + timedelta(minutes=20))
    assert chat.say("undo", NOW + timedelta(minutes=21)) == "Undone: “Deep work” goes on."
    first, second = shape(sim, sim_url, identity)
    assert first == ("Deep work", "2026-11-25T15:35", "2026-11-25T15:50", ["chat"])
    assert second == ("Deep work", "2026-11-25T15:50", None, ["chat"])


def test_undo_never_reaches_past_a_change_it_cannot_take_back(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    """Started from chat, then switched by hand in the app; a chat stop stops the app's timer; undo must not
    delete the entry started from chat, which is real time tracked."""
    chat.say("start Standup", NOW)
    (mine,) = entries(sim, sim_url, identity)
    headers = {"Authorization": "Bearer simulator", "Maton-Connection": identity}
    base = f"{sim_url}/toggl-track/api/v9/workspaces/{mine['workspace_id']}/time_entries"
    httpx.patch(f"{base}/{mine['id']}/stop", headers=headers).raise_for_status()
    httpx.post(base, headers=headers, json={"description": "Coding", "start": "2026-11-25T15:40:00Z", "duration": -1,
               "workspace_id": mine["workspace_id"], "created_with": "Toggl Track"}).raise_for_status()  # fmt: skip
    chat.say("stop", NOW + timedelta(minutes=20))
    assert chat.say("undo", NOW + timedelta(minutes=21)) == "Nothing I did in the last 10 minutes to undo."
    assert [e["description"] for e in entries(sim, sim_url, identity)] == ["Standup", "Coding"]


def test_a_timer_running_since_before_midnight_counts_from_midnight(chat: Chat) -> None:
    evening = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # 23:00 in Berlin
    chat.say("start Late shift @Acme", evening)
    after_midnight = evening + timedelta(hours=2)  # 01:00 the next day
    status = chat.say("status", after_midnight)
    assert status.startswith("Running: “Late shift” @Acme #chat for 2h 00m.")
    assert status.endswith("Today: 1h 00m.")
    assert chat.say("today", after_midnight).splitlines() == ["Today: 1h 00m.", "Acme: 1h 00m"]
    chat.say("stop", after_midnight + timedelta(minutes=30))
    assert chat.say("today", after_midnight + timedelta(hours=1)).splitlines() == [
        "Today: 1h 30m.",
        "Acme: 1h 30m",
    ]


def test_a_day_when_the_clocks_go_back_has_25_hours(chat: Chat) -> None:
    # 2026-10-25 in Berlin: 02:00-03:00 happens twice; the day ends at 23:00 UTC, not 22:00
    late = datetime(2026, 10, 25, 22, 45, tzinfo=UTC)  # 23:45 in Berlin, still the 25th
    chat.say("log 30m Late review @Beta at 23:00", late)
    assert chat.say("today", late).splitlines() == ["Today: 30m.", "Beta: 30m"]
    assert chat.say("week", late).splitlines() == ["This week: 30m.", "Beta: 30m"]  # the week ends with it


def test_a_log_that_would_end_in_the_future_is_refused_and_says_why(
    chat: Chat, sim: Simulator, sim_url: str, identity: str
) -> None:
    # NOW is 16:30 in Berlin
    assert chat.say("log 1h Review at 16:00", NOW) == (
        "That would end at 17:00, which is still to come: log time already spent, or start a timer."
    )
    assert chat.say("log 30m Plan 2026-12-01 at 09:00", NOW).startswith("That would end at 2026-12-01 09:30,")
    assert entries(sim, sim_url, identity) == []
    assert chat.say("log 30m Review at 16:00", NOW) == "Logged 30m “Review” #chat."  # ends now: fine
