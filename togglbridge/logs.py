"""What the processes log: one line per thing that happened, not per heartbeat.

Celery logs INFO lines for every task it receives and finishes and for every run of the beat's tick: every 5 s,
and two or three per event, which drown the lines that matter. Those go to DEBUG: togglbridge logs one INFO
line itself for each action applied or refused and for each event that ends without an action, and the tick
logs when it did something.

The HTTP libraries' own lines stay at WARNING whatever the level: they quote whole URLs, and a calendar feed's
address is a secret (each Toggl request is in the journal anyway).
"""

from __future__ import annotations

import logging

TASK_PREFIX = "togglbridge."  # our tasks' names, as Celery quotes them in its lines
TICK_ENTRY = "togglbridge-tick"  # the beat's schedule entry
# Where Celery writes its per-task lines: on receipt, at the end of a run, and when the beat sends the tick.
TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")
BEAT_LOGGER = "celery.beat"
URL_QUOTING_LOGGERS = ("httpx", "httpcore", "urllib3", "requests", "caldav")


class RoutineToDebug(logging.Filter):
    """Demote routine INFO lines to DEBUG, and drop them unless the process's ``level`` shows DEBUG."""

    def __init__(self, level: int, marker: str) -> None:
        super().__init__()
        self.level = level
        self.marker = marker

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _mentions(record, self.marker):
            return True  # warnings and errors (a task that failed) stay as they are
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.level <= logging.DEBUG


def _mentions(record: logging.LogRecord, marker: str) -> bool:
    try:
        return marker in record.getMessage()
    except Exception:  # a malformed record is not ours to judge
        return False


def quiet_routine(level: str | int) -> None:
    """Install the filters for a process logging at ``level`` (idempotent)."""
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    for name, marker in [*((n, TASK_PREFIX) for n in TASK_LOGGERS), (BEAT_LOGGER, TICK_ENTRY)]:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RoutineToDebug)]:
            logger.removeFilter(old)
        logger.addFilter(RoutineToDebug(numeric, marker))
    for name in URL_QUOTING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
