"""The Celery queues' names, shared by the workers, the receiver (which writes to the ingest queue) and status."""

from __future__ import annotations

# By what waits in them: chat commands and calendar starts must not wait behind a commit backfill.
QUEUE_INGEST = "togglbridge.ingest"  # events to plan
QUEUE_TOGGL = "togglbridge.toggl"  # identities whose planned actions are ready to apply
QUEUE_MAINTENANCE = "togglbridge.maintenance"  # beat ticks: wake parked work, sweep stragglers
ALL_QUEUES = (QUEUE_INGEST, QUEUE_TOGGL, QUEUE_MAINTENANCE)
