"""What a worker does as it starts, before any task: the objects loaded by then leave the garbage collector's
reach (``workers/app.py``), in the worker and in the pool processes it forks."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from workers.app import app, configure


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite collects as before


def test_a_starting_worker_freezes_what_it_has_loaded(unfrozen: None, redis_url: str) -> None:
    configure(app, redis_url)
    assert gc.get_freeze_count() == 0
    # Celery's own worker controller, as `togglbridge worker` builds it: its start sends worker_init.
    app.WorkController(hostname="freeze@test", pool_cls="solo", concurrency=1)
    assert gc.get_freeze_count() > 10_000  # the modules, schemas and the app loaded so far
