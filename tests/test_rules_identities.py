"""Identities from real GitHub deliveries: a login under github: owns the pushes and the commits of that person,
and an event that maps to nobody says which list of an identity each of its actor's names belongs in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent

import pytest

from togglbridge.config import Config, parse_config
from togglbridge.events import ActorHandle, Event
from togglbridge.rules.identities import identify, identity_candidates, no_identity_note, resolve_identity
from togglbridge.rules.planner import plan
from togglbridge.sources.github import SOURCE as GITHUB

FIXTURES = Path(__file__).parent / "fixtures" / "github"


def github_events(name: str) -> list[Event]:
    body = (FIXTURES / f"{name}.json").read_bytes()
    return GITHUB.parse({"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}, body)


def config(identities: str) -> Config:
    return parse_config(dedent(identities) + "\n  someone-else: {emails: [else@acme.io]}\n")


GITHUB_LOGIN_ONLY = """
identities:
  coder:
    github: [Codertocat]
"""


@pytest.mark.parametrize("fixture", ["push__with_new_branch", "push__with_no_username_committer"])
def test_a_github_login_owns_the_push_and_the_commit(fixture: str) -> None:
    events = github_events(fixture)
    assert [e.kind for e in events] == ["git.push", "git.commit"]
    assert [resolve_identity(e, config(GITHUB_LOGIN_ONLY)) for e in events] == ["coder", "coder"]


def test_a_deleted_tag_is_owned_by_the_pushers_login() -> None:
    (push,) = github_events("push__tag_deleted_octokit")
    assert resolve_identity(push, config(GITHUB_LOGIN_ONLY)) == "coder"


def test_the_push_carries_the_pushers_login_once() -> None:
    push, commit = github_events("push__with_new_branch")
    assert push.actor == "21031067+Codertocat@users.noreply.github.com"
    assert push.actor_handles == (ActorHandle(platform="github", handle="Codertocat"),)
    assert commit.actor_handles == (ActorHandle(platform="github", handle="Codertocat"),)


def test_handles_are_tried_after_the_actor_on_its_platform_and_before_email() -> None:
    push, _ = github_events("push__with_new_branch")
    email = "21031067+Codertocat@users.noreply.github.com"
    assert identity_candidates(push) == [
        ("github", email),
        ("github", "Codertocat"),
        ("email", email),
        ("alias", email),
    ]


def test_an_email_still_maps_a_push() -> None:
    by_email = """
    identities:
      coder:
        emails: [21031067+codertocat@users.noreply.github.com]
    """
    assert [resolve_identity(e, config(by_email)) for e in github_events("push__with_new_branch")] == [
        "coder",
        "coder",
    ]


def test_the_note_puts_a_login_under_github_and_an_email_under_emails() -> None:
    push, _ = github_events("push__with_new_branch")
    note = no_identity_note(push)
    assert note.startswith("no identity: github actor '21031067+Codertocat@users.noreply.github.com'")
    assert (
        "add 'Codertocat' under github: or '21031067+Codertocat@users.noreply.github.com' under emails:"
        in note
    )


def event(source: str, actor: str, *handles: ActorHandle) -> Event:
    when = datetime(2024, 5, 2, tzinfo=UTC)
    return Event(id="e", source=source, kind="x.y", occurred_at=when, actor=actor, actor_handles=handles)


@pytest.mark.parametrize(
    ("source", "actor", "expected"),
    [
        ("slack", "U024BE7LH", "add 'U024BE7LH' under slack:"),
        ("gitlab", "bob", "add 'bob' under gitlab:"),
        ("generic", "ci-bot", "add 'ci-bot' under aliases:"),
        ("generic", "bob@acme.io", "add 'bob@acme.io' under emails:"),
    ],
)
def test_the_note_names_the_one_list_a_name_belongs_in(source: str, actor: str, expected: str) -> None:
    assert expected in no_identity_note(event(source, actor))


def test_any_source_can_give_handles_of_another_platform() -> None:
    # e.g. a GitLab source giving the author's GitLab username beside the commit email
    commit = event("gitlab", "bob@private.example", ActorHandle(platform="gitlab", handle="bob"))
    bob = parse_config("identities:\n  bob: {gitlab: [bob]}\n  ann: {emails: [ann@x.io]}\n")
    assert resolve_identity(commit, bob) == "bob"


def test_the_plan_says_why_an_event_is_an_identitys() -> None:
    push, _commit = github_events("push__with_new_branch")
    assert identify(push, config(GITHUB_LOGIN_ONLY)) == (
        "coder",
        "'Codertocat' is listed under coder's github",
    )
    nobody = config("identities:\n  stranger: {github: [someone]}")
    assert identify(push, nobody) == (None, None)
    assert (
        plan(push, config(GITHUB_LOGIN_ONLY)).identity_reason == "'Codertocat' is listed under coder's github"
    )
