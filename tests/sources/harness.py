"""The harness every source's tests share: signed deliveries made from fixtures, and golden events.

A fixture is ``tests/fixtures/<source>/<event>__<variant>.json``, the body a sender sends. Its golden file,
``<event>__<variant>.events.json`` beside it, holds the events the source makes of it, as JSON. The request is
built from the fixture's name: the source's own headers for ``<event>`` (``SENDERS``), a delivery id made from
the name (so the goldens never change from run to run), the body signed with the source's ``sign``; the receipt
time is ``RECEIVED_AT``. ``pytest --update-golden`` writes the golden files anew; without it, a fixture without a
golden file fails.

A new source adds its ``Sender`` to ``SENDERS``, its fixtures, and a test module that calls ``assert_golden`` for
each (see ``test_github.py``). The strategies at the end feed the hostile-input tests of every source.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from togglbridge.events import Event
from togglbridge.sources import SOURCES, Source
from togglbridge.sources.signing import public_key_hex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN_SUFFIX = ".events.json"
RECEIVED_AT = datetime(2026, 11, 2, 12, 0, 5, tzinfo=UTC)
# Discord signs with its private key and the receiver checks with the public one: a fixed test key, made from a seed
DISCORD_PRIVATE_KEY = hashlib.sha256(b"togglbridge discord test key").hexdigest()
DISCORD_PUBLIC_KEY = public_key_hex(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(DISCORD_PRIVATE_KEY)))


@dataclass(frozen=True)
class Sender:
    """How a source's sender makes a delivery of an event: its headers before signing, and its secret."""

    source: Source
    secret: str
    headers: Callable[[str, str], dict[str, str]]  # (event, delivery id) -> the headers it sends
    signing_secret: str | None = None
    """What the sender signs with when it is not ``secret`` (Discord's private key: ``secret`` is then the
    public key the receiver checks with)."""

    def signed_headers(
        self, event: str, body: bytes, delivery: str, now: datetime | None = None
    ) -> dict[str, str]:
        """The headers of a delivery of ``body``, signed as the sender signs it (``now``: the signing time)."""
        unsigned = {"Content-Type": self.source.content_types[0], **self.headers(event, delivery)}
        key = self.signing_secret or self.secret
        return self.source.sign(unsigned, body, key, now or datetime.now(UTC))


SENDERS: dict[str, Sender] = {
    "gitea": Sender(
        SOURCES["gitea"],
        secret="gitea-test-secret",
        headers=lambda event, delivery: {"X-Gitea-Event": event, "X-Gitea-Delivery": delivery},
    ),
    # Forgejo's deliveries reach the gitea source; its fixtures (tests/fixtures/forgejo/) carry Forgejo's headers
    # only. The same secret as gitea's: the receiver under test has one secret per source.
    "forgejo": Sender(
        SOURCES["gitea"],
        secret="gitea-test-secret",
        headers=lambda event, delivery: {"X-Forgejo-Event": event, "X-Forgejo-Delivery": delivery},
    ),
    "bitbucket": Sender(
        SOURCES["bitbucket"],
        secret="bitbucket-test-secret",
        # <event> is the X-Event-Key without its "repo:" (repo:push: push__main.json)
        headers=lambda event, delivery: {"X-Event-Key": f"repo:{event}", "X-Request-UUID": delivery},
    ),
    "github": Sender(
        SOURCES["github"],
        secret="It's a Secret to Everybody",
        headers=lambda event, delivery: {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery},
    ),
    "generic": Sender(
        SOURCES["generic"],
        secret="whsec_" + base64.b64encode(b"generic-test-secret-0123456789").decode(),
        headers=lambda event, delivery: {"webhook-id": delivery},  # the kind is in the body
    ),
    "git": Sender(
        SOURCES["git"],
        secret="git-hook-test-secret-0123456789",
        headers=lambda event, delivery: {"X-Togglbridge-Delivery": delivery},  # one kind of delivery: commits
    ),
    "slack": Sender(
        SOURCES["slack"],
        secret="slack-test-signing-secret-0123456789",
        # Slack names neither the event nor the delivery in headers: both are in the form
        headers=lambda event, delivery: {},
    ),
    "mattermost": Sender(
        SOURCES["mattermost"],
        secret="mattermost-test-token-0123456789",  # the fixtures' token field carries it too
        # Mattermost posts a form; a fixture is its fields as a JSON object, which the source reads as well
        # (test_mattermost.py checks that the form of each makes the same events)
        headers=lambda event, delivery: {"Content-Type": "application/json"},
    ),
    "discord": Sender(
        SOURCES["discord"],
        secret=DISCORD_PUBLIC_KEY,
        signing_secret=DISCORD_PRIVATE_KEY,
        headers=lambda event, delivery: {},  # the interaction's type and id are in the body
    ),
    "gitlab": Sender(
        SOURCES["gitlab"],
        secret="gitlab-test-token",
        # <event> is the payload's object_kind (push__main.json, tag_push__created.json), sent as GitLab names it
        headers=lambda event, delivery: {
            "X-Gitlab-Event": {"push": "Push Hook", "tag_push": "Tag Push Hook"}.get(event, event),
            "Idempotency-Key": delivery,
        },
    ),
    "toggl": Sender(
        SOURCES["toggl"],
        secret="toggl-test-webhook-secret",
        # Toggl names neither the event nor the delivery in headers: metadata and event_id are in the body
        headers=lambda event, delivery: {},
    ),
}


# -- fixtures and goldens ---------------------------------------------------------------------------------------


def fixtures(source: str) -> list[Path]:
    """The source's fixture bodies (not their goldens), by name."""
    return sorted(p for p in (FIXTURES / source).glob("*.json") if not p.name.endswith(GOLDEN_SUFFIX))


def each_fixture(source: str) -> pytest.MarkDecorator:
    """Parametrize a test over the source's fixtures, each named by its stem."""
    paths = fixtures(source)
    return pytest.mark.parametrize("fixture", paths, ids=[p.stem for p in paths])


def golden_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.stem + GOLDEN_SUFFIX)


def event_type(fixture: Path) -> str:
    """``<event>`` of ``<event>__<variant>.json``."""
    event, separator, _ = fixture.stem.partition("__")
    assert separator, f"{fixture.name}: a fixture is named <event>__<variant>.json"
    return event


def delivery_id(fixture: Path) -> str:
    """A delivery id made from the fixture's name: the same on every run, different for every fixture."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"togglbridge-fixture:{fixture.parent.name}/{fixture.stem}"))


def request(fixture: Path) -> tuple[dict[str, str], bytes]:
    """The signed delivery of a fixture: its headers and body."""
    body = fixture.read_bytes()
    sender = SENDERS[fixture.parent.name]
    return sender.signed_headers(event_type(fixture), body, delivery_id(fixture)), body


def receive(fixture: Path) -> list[Event]:
    """What the receiver does with a fixture's delivery: verify its signature, then parse it."""
    headers, body = request(fixture)
    sender = SENDERS[fixture.parent.name]
    sender.source.verify(headers, body, sender.secret, datetime.now(UTC))
    return sender.source.parse(headers, body, RECEIVED_AT)


def events_json(events: list[Event]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in events], indent=2, ensure_ascii=False) + "\n"


def assert_golden(fixture: Path, update: bool) -> None:
    """The fixture's events are its golden file's (which ``update`` writes instead)."""
    made = events_json(receive(fixture))
    golden = golden_path(fixture)
    if update:
        golden.write_text(made)
        return
    assert golden.exists(), f"{golden.name} is missing: write it with `pytest --update-golden` and review it"
    assert json.loads(made) == json.loads(golden.read_text()), (
        f"{fixture.name} no longer makes the events of {golden.name}: if the change is meant, "
        "`pytest --update-golden` and review the diff"
    )


def orphan_goldens(source: str) -> list[str]:
    """Golden files whose fixture is gone."""
    return sorted(
        p.name
        for p in (FIXTURES / source).glob(f"*{GOLDEN_SUFFIX}")
        if not p.with_name(p.name.removesuffix(GOLDEN_SUFFIX) + ".json").exists()
    )


# -- strategies for hostile input, shared by every source's hostile tests and the receiver's -------------------

EXPLORE = os.environ.get("TOGGLBRIDGE_FUZZ_EXPLORE") == "1"


def fuzz(examples: int) -> settings:
    """Hypothesis settings for the hostile-input tests: derandomized (CI sees the same examples on every run, so a
    failure is a bug, never bad luck), no example database, no deadline (timing is not what is tested).
    ``TOGGLBRIDGE_FUZZ_EXPLORE=1`` draws fresh examples, ten times as many, for hunting locally."""
    return settings(
        max_examples=examples * 10 if EXPLORE else examples,
        derandomize=not EXPLORE,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# Event data holds 64-bit integers (events.py refuses wider ones); wider integers get their own cases.
int64 = st.integers(-(2**63), 2**63 - 1)
json_scalars = (
    st.none()
    | st.booleans()
    | int64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)
odd_values = st.one_of(
    json_values,
    st.sampled_from(["", " ", "\u0000", "\u202e", "🙂" * 50, "refs/heads/", "0" * 40, "-1", "null"]),
    st.sampled_from([0, -1, 2**63, -(2**63), 1e308, -1e308, 0.5, True, False, None, [], {}]),
)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document (dict keys and list indexes), the root excluded."""
    paths: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        paths.append((*prefix, key))
        paths.extend(json_paths(item, (*prefix, key)))
    return paths


DELETE = object()
"""For ``edited``: remove the field at the path instead of setting it."""


def edited(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of ``payload`` with the field at ``path`` set to ``value``, or removed (``DELETE``)."""
    return _edit(copy.deepcopy(payload), path, value)


def _edit(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return payload


def odd_edits(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` (a source's fixture) with one to four of its fields given values of the wrong type, or removed."""
    paths = json_paths(base)

    @st.composite
    def odd(draw: st.DrawFn) -> dict[str, Any]:
        payload = copy.deepcopy(base)
        for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4)):
            try:
                payload = _edit(payload, path, draw(odd_values | st.just(DELETE)))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier edit removed or replaced this path's parent
        return payload

    return odd()
