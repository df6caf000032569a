"""The git hook's client and its command line, on real git repositories: the repository's name from its origin,
the commit it reads, the spool, what it sends and what it keeps, and install/uninstall/status (core.hooksPath, a
hook already there, byte for byte after uninstall)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.git_hook_support import closed_port_url, commit, new_repo, run_git
from togglbridge import git_hook_client as client
from togglbridge.cli import main
from togglbridge.cli.git_hook import CHAINED_NAME, HookError, hook_paths, install, uninstall
from togglbridge.git_repo import full_name_from_url, web_url
from togglbridge.sources import PayloadError, SignatureError
from togglbridge.sources.git_hook import SOURCE

SECRET = "git-hook-client-test-secret-0123"
ORIGIN = "git@github.com:acme/webapp.git"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's own git calls see neither the user's configuration nor a secret from the environment."""
    for name in list(os.environ):
        if name.startswith("GIT_") or name == client.SECRET_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repo(tmp_path / "webapp", origin=ORIGIN)


# -- the repository's name ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("git@github.com:acme/webapp.git", "acme/webapp"),
        ("git@github.com:acme/webapp", "acme/webapp"),
        ("github.com:acme/webapp.git", "acme/webapp"),
        ("https://github.com/acme/webapp.git", "acme/webapp"),
        ("https://github.com/acme/webapp/", "acme/webapp"),
        ("https://x-access-token:ghp_abc@github.com/acme/webapp.git", "acme/webapp"),
        ("https://gitlab.com/group/sub/proj.git", "group/sub/proj"),
        ("ssh://git@gitlab.com:2222/group/sub/proj.git", "group/sub/proj"),
        ("ssh://git@github.com/acme/webapp.git", "acme/webapp"),
        ("git://example.org/acme/webapp.git", "acme/webapp"),
        ("ssh://git@bitbucket.example.org:7999/scm/proj/repo.git", "proj/repo"),
        ("/srv/git/webapp.git", None),
        ("../webapp", None),
        ("./a:b/c", None),
        ("file:///srv/git/acme/webapp.git", None),
        ("https://github.com/webapp", None),
        ("ssh://host/~alice/webapp.git", None),
        ("", None),
    ],
)
def test_the_full_name_of_a_remote_is_the_forges(url: str, name: str | None) -> None:
    assert full_name_from_url(url) == name


def test_the_web_addresses_of_a_repository_and_its_commits() -> None:
    assert web_url("git@github.com:acme/webapp.git") == "https://github.com/acme/webapp"
    assert web_url("https://user:pw@gitlab.com/g/p.git") == "https://gitlab.com/g/p"
    assert (
        client.commit_url("https://github.com/acme/webapp", "abc")
        == "https://github.com/acme/webapp/commit/abc"
    )
    assert client.commit_url("https://gitlab.com/g/p", "abc") == "https://gitlab.com/g/p/-/commit/abc"
    assert client.commit_url("https://git.example.org/g/p", "abc") is None
    assert client.commit_url(None, "abc") is None


def test_the_repository_name_in_git_config_wins_over_origin(repo: Path) -> None:
    run_git(repo, "config", "togglbridge.repository", "acme/renamed")
    assert client.repository_of(repo) == ("acme/renamed", None)


def test_without_an_origin_the_commit_cannot_be_named(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "local")
    commit(repo, "First")
    with pytest.raises(ValueError, match=r"togglbridge\.repository"):
        client.read_commit(repo)


# -- the commit read --------------------------------------------------------------------------------------------


def test_the_commit_read_is_what_the_source_takes(repo: Path) -> None:
    commit(repo, "First", {"a.txt": "a", "b.txt": "b"})
    sha = commit(
        repo,
        "Second change\n\nWith a body.",
        {"a.txt": "changed", "b.txt": None, "c.txt": "c", "d.txt": "d"},
        GIT_COMMITTER_DATE="2026-11-02T10:15:42+01:00",
    )
    read = client.read_commit(repo)
    assert read["sha"] == sha and len(read["parents"]) == 1
    assert read["message"] == "Second change\n\nWith a body."
    assert read["author"] == {"name": "Alice Martin", "email": "alice@acme.io"}
    assert read["committed_at"] == "2026-11-02T10:15:42+01:00"
    assert (read["branch"], read["repository"]) == ("main", "acme/webapp")
    assert read["url"] == f"https://github.com/acme/webapp/commit/{sha}"
    assert (read["added"], read["removed"], read["modified"]) == (2, 1, 1)
    (event,) = SOURCE.parse({}, json.dumps({"commits": [read]}).encode())
    assert event.id == f"git:acme/webapp:{sha}"
    assert event.occurred_at == datetime(2026, 11, 2, 9, 15, 42, tzinfo=UTC)


def test_a_root_commit_counts_every_file_and_a_merge_has_two_parents(repo: Path) -> None:
    commit(repo, "Root", {"a.txt": "a", "b.txt": "b"})
    assert (client.read_commit(repo)["added"], client.read_commit(repo)["parents"]) == (2, [])
    run_git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "Feature", {"f.txt": "f"})
    run_git(repo, "checkout", "-q", "main")
    commit(repo, "Main", {"m.txt": "m"})
    run_git(repo, "merge", "-q", "--no-edit", "feature")
    merged = client.read_commit(repo)
    assert len(merged["parents"]) == 2 and merged["added"] == 1  # f.txt, against the first parent
    (event,) = SOURCE.parse({}, json.dumps({"commits": [merged]}).encode())
    assert event.data["merge"] is True


def test_a_detached_head_is_on_no_branch(repo: Path) -> None:
    first = commit(repo, "First")
    run_git(repo, "checkout", "-q", "--detach", first)
    commit(repo, "Detached")
    assert client.read_commit(repo)["branch"] is None


def test_a_worktree_shares_the_repositorys_spool(repo: Path, tmp_path: Path) -> None:
    commit(repo, "First")
    run_git(repo, "worktree", "add", "-q", str(tmp_path / "other"), "-b", "other")
    assert client.state_dir(tmp_path / "other") == client.state_dir(repo) == (repo / ".git" / "togglbridge")


# -- the spool --------------------------------------------------------------------------------------------------


def test_the_spool_keeps_each_commit_once_and_skips_a_torn_line(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    client.spool(directory, {"sha": "a"})
    client.spool(directory, {"sha": "b"})
    client.spool(directory, {"sha": "a"})
    with (directory / client.SPOOL_FILE).open("a") as spool:
        spool.write('{"sha": "c", "mess')  # a write cut short
    assert [c["sha"] for c in client.read_spool(directory)] == ["a", "b"]
    client.write_spool(directory, [])
    assert not (directory / client.SPOOL_FILE).exists() and client.read_spool(directory) == []


class Bridge:
    """A stand-in bridge: checks each request as the receiver would and answers ``statuses`` in turn."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.statuses: list[int] = []
        self.received: list[list[dict[str, Any]]] = []
        self.deliveries: list[str | None] = []


@pytest.fixture
def bridge() -> Iterator[tuple[Bridge, str]]:
    state = Bridge()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            status = 404
            if self.path == "/hooks/git":
                try:
                    SOURCE.verify(headers, body, state.secret, datetime.now(UTC))
                    SOURCE.parse(headers, body)
                    status = state.statuses.pop(0) if state.statuses else 202
                except SignatureError:
                    status = 401
                except PayloadError:
                    status = 400
            if status < 300:
                state.received.append(json.loads(body)["commits"])
                state.deliveries.append(SOURCE.delivery_id(headers))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_send_spools_the_commit_and_sends_the_whole_spool(
    repo: Path, bridge: tuple[Bridge, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = bridge
    monkeypatch.setenv(client.SECRET_ENV, SECRET)
    first = commit(repo, "First")
    assert client.send(repo, closed_port_url()) == 0
    directory = client.state_dir(repo)
    assert [c["sha"] for c in client.read_spool(directory)] == [first]
    assert "cannot be reached" in (directory / client.LOG_FILE).read_text()
    second = commit(repo, "Second")
    assert client.send(repo, url) == 2
    assert [[c["sha"] for c in batch] for batch in state.received] == [[first, second]]
    assert client.read_spool(directory) == []
    outcome = client.last_send(directory)
    assert outcome is not None and outcome[0] == "sent"
    # the same commits make the same delivery id, so a batch sent again after a lost answer is a duplicate
    assert state.deliveries[0] == client.delivery_body(state.received[0])[1]


def test_a_wrong_secret_keeps_the_spool_and_says_so_without_the_secret(
    repo: Path, bridge: tuple[Bridge, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = bridge
    monkeypatch.setenv(client.SECRET_ENV, "not-the-bridges-secret-at-all")
    commit(repo, "First")
    assert client.send(repo, url) == 0
    directory = client.state_dir(repo)
    assert len(client.read_spool(directory)) == 1
    text = (directory / client.LOG_FILE).read_text()
    assert "401" in text and "not-the-bridges-secret-at-all" not in text


def test_without_a_secret_the_commit_waits_in_the_spool(repo: Path, bridge: tuple[Bridge, str]) -> None:
    state, url = bridge
    commit(repo, "First")
    assert client.send(repo, url) == 0
    assert len(client.read_spool(client.state_dir(repo))) == 1 and state.received == []
    run_git(repo, "config", "--local", client.SECRET_CONFIG, SECRET)
    assert client.secret_of(repo) == (SECRET, f"git config {client.SECRET_CONFIG}")
    assert client.send(repo, url) == 1


def test_the_environment_secret_wins_over_the_stored_one(repo: Path) -> None:
    run_git(repo, "config", "--local", client.SECRET_CONFIG, "stored")
    assert client.secret_of(repo, {client.SECRET_ENV: "from-env"}) == ("from-env", client.SECRET_ENV)
    assert client.secret_of(repo, {}) == ("stored", "git config togglbridge.secret")


def test_a_stored_secret_is_a_file_only_its_owner_reads_and_replaces_the_git_config_one(repo: Path) -> None:
    run_git(repo, "config", "--local", client.SECRET_CONFIG, "kept by an earlier version")
    assert client.secret_of(repo, {}) == ("kept by an earlier version", "git config togglbridge.secret")
    previous = os.umask(0o022)  # what a shell usually has: files readable by everyone unless asked otherwise
    try:
        kept = client.store_secret(repo, SECRET)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert client.git_or_none(repo, "config", "--local", "--get", client.SECRET_CONFIG) is None
    assert client.secret_of(repo, {}) == (SECRET, str(kept))
    assert client.secret_of(repo, {client.SECRET_ENV: "from-env"}) == ("from-env", client.SECRET_ENV)
    assert [p.name for p in kept.parent.iterdir() if p.name.startswith(".")] == []  # no partial file left
    assert client.forget_stored_secret(repo) and client.secret_of(repo, {}) is None
    assert not client.forget_stored_secret(repo)


def test_a_commit_the_bridge_refuses_is_set_aside_and_the_others_go_through(
    repo: Path, bridge: tuple[Bridge, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = bridge
    monkeypatch.setenv(client.SECRET_ENV, SECRET)
    directory = client.state_dir(repo)
    directory.mkdir(parents=True)
    good = commit(repo, "Good")
    client.spool(directory, {"sha": "not a sha"})  # what no bridge takes
    assert client.send(repo, url) == 1
    assert [c["sha"] for batch in state.received for c in batch] == [good]
    assert client.read_spool(directory) == []
    rejected = (directory / client.REJECTED_FILE).read_text().splitlines()
    assert [json.loads(line)["sha"] for line in rejected] == ["not a sha"]


def test_a_bridge_without_the_endpoint_keeps_the_spool(
    repo: Path, bridge: tuple[Bridge, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = bridge
    monkeypatch.setenv(client.SECRET_ENV, SECRET)
    commit(repo, "First")
    assert client.send(repo, url + "/elsewhere") == 0
    assert len(client.read_spool(client.state_dir(repo))) == 1


def test_the_module_imports_the_standard_library_only() -> None:
    """It runs on every commit: nothing heavy, and nothing else of togglbridge but git_repo (itself standard
    library only)."""
    code = (
        "import sys, togglbridge.git_hook_client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'httpx', 'pydantic', 'redis', 'click'} "
        "or (m.startswith('togglbridge.') and m not in ('togglbridge.git_hook_client', 'togglbridge.git_repo'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_module_entry_point_needs_send_and_a_url() -> None:
    assert client.main([]) == 2
    assert client.main(["send"]) == 2


# -- install, uninstall, status ------------------------------------------------------------------------------------


OLD_HOOK = (
    b'#!/bin/sh\n# someone\'s own post-commit hook\necho ran >> "$(git rev-parse --git-dir)/old-hook-ran"\n'
)


def _old_hook(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(OLD_HOOK)
    path.chmod(0o750)


def test_install_chains_a_hook_and_uninstall_puts_it_back_byte_for_byte(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "post-commit"
    _old_hook(hook)
    paths, chained = install(repo, "http://bridge.example:8080")
    assert chained and paths.hook == hook and (hook.parent / CHAINED_NAME).read_bytes() == OLD_HOOK
    assert os.access(hook, os.X_OK)
    _, chained_again = install(repo, "http://bridge.example:9090")  # again: rewritten, nothing more chained
    assert not chained_again and "9090" in hook.read_text() and "8080" not in hook.read_text()
    assert (hook.parent / CHAINED_NAME).read_bytes() == OLD_HOOK
    _, removed, restored = uninstall(repo)
    assert removed and restored
    assert hook.read_bytes() == OLD_HOOK and stat.S_IMODE(hook.stat().st_mode) == 0o750
    assert not (hook.parent / CHAINED_NAME).exists()
    assert uninstall(repo)[1:] == (False, False)  # not ours any more: left alone
    assert hook.read_bytes() == OLD_HOOK


def test_install_twice_is_install_once(repo: Path) -> None:
    install(repo, "http://bridge.example:8080")
    hook = repo / ".git" / "hooks" / "post-commit"
    first = hook.read_bytes()
    install(repo, "http://bridge.example:8080")
    assert hook.read_bytes() == first and not (hook.parent / CHAINED_NAME).exists()
    uninstall(repo)
    assert not hook.exists()


def test_install_honours_core_hooks_path(repo: Path) -> None:
    run_git(repo, "config", "core.hooksPath", "ci/hooks")
    _old_hook(repo / "ci" / "hooks" / "post-commit")
    paths, chained = install(repo, "http://bridge.example:8080")
    assert paths.hooks == (repo / "ci" / "hooks").resolve() and chained
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    uninstall(repo)
    assert (repo / "ci" / "hooks" / "post-commit").read_bytes() == OLD_HOOK


def test_the_hook_runs_the_chained_one_and_never_fails_the_commit(repo: Path) -> None:
    _old_hook(repo / ".git" / "hooks" / "post-commit")
    install(repo, closed_port_url(), python="/nonexistent/python")  # the send cannot even start
    commit(repo, "First")  # check=True: the commit succeeds
    assert (repo / ".git" / "old-hook-ran").read_text() == "ran\n"


def test_install_refuses_a_url_that_is_not_http(repo: Path) -> None:
    with pytest.raises(HookError, match="http"):
        install(repo, "bridge.example:8080")


def test_install_outside_a_repository_says_so(tmp_path: Path) -> None:
    with pytest.raises(HookError, match="not inside a git repository"):
        hook_paths(tmp_path)


def test_the_command_line_installs_reports_and_uninstalls_without_showing_the_secret(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv(client.SECRET_ENV, SECRET)
    installed = runner.invoke(
        main,
        ["git-hook", "install", "--repo", str(repo), "--url", "http://bridge.example:8080", "--store-secret"],
    )
    assert installed.exit_code == 0, installed.output
    kept = client.state_dir(repo) / client.SECRET_FILE
    assert kept.read_text().strip() == SECRET and stat.S_IMODE(kept.stat().st_mode) == 0o600
    monkeypatch.delenv(client.SECRET_ENV)
    directory = client.state_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    client.spool(directory, {"sha": "a"})
    client.log(
        directory, "error", "the bridge at http://bridge.example:8080 cannot be reached (refused): 1 spooled"
    )
    status = runner.invoke(main, ["git-hook", "status", "--repo", str(repo)])
    assert status.exit_code == 0, status.output
    assert "hook: installed" in status.output and "http://bridge.example:8080/hooks/git" in status.output
    assert f"secret: from {kept}" in status.output
    assert "spooled: 1 commit" in status.output and "cannot be reached" in status.output
    hook_text = (repo / ".git" / "hooks" / "post-commit").read_text()
    for shown in (installed.output, status.output, hook_text):
        assert SECRET not in shown
    removed = runner.invoke(main, ["git-hook", "uninstall", "--repo", str(repo)])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert not kept.exists() and "removed the secret" in removed.output
    after = runner.invoke(main, ["git-hook", "status", "--repo", str(repo)])
    assert "hook: not installed" in after.output and "secret: not set" in after.output


def test_status_outside_a_repository_fails_with_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["git-hook", "status", "--repo", str(tmp_path)])
    assert result.exit_code == 1 and "not inside a git repository" in result.output


def test_the_commit_the_hook_saw_is_sent_even_when_another_came_before_the_sender_started(repo: Path) -> None:
    """A script or a rebase makes commits faster than the detached sender starts: each sender sends the commit its
    hook saw (passed by sha), not whatever HEAD is by then."""
    first = commit(repo, "First")
    second = commit(repo, "Second")
    client.send(repo, closed_port_url(), sha=first, branch="main")
    client.send(repo, closed_port_url(), sha=second, branch="main")
    spooled = client.read_spool(client.state_dir(repo))
    assert [c["sha"] for c in spooled] == [first, second]
    assert {c["branch"] for c in spooled} == {"main"}
