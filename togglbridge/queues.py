"""The Celery queues' names, shared by the workers, the receiver (which writes to the ingest queue) and status."""

from __future__ import annotations

# By what waits in them: chat commands and calendar starts must not wait behind a commit backfill.
QUEUE_INGEST = "togglbridge.ingest"  # events to plan
QUEUE_TOGGL = "togglbridge.toggl"  # identities whose planned actions are ready to apply
QUEUE_MAINTENANCE = "togglbridge.maintenance"  # beat ticks: wake parked work, sweep stragglers
ALL_QUEUES = (QUEUE_INGEST, QUEUE_TOGGL, QUEUE_MAINTENANCE)

# The tasks' names: the receiver publishes plan tasks by name without importing the workers.
TASK_PLAN = "togglbridge.plan_events"  # on QUEUE_INGEST: plan a delivery's events
TASK_DRAIN = "togglbridge.drain_identity"  # on QUEUE_TOGGL: apply an identity's waiting actions
TASK_TICK = "togglbridge.tick"  # on QUEUE_MAINTENANCE: the beat's tick
TASK_POLL = "togglbridge.poll_calendar"  # on QUEUE_MAINTENANCE: read one calendar feed
TASK_FOLLOW_UP = "togglbridge.chat_follow_up"  # on QUEUE_INGEST: tell a chat what became of a command
TASK_QUEUES = {
    TASK_PLAN: QUEUE_INGEST,
    TASK_DRAIN: QUEUE_TOGGL,
    TASK_TICK: QUEUE_MAINTENANCE,
    TASK_POLL: QUEUE_MAINTENANCE,
    TASK_FOLLOW_UP: QUEUE_INGEST,  # someone is waiting: beside the events, not behind the ticks
}
