"""`python -m togglbridge.toggl.sim`: the same as `togglbridge sim`, for benchmarks that start it as a process."""

from togglbridge.toggl.sim.cli import sim_command

if __name__ == "__main__":
    sim_command()
