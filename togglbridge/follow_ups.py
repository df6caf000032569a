"""Chat follow-ups: once a worker knows what became of a chat command, the person who typed it is told where they
typed it (Slack's or Mattermost's response URL, Discord's interaction webhook).

The story is the event's journal: no identity, nothing to do, each action applied, refused or waiting for Toggl's
quota. The text is short and says what to do about an error. The address is a secret of the moment
(``store/replies.py``): it appears in no log line, and is forgotten once the command's story is told.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

import httpx
import redis

from togglbridge.actions import (
    Action,
    LogAction,
    ResumeAction,
    StartAction,
    TagAction,
    UntagAction,
)
from togglbridge.chat_text import entry_phrase
from togglbridge.durations import hours_minutes
from togglbridge.sources.base import ReplyChannel
from togglbridge.store import keys, replies, stored_action
from togglbridge.store.journal import Journal

log = logging.getLogger(__name__)

Visibility = Literal["ephemeral", "in_channel"]
TIMEOUT_SECONDS = 5.0
FINAL = frozenset({"applied", "failed", "no identity", "no action"})
CHAT_LISTS = {"slack": "slack", "mattermost": "mattermost", "discord": "discord"}


def follow_up(
    client: redis.Redis,
    journal: Journal,
    event_id: str,
    *,
    http: httpx.Client,
    visibility: Visibility,
    discord_api_url: str,
) -> bool:
    """Tell the person what became of ``event_id``, if the story has news; True when something was sent."""
    summary = journal.summary(event_id) or {}
    outcome = summary.get("outcome")
    records = journal.event(event_id)
    final = outcome in ("no identity", "no action") or (outcome in FINAL and _all_finished(records))
    if not final and outcome != "parked":
        return False  # more to come: the last action's news tells the whole story
    # The final story is told once: the first worker to claim the address tells it.
    channel = replies.claim(client, event_id) if final else replies.channel_of(client, event_id)
    if channel is None:
        return False  # not a chat command, its address expired, or its story was told already
    message = story(client, records, summary)
    if message is None:
        return False
    return deliver(http, channel, message, visibility=visibility, discord_api_url=discord_api_url)


def _all_finished(records: list[dict[str, Any]]) -> bool:
    """Whether every planned action has its end (applied, skipped or refused): a refusal of one is not the end
    of the others."""
    planned = next((r for r in records if r.get("stage") == "planned"), {})
    expected = {str(a.get("key")) for a in planned.get("actions") or []}
    ended = {str(r.get("action")) for r in records if r.get("stage") in ("applied", "skipped", "dead")}
    return expected <= ended


def story(client: redis.Redis, records: list[dict[str, Any]], summary: dict[str, Any]) -> str | None:
    """What to tell: a line per action, or why nothing happened; None when there is nothing to add to the
    immediate answer (``help`` and the like)."""
    outcome = summary.get("outcome")
    planned = next((r for r in records if r.get("stage") == "planned"), {})
    if outcome == "no identity":
        return _stranger(summary)
    if outcome == "no action":
        errors = planned.get("errors") or []
        return str(errors[0]).split(": ", 1)[-1] if errors else None
    lines = []
    for record in records:
        stage = record.get("stage")
        key = str(record.get("action") or "")
        if stage == "applied":
            lines.append(_applied(_action(client, key), record))
        elif stage == "dead":
            lines.append(
                f"Toggl refused it: {record.get('message') or 'no reason given'}. Nothing was changed."
            )
        elif stage == "parked" and outcome == "parked":
            lines.append(
                f"Toggl's hourly quota is spent: this waits {_wait(record)}, then goes ahead by itself."
            )
    return "\n".join(line for line in lines if line) or None


def _stranger(summary: dict[str, Any]) -> str:
    platform = str(summary.get("source") or "chat")
    user = str(summary.get("actor") or "")
    listing = CHAT_LISTS.get(platform, platform)
    return (
        f"I don't know you yet, so nothing was sent to Toggl. Ask whoever runs togglbridge to add "
        f"`{listing}: [{user}]` to your identity in the rule file."
    )


def _applied(action: Action | None, record: dict[str, Any]) -> str:
    result = record.get("result")
    notes = [str(note) for note in record.get("notes") or []]
    if result == "reported":
        return "\n".join(notes)
    if result == "skipped":
        return _skipped(action, notes)
    if action is not None and action.type == "undo" and notes:
        return f"Undone: {notes[0].split(': ', 1)[-1]}."
    if isinstance(action, ResumeAction) and notes:
        return f"Resumed {notes[0].removeprefix('resumed ')}."
    if isinstance(action, StartAction):
        return f"Started {entry_phrase(action.description, action.project, action.tags)}."
    if isinstance(action, LogAction):
        spent = hours_minutes(action.duration_seconds or 0)
        return f"Logged {spent} {entry_phrase(action.description, action.project, action.tags)}."
    if isinstance(action, TagAction | UntagAction):
        verb = "Tagged" if isinstance(action, TagAction) else "Untagged"
        return f"{verb} your running entry {' '.join('#' + tag for tag in action.tags)}."
    if result == "stopped":
        return _stopped(record.get("entry"))
    return f"Done ({result})."


def _skipped(action: Action | None, notes: list[str]) -> str:
    if action is not None and action.type in ("stop", "tag", "untag"):
        return "Nothing is running, so there was nothing to " + action.type + "."
    if not notes:
        return "Nothing to do."
    note = notes[0][:1].upper() + notes[0][1:]
    return note if note.endswith((".", "!", "?")) else note + "."


def _wait(record: dict[str, Any]) -> str:
    resume_in = record.get("resume_in")
    if isinstance(resume_in, int | float):
        return f"about {max(1, round(resume_in / 60))} min"
    return "until the quota resets"


def _action(client: redis.Redis, key: str) -> Action | None:
    raw = client.get(keys.action(key)) if key else None
    return stored_action.load(key, raw) if raw is not None else None


def _stopped(entry: Any) -> str:
    """What a stop's outcome says of the entry it stopped (a timer started elsewhere carries none)."""
    try:
        start, stop = datetime.fromisoformat(entry["start"]), datetime.fromisoformat(entry["stop"])
        what = entry_phrase(str(entry["description"]), None, tuple(str(tag) for tag in entry["tags"]))
    except (TypeError, KeyError, ValueError):
        return "Stopped your running entry."
    return f"Stopped {what} after {hours_minutes((stop - start).total_seconds())}."


def deliver(
    http: httpx.Client, channel: ReplyChannel, message: str, *, visibility: Visibility, discord_api_url: str
) -> bool:
    """Post the follow-up where the platform takes it; a failure is logged (without the address) and dropped."""
    try:
        if channel.platform == "discord":
            url = f"{discord_api_url.rstrip('/')}/webhooks/{channel.application_id}/{channel.token}/messages/@original"
            response = http.patch(url, json={"content": message}, timeout=TIMEOUT_SECONDS)
        else:
            body: dict[str, object] = {"response_type": visibility, "text": message}
            if channel.platform == "slack":
                body["replace_original"] = False
            response = http.post(channel.url or "", json=body, timeout=TIMEOUT_SECONDS)
    except Exception as exc:  # a network failure, or an address the sender made up that httpx cannot use
        log.warning("could not send the %s follow-up: %s", channel.platform, type(exc).__name__)
        return False
    if response.is_error:
        log.warning("the %s follow-up was refused: HTTP %d", channel.platform, response.status_code)
        return False
    return True
