"""Toggl Track: the gateway client, its models and errors, and the simulator."""
