"""The built-in chat commands end to end: signed Slack commands over real HTTP to the receiver, a real worker, the
simulator, and each follow-up at a recording server (Slack's response_url): status, log, tag, today, resume and
undo. (start, stop, the Stop button and strangers: tests/test_slack_pipeline.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.pipeline_support import Pipeline, running_pipeline, wait_for
from tests.test_slack_pipeline import SECRET, Recorder, command_body, send
from togglbridge.serving import serve_in_thread

pytestmark = pytest.mark.integration

USER = "UCOMMANDS1"


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[Recorder, str]]:
    from starlette.applications import Starlette
    from starlette.routing import Route

    recorder = Recorder()
    app = Starlette(routes=[Route("/{path:path}", recorder.record, methods=["POST"])])
    with serve_in_thread(app, name="slack") as url:
        yield recorder, url


@pytest.fixture(scope="module")
def pipeline(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    name = f"commands-{uuid.uuid4().hex[:6]}"
    rule_file = (
        "defaults: {created_with: togglbridge-tests, timezone: Europe/Berlin}\n"
        f"identities:\n  {name}:\n    slack: [{USER}]\n"
        "chat: {tags: [chat]}\nrules: []\n"
    )
    with running_pipeline(
        redis_server.url, rule_file, tmp_path_factory.mktemp("commands"), [name],
        extra_env={"TOGGLBRIDGE_TOGGL_RATE_LIMIT": "off"}, source_secrets={"slack": SECRET},
    ) as running:  # fmt: skip
        yield running


def ask(pipeline: Pipeline, chat: tuple[Recorder, str], text: str) -> str:
    """Type ``/toggl <text>``; the immediate answer, then the follow-up the worker posted."""
    recorder, url = chat
    path = f"/response/{uuid.uuid4().hex}"
    answer = send(pipeline, command_body(USER, text, url + path))
    assert answer.status_code == 200, answer.text
    assert answer.json()["response_type"] == "ephemeral"
    (told,) = wait_for(lambda: recorder.at(path), timeout=60, what=f"the follow-up of {text!r}")
    return str(told["text"])


def entries(pipeline: Pipeline) -> list[Any]:
    return sorted((e for e in pipeline.sim.state.entries.values() if not e.deleted), key=lambda e: e.start)


def test_each_command_is_done_and_told(pipeline: Pipeline, chat: tuple[Recorder, str]) -> None:
    assert ask(pipeline, chat, "status") == "Nothing is running.\nToday: 0m."

    assert ask(pipeline, chat, "log 1h30m Review @Acme #code yesterday at 14:00") == (
        "Logged 1h 30m “Review” @Acme #code #chat."
    )
    (logged,) = entries(pipeline)
    assert (logged.description, logged.duration) == ("Review", 5400)

    assert ask(pipeline, chat, "start Write report @Acme") == "Started “Write report” @Acme #chat."
    assert ask(pipeline, chat, "tag #deep") == "Tagged your running entry #deep."
    status = ask(pipeline, chat, "status")
    assert status.startswith("Running: “Write report” @Acme") and "#deep" in status

    today = ask(pipeline, chat, "today").splitlines()
    assert today[0].startswith("Today: ") and today[1].startswith("Acme: ")

    stopped = ask(pipeline, chat, "stop")
    assert stopped.startswith("Stopped “Write report”")
    assert ask(pipeline, chat, "resume") == "Resumed “Write report”."
    assert len(entries(pipeline)) == 3 and entries(pipeline)[-1].stop is None

    assert ask(pipeline, chat, "undo") == "Undone: deleted the entry I started."
    assert len(entries(pipeline)) == 2 and all(e.stop is not None for e in entries(pipeline))
    assert ask(pipeline, chat, "undo") == "Nothing I did in the last 10 minutes to undo."
