"""A simulator with a state file: ids a client remembered stay valid after a restart; a bad file says which."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from tests.sim.support import START
from togglbridge.cli import sim as sim_cli
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.sim import SimClock, SimKnobs, Simulator, StateFileError, serve_in_thread

TOKEN = SecretStr("persistent-token")


@contextmanager
def served_client(state_file: Path) -> Iterator[tuple[Simulator, TogglClient]]:
    """A NEW simulator built from `state_file`, served over real HTTP, and a direct client of it."""
    sim = Simulator(clock=SimClock(START), state_file=state_file)
    with serve_in_thread(sim) as url, TogglClient.direct(url, TOKEN) as client:
        yield sim, client


def test_projects_and_entries_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sim-state.json"
    with served_client(state_file) as (_, client):
        wid = client.me().default_workspace_id
        assert wid is not None
        project = client.create_project(wid, "Kept")
        tag = client.create_tag(wid, "kept-tag")
        running = client.create_time_entry(wid, start=START, project_id=project.id, description="Before")

    with served_client(state_file) as (sim, client):
        assert client.me().default_workspace_id == wid
        assert client.project(wid, project.id).name == "Kept"
        assert [t.id for t in client.tags(wid)] == [tag.id]
        current = client.current_time_entry()
        assert current is not None
        assert (current.id, current.project_id, current.description) == (running.id, project.id, "Before")
        sim.clock.advance(600)
        stopped = client.stop_time_entry(wid, running.id)
        assert stopped is not None and stopped.duration == 600
        after = client.create_time_entry(
            wid, start=START + timedelta(hours=1), duration=60, project_id=project.id, tags=["kept-tag"]
        )
        assert after.id > running.id  # the id counters were kept too
        assert after.tag_ids == [tag.id]

    with served_client(state_file) as (_, client):
        assert client.time_entry(running.id).duration == 600  # the stop made in the second life was saved
        assert {e.id for e in client.time_entries(start_date=START, end_date=START + timedelta(days=1))} == {
            running.id,
            after.id,
        }


def test_reads_do_not_write_and_deleting_the_file_resets(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with served_client(state_file) as (sim, client):
        wid = client.me().default_workspace_id  # a first-seen credential is a change: saved
        assert wid is not None and state_file.exists()
        state_file.unlink()
        client.me()
        client.projects(wid)
        assert not state_file.exists()
        client.create_project(wid, "Written")
        assert state_file.exists()
        sim.reset()
    with served_client(state_file) as (sim, _):
        assert sim.state.users == {}
    state_file.unlink()
    with served_client(state_file) as (sim, _):
        assert sim.state.users == {}


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"format": "something-else"}', b'{"format": "togglbridge-sim-state"}']
)
def test_a_corrupt_state_file_is_an_error_naming_it(tmp_path: Path, content: bytes) -> None:
    state_file = tmp_path / "broken-state.json"
    state_file.write_bytes(content)
    with pytest.raises(StateFileError, match=r"broken-state\.json"):
        Simulator(state_file=state_file)


def test_the_cli_refuses_a_corrupt_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "broken-state.json"
    state_file.write_bytes(b"\x00garbage")
    result = CliRunner().invoke(sim_cli.sim_command, ["--state", str(state_file), "--port", "0"])
    assert result.exit_code != 0
    assert "broken-state.json" in result.output


def test_the_cli_serves_from_the_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_file = tmp_path / "kept.json"
    user_id = Simulator(state_file=state_file).user_for(token="someone").id  # a new credential is saved
    built: list[Simulator] = []

    class Recorded(Simulator):
        def __init__(
            self, knobs: SimKnobs | None = None, clock: SimClock | None = None, state_file: Path | None = None
        ) -> None:
            super().__init__(knobs, clock, state_file)
            built.append(self)

    monkeypatch.setattr(sim_cli, "Simulator", Recorded)
    monkeypatch.setattr("togglbridge.cli.sim.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(sim_cli.sim_command, ["--state", str(state_file)])
    assert result.exit_code == 0, result.output
    assert "kept.json" in result.output
    assert list(built[0].state.users) == [user_id]
