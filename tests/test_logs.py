"""What the processes log: Celery's routine lines go to DEBUG, warnings stay, demo secrets are named."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from togglbridge.demo import DEMO_SECRETS, demo_secrets_in_use
from togglbridge.logs import URL_QUOTING_LOGGERS, quiet_routine
from togglbridge.queues import TASK_DRAIN, TASK_TICK
from togglbridge.sources.secrets import SourceSecrets

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def captured() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield records
    root.removeHandler(handler)
    for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).filters.clear()
    for name in URL_QUOTING_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)  # other tests read httpx's lines


def test_the_http_libraries_never_log_urls_even_at_debug() -> None:
    try:
        for level in ("INFO", "DEBUG"):
            quiet_routine(level)
            for name in URL_QUOTING_LOGGERS:
                assert not logging.getLogger(name).isEnabledFor(logging.INFO), (level, name)
    finally:
        for name in URL_QUOTING_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)


def test_routine_task_lines_are_dropped_at_info_and_kept_as_debug_at_debug(
    captured: list[logging.LogRecord],
) -> None:
    trace = logging.getLogger("celery.app.trace")
    trace.setLevel(logging.DEBUG)
    quiet_routine("INFO")
    trace.info(f"Task {TASK_TICK}[abc] succeeded in 0.001s: None")
    trace.error(f"Task {TASK_DRAIN}[abc] raised unexpected: KeyError")
    assert [r.levelname for r in captured] == ["ERROR"]

    captured.clear()
    quiet_routine("DEBUG")
    trace.info(f"Task {TASK_TICK}[abc] succeeded in 0.001s: None")
    assert [(r.levelname, r.getMessage().partition("[")[0]) for r in captured] == [
        ("DEBUG", f"Task {TASK_TICK}")
    ]


def test_the_beat_line_is_quiet_only_for_the_tick(captured: list[logging.LogRecord]) -> None:
    beat = logging.getLogger("celery.beat")
    beat.setLevel(logging.DEBUG)
    quiet_routine("INFO")
    beat.info(f"Scheduler: Sending due task togglbridge-tick ({TASK_TICK})")
    beat.info("Scheduler: Sending due task someone-elses-task (other.task)")
    assert [r.getMessage() for r in captured] == [
        "Scheduler: Sending due task someone-elses-task (other.task)"
    ]


def test_demo_secrets_are_named_never_shown() -> None:
    assert demo_secrets_in_use(SourceSecrets.of(github=DEMO_SECRETS["github"])) == ["github"]
    assert demo_secrets_in_use(SourceSecrets.of(github="mine")) == []


def test_make_run_uses_the_demo_secrets_the_bridge_warns_about() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for secret in DEMO_SECRETS.values():
        assert secret in makefile
