"""togglbridge: an event-driven automation bridge for Toggl Track."""

__version__ = "0.1.0"
