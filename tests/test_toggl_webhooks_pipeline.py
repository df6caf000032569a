"""Two-way with Toggl, end to end: `togglbridge toggl-webhooks subscribe` against the simulator (its validation ping
answered by the real receiver), an entry made in Toggl "by hand" (the simulator's API, as the app would) arriving as
a signed webhook, a rule giving it a project and a tag through a real worker, and the bridge's own changes coming
back as echoes that no rule sees; a timer stopped in the app is known without a request."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.pipeline_support import running_pipeline, wait_for
from togglbridge.cli import main
from togglbridge.store.journal import Journal
from togglbridge.toggl.sim import Simulator

pytestmark = pytest.mark.integration

SECRET = "toggl-webhook-test-secret-0123456789"


def rules(identity: str, user_id: int) -> str:
    return f"""
defaults: {{created_with: togglbridge-tests}}
identities:
  {identity}: {{toggl_user: ["{user_id}"]}}
rules:
  - name: standups go to Meetings
    on: toggl.entry_created
    if: {{description: {{regex: '(?i)standup'}}}}
    do:
      - update: {{target: subject, project: Meetings}}
      - tag: {{tags: [meeting], target: subject}}
  - name: quick calls are stopped by the bridge
    on: toggl.entry_created
    if: {{description: Quick call}}
    do:
      - stop: {{}}
"""


def as_the_app(sim_url: str, identity: str, method: str, path: str, body: Any = None) -> Any:
    """A person's request in Toggl's app: the same account, not through the bridge."""
    headers = {"Authorization": "Bearer simulator", "Maton-Connection": identity}
    response = httpx.request(
        method, f"{sim_url}/toggl-track/api/v9{path}", json=body, headers=headers, timeout=10
    )
    response.raise_for_status()
    return response.json() if response.content else None


def test_a_manual_entry_gets_the_rules_changes_once_and_a_stop_in_the_app_is_known(
    redis_url: str, tmp_path: Path
) -> None:
    identity = f"alice-{uuid.uuid4().hex[:6]}"
    sim = Simulator()
    user = sim.user_for(api_key="simulator", connection=identity)
    with running_pipeline(
        redis_url, rules(identity, user.id), tmp_path, [identity], sim=sim,
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"}, source_secrets={"toggl": SECRET},
    ) as pipeline:  # fmt: skip
        env = {
            "TOGGLBRIDGE_SIMULATOR_URL": pipeline.sim_url,
            "TOGGLBRIDGE_TOGGL_WEBHOOK_SECRET": SECRET,
            "TOGGLBRIDGE_CONFIG_FILE": str(tmp_path / "togglbridge.yaml"),
        }
        subscribed = CliRunner().invoke(main, ["toggl-webhooks", "subscribe", "--url", pipeline.url], env=env)
        assert subscribed.exit_code == 0, subscribed.output
        listed = CliRunner().invoke(main, ["toggl-webhooks", "list"], env={**env, "COLUMNS": "200"})
        assert (
            f"{pipeline.url}/hooks/toggl" in listed.output and SECRET not in listed.output + subscribed.output
        )
        workspace = as_the_app(pipeline.sim_url, identity, "GET", "/me")["default_workspace_id"]

        def validated() -> bool:
            url = f"{pipeline.sim_url}/toggl-track/webhooks/api/v1/subscriptions/{workspace}"
            headers = {"Authorization": "Bearer simulator", "Maton-Connection": identity}
            (subscription,) = httpx.get(url, headers=headers, timeout=10).json()
            return subscription["validated_at"] is not None

        wait_for(validated, timeout=30, what="the subscription's validation ping to be answered")
        made = as_the_app(pipeline.sim_url, identity, "POST", f"/workspaces/{workspace}/time_entries", {
            "description": "Daily standup", "start": "2026-11-30T09:00:00Z", "duration": -1, "workspace_id": workspace,
            "created_with": "Toggl Track",
        })  # fmt: skip

        def entry() -> dict[str, Any]:
            return dict(as_the_app(pipeline.sim_url, identity, "GET", f"/me/time_entries/{made['id']}"))

        done = wait_for(lambda: (e := entry())["tags"] == ["meeting"] and e["project_id"] and e, timeout=60,
                        what="the rule's changes")  # fmt: skip
        assert done["description"] == "Daily standup"
        journal = Journal(pipeline.redis, cap=10_000)

        def toggl_events() -> list[dict[str, Any]]:
            return [
                s
                for s in journal.recent(200)
                if s.get("source") == "toggl" and str(s.get("kind")).startswith("toggl.entry")
            ]

        # the bridge's update and tag come back: learned, and no rule runs on them
        wait_for(lambda: len(toggl_events()) >= 3, timeout=60, what="the echoes of the bridge's changes")
        ran = [
            e
            for e in toggl_events()
            if "logged" in str(e.get("summary")) or "updated" in str(e.get("summary"))
        ]
        assert len(ran) == 1, toggl_events()
        assert entry()["tags"] == ["meeting"]

        # Stopped in the app: the bridge learns it from the webhook; its knowledge says nothing runs.
        as_the_app(
            pipeline.sim_url, identity, "PATCH", f"/workspaces/{workspace}/time_entries/{made['id']}/stop"
        )
        from togglbridge.store.identity_state import IdentityState

        wait_for(lambda: IdentityState(pipeline.redis, identity).running() is None, timeout=60,
                 what="the stop made in the app to be known")  # fmt: skip
        # The project the rule made came back as a webhook too: its id is known by name without a listing.
        wait_for(lambda: IdentityState(pipeline.redis, identity).project_id("Meetings") == done["project_id"],
                 timeout=60, what="the project's id learned")  # fmt: skip

        # Started in the app, then stopped by a rule: the bridge knows what runs from the webhook, so the stop is
        # one request and it never asks Toggl what runs.
        quick = as_the_app(pipeline.sim_url, identity, "POST", f"/workspaces/{workspace}/time_entries", {
            "description": "Quick call", "start": "2026-11-30T10:00:00Z", "duration": -1, "workspace_id": workspace,
            "created_with": "Toggl Track",
        })  # fmt: skip
        wait_for(lambda: as_the_app(pipeline.sim_url, identity, "GET", f"/me/time_entries/{quick['id']}")["stop"],
                 timeout=60, what="the rule's stop")  # fmt: skip
        assert sim.stats.count("GET", "/me/time_entries/current") == 0

        removed = CliRunner().invoke(main, ["toggl-webhooks", "unsubscribe", "--url", pipeline.url], env=env)
        assert removed.exit_code == 0 and "removed subscription" in removed.output, removed.output
        again = CliRunner().invoke(main, ["toggl-webhooks", "unsubscribe", "--url", pipeline.url], env=env)
        assert "no subscription matched" in again.output
