"""A faithful, fast, deterministic simulator of Toggl Track API v9, as reached directly or via the Maton gateway.

    from togglbridge.toggl.sim import Simulator, SimKnobs, SimClock, serve_in_thread

    sim = Simulator(knobs=SimKnobs(autostop=False), clock=SimClock(datetime(2024, 1, 1, tzinfo=UTC)))
    with serve_in_thread(sim) as base_url:
        ...  # base_url + "/toggl-track/api/v9/me" or base_url + "/api/v9/me"

`Simulator(state_file=path)` keeps its state in a file across restarts (delete the file to reset it).

It also serves Toggl's Webhooks API v1 and sends signed deliveries of time entry and project changes to
validated subscribers (webhooks.py, delivery.py); `sim.webhooks.wait_idle(timeout)` waits until all are sent.

Tests, benchmarks and the bridge's embedded default (no Toggl credentials given) all run against it.
See simulator.py for the order in which auth, limits, quota and injected errors apply.
"""

from togglbridge.toggl.sim.knobs import SimClock, SimKnobs
from togglbridge.toggl.sim.persistence import StateFileError
from togglbridge.toggl.sim.server import serve_in_thread
from togglbridge.toggl.sim.simulator import Simulator

__all__ = ["SimClock", "SimKnobs", "Simulator", "StateFileError", "serve_in_thread"]
