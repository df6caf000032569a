"""Changes made in Toggl itself: learned before any rule (the running entry, the subject's entry), and an echo of
the bridge's own change, or one of too many to one entry, reaches no rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import fakeredis

from togglbridge.actions import LearnAction
from togglbridge.config import parse_config
from togglbridge.dispatch import _as_rules_see_it
from togglbridge.events import Event
from togglbridge.rules.planner import plan
from togglbridge.store import echoes
from togglbridge.toggl.transport import RequestRecord

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CONFIG = parse_config(
    """
defaults: {created_with: togglbridge}
identities:
  alice: {toggl_user: ["6"]}
  bob: {toggl_user: ["7"]}
rules:
  - name: standups go to Meetings
    on: toggl.entry_created
    if: {description: {regex: '(?i)standup'}}
    do:
      - update: {target: subject, project: Meetings}
      - tag: {tags: [meeting], target: subject}
"""
)


def change(kind: str = "toggl.entry_created", **data: Any) -> Event:
    fields = {"entry_id": 41, "workspace_id": 9, "description": "Standup", "running": True,
              "start": "2026-11-30T08:59:00Z", "at": "2026-11-30T09:00:00Z", "created_with": "Toggl Track"} | data  # fmt: skip
    return Event(id=f"toggl:{kind}:{len(data)}", source="toggl", kind=kind, occurred_at=WHEN, actor="6",
                 data=fields, subject="toggl-entry:41")  # fmt: skip


def test_a_change_is_learned_first_then_the_rules_act_on_its_entry() -> None:
    result = plan(change(), CONFIG)
    assert [a.type for a in result.actions] == ["learn", "update", "tag"]
    learn = result.actions[0]
    assert isinstance(learn, LearnAction)
    assert (learn.entry_id, learn.running, learn.subject) == (41, True, "toggl-entry:41")
    assert result.identity == "alice"


def test_an_echo_and_a_loop_reach_no_rule_but_are_still_learned() -> None:
    client = fakeredis.FakeRedis()
    ours = _as_rules_see_it(client, CONFIG, change(created_with="togglbridge"))
    assert [a.type for a in plan(ours, CONFIG).actions] == ["learn"]
    assert "echo" in (plan(ours, CONFIG).rules[-1].skipped or "")

    pipe = client.pipeline()
    written = echoes.written_entries(
        [RequestRecord("PUT", "/api/v9/workspaces/9/time_entries/41", 200, 12.0)]
    )
    echoes.note_writes(pipe, written, now=WHEN.timestamp() + 1)
    pipe.execute()
    updated = _as_rules_see_it(client, CONFIG, change("toggl.entry_updated"))
    assert updated.data["echo"] is True
    later = _as_rules_see_it(client, CONFIG, change("toggl.entry_updated", at="2026-11-30T10:00:00Z"))
    assert "echo" not in later.data  # a person's change an hour after the bridge's is theirs

    person = change("toggl.entry_updated", entry_id=77, at="2026-11-30T11:00:00Z")
    seen = [_as_rules_see_it(client, CONFIG, person) for _ in range(echoes.MAX_CHANGES_PER_HOUR + 1)]
    assert "looping" not in seen[-2].data and seen[-1].data["looping"] is True
    assert "too many times" in (plan(seen[-1], CONFIG).rules[-1].skipped or "")


def test_an_echo_of_an_earlier_write_is_known_after_a_later_write_of_the_same_entry() -> None:
    client = fakeredis.FakeRedis()
    for minutes in (0, 10):  # the bridge wrote entry 41 at 09:00 and again at 09:10
        pipe = client.pipeline()
        echoes.note_writes(pipe, [41], now=WHEN.timestamp() + minutes * 60)
        pipe.execute()
    for at in ("2026-11-30T09:00:05Z", "2026-11-30T09:10:05Z"):  # each write's webhook, in any order
        assert _as_rules_see_it(client, CONFIG, change("toggl.entry_updated", at=at)).data["echo"] is True
    between = change("toggl.entry_updated", at="2026-11-30T09:05:00Z")
    assert "echo" not in _as_rules_see_it(client, CONFIG, between).data  # a person's, between the two


def test_writes_older_than_the_memory_are_forgotten() -> None:
    client = fakeredis.FakeRedis()
    pipe = client.pipeline()
    echoes.note_writes(pipe, [41], now=WHEN.timestamp())
    echoes.note_writes(pipe, [41], now=WHEN.timestamp() + echoes.MEMORY_SECONDS + 60)
    pipe.execute()
    assert client.zcard("togglbridge:echoes:41") == 1
    assert 0 < client.ttl("togglbridge:echoes:41") <= echoes.MEMORY_SECONDS


def test_the_writes_the_bridge_made_are_read_from_its_requests() -> None:
    records = [
        RequestRecord("PATCH", "/api/v9/workspaces/9/time_entries/5/stop", 200, 1.0),
        RequestRecord("DELETE", "/api/v9/workspaces/9/time_entries/6", 200, 1.0),
        RequestRecord("GET", "/api/v9/me/time_entries/7", 200, 1.0),
        RequestRecord("PUT", "/api/v9/workspaces/9/time_entries/8", 409, 1.0),
    ]
    assert echoes.written_entries(records, [11, None]) == {5, 6, 11}


def test_a_project_change_is_learned_by_name() -> None:
    made = Event(id="toggl:p1", source="toggl", kind="toggl.project_created", occurred_at=WHEN, actor="6",
                 data={"project_id": 501, "name": "Meetings", "workspace_id": 9, "active": True})  # fmt: skip
    (learn,) = plan(made, CONFIG).actions
    assert isinstance(learn, LearnAction)
    assert (learn.entry_id, learn.project_id, learn.project_name, learn.deleted) == (
        None,
        501,
        "Meetings",
        False,
    )
    gone = made.model_copy(update={"kind": "toggl.project_deleted", "id": "toggl:p2"})
    (forget,) = plan(gone, CONFIG).actions
    assert isinstance(forget, LearnAction) and forget.deleted
