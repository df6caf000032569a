"""A team's shared workspace: members see it (and its projects) as their own, anyone else gets Toggl's 403."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.sim.support import START
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import AuthenticationError
from togglbridge.toggl.sim import SimClock, Simulator, serve_in_thread

OWNER, MEMBER, STRANGER = SecretStr("owner-token"), SecretStr("member-token"), SecretStr("stranger-token")


def test_a_member_works_in_the_teams_workspace_and_a_stranger_cannot(tmp_path: Path) -> None:
    state_file = tmp_path / "sim-state.json"
    sim = Simulator(clock=SimClock(START), state_file=state_file)
    owner = sim.user_for(token=OWNER.get_secret_value())
    member = sim.user_for(token=MEMBER.get_secret_value())
    own_workspace = member.default_workspace_id
    team = owner.default_workspace_id
    sim.join_workspace(member, team)
    with (
        serve_in_thread(sim) as url,
        TogglClient.direct(url, OWNER) as boss,
        TogglClient.direct(url, MEMBER) as mate,
        TogglClient.direct(url, STRANGER) as outsider,
    ):
        project = boss.create_project(team, "Shared")
        assert mate.me().default_workspace_id == team
        assert {ws.id for ws in mate.workspaces()} == {team, own_workspace}
        assert [p.id for p in mate.projects(team)] == [project.id]
        entry = mate.create_time_entry(team, start=START, duration=60, project_id=project.id)
        assert entry.workspace_id == team and entry.project_id == project.id
        assert {u.id for u in boss.workspace_users(team)} == {owner.id, member.id}
        with pytest.raises(AuthenticationError):
            outsider.projects(team)
        with pytest.raises(AuthenticationError):
            outsider.create_time_entry(team, start=START, duration=60)
        # Each member's entries are their own, in the shared workspace as anywhere.
        assert boss.time_entries(start_date=START.date(), end_date="2100-01-01") == []

    restarted = Simulator(clock=SimClock(START), state_file=state_file)
    with serve_in_thread(restarted) as url, TogglClient.direct(url, MEMBER) as mate:
        assert mate.me().default_workspace_id == team  # the membership was saved
        assert [p.id for p in mate.projects(team)] == [project.id]
