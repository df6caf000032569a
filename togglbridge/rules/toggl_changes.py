"""What a change made in Toggl itself (``toggl.*`` events from Toggl's webhooks) does before any rule: the bridge
learns it (the running entry, the entry behind the event's subject, a project's id by its name), so a later stop,
``status``, rule or project lookup needs no request to find out. And what it does not do: a change the bridge made itself comes back as an echo, which no rule
sees, so a rule's own change never triggers it again.
"""

from __future__ import annotations

from togglbridge.actions import Action, LearnAction, action_key
from togglbridge.events import Event

BUILTIN_TOGGL_RULE = "builtin:toggl"
ECHO = "echo"  # data flag set when planning: the bridge's own change, come back through Toggl's webhook
LOOPING = "looping"  # data flag: the entry changed too often this hour to let rules change it again


def is_entry_change(event: Event) -> bool:
    return event.kind.startswith("toggl.entry_")


def rules_step_aside(event: Event) -> str | None:
    """Why no rule of the user's runs for this event (None: they run as usual)."""
    if not is_entry_change(event):
        return None
    if event.data.get(ECHO) is True:
        return "an echo of the bridge's own change: rules do not run on it"
    if event.data.get(LOOPING) is True:
        return "the entry changed too many times this hour: rules are cut off for it (a rule pair may loop)"
    return None


def learn_actions(event: Event, identity: str) -> list[Action]:
    """The built-in learning of an entry's or a project's change; [] when the event does not say enough."""
    data = event.data
    workspace_id = data.get("workspace_id")
    if not isinstance(workspace_id, int):
        return []
    common = {
        "identity": identity,
        "key": action_key(event.id, BUILTIN_TOGGL_RULE, 0),
        "event_id": event.id,
        "rule": BUILTIN_TOGGL_RULE,
        "occurred_at": event.occurred_at,
        "subject": event.subject,
        "priority": "urgent",
        "workspace_id": workspace_id,
    }
    project_id, name = data.get("project_id"), data.get("name")
    if event.kind.startswith("toggl.project_") and isinstance(project_id, int) and isinstance(name, str):
        deleted = event.kind == "toggl.project_deleted"
        return [
            LearnAction.model_validate(
                {**common, "project_id": project_id, "project_name": name, "deleted": deleted}
            )
        ]
    entry_id = data.get("entry_id")
    if not is_entry_change(event) or not isinstance(entry_id, int):
        return []
    return [
        LearnAction.model_validate(
            {
                **common,
                "entry_id": entry_id,
                "running": data.get("running") is True and event.kind != "toggl.entry_deleted",
                "deleted": event.kind == "toggl.entry_deleted",
                "start": data.get("start") if isinstance(data.get("start"), str) else None,
                "description": data.get("description") if isinstance(data.get("description"), str) else "",
            }
        )
    ]
