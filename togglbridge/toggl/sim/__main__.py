"""``python -m togglbridge.toggl.sim``: the simulator on its own, without the bridge (``togglbridge sim`` is the
same with the bridge's CLI around it). The options are ``togglbridge sim``'s; their ranges are checked there."""

from __future__ import annotations

import argparse
from pathlib import Path

from togglbridge.toggl.sim.knobs import SimKnobs
from togglbridge.toggl.sim.persistence import StateFileError
from togglbridge.toggl.sim.server import banner, base_url, serve_forever
from togglbridge.toggl.sim.simulator import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m togglbridge.toggl.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s per credential (429)")
    parser.add_argument("--bucket-capacity", type=int, default=2)
    parser.add_argument("--quota-per-hour", type=int, default=None, help="requests per credential (402)")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--autostop", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state", dest="state_file", type=Path, default=None, help="keep the state in FILE")
    options = vars(parser.parse_args(argv))
    host, port, state_file = options.pop("host"), options.pop("port"), options.pop("state_file")
    try:
        sim = Simulator(knobs=SimKnobs(**options), state_file=state_file)
    except StateFileError as exc:
        parser.exit(1, f"{exc}\n")
    print(banner(base_url(host, port), state_file), flush=True)
    serve_forever(sim, host, port)


if __name__ == "__main__":
    main()
