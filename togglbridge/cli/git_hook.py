"""``togglbridge git-hook install|uninstall|status [--repo PATH]``: the ``post-commit`` hook that sends each commit
to the bridge (``POST /hooks/git``) as it is made, before anything is pushed.

Install writes the hook where git looks for it (``git rev-parse --git-path hooks``, which honours
``core.hooksPath``). A ``post-commit`` already there that is not ours is renamed ``post-commit.togglbridge-chained``
and run first by ours; uninstall removes ours and renames that one back, so it is as it was, byte for byte. Our
hook is recognised by its marker line, which also records the bridge's URL; installing again rewrites it (a new
URL, a new python) and chains nothing more.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from togglbridge import git_hook_client as client

HOOK_NAME = "post-commit"
CHAINED_NAME = "post-commit.togglbridge-chained"
MARKER = "# togglbridge git hook: installed by `togglbridge git-hook install`"
URL_LINE = "# togglbridge-url: "
DEFAULT_URL = "http://127.0.0.1:8080"

repo_option = click.option(
    "--repo",
    "repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository (any directory inside its work tree).",
)


class HookError(Exception):
    """What stops an install or uninstall, said to the user."""


@dataclass(frozen=True)
class HookPaths:
    hooks: Path
    hook: Path
    chained: Path


def hook_paths(repo: Path) -> HookPaths:
    """Where git runs ``post-commit`` from for this repository: ``core.hooksPath`` when set, else ``.git/hooks``
    (the common dir's, for a worktree)."""
    try:
        hooks = Path(client.git(repo, "rev-parse", "--git-path", "hooks"))
    except (subprocess.CalledProcessError, OSError):
        raise HookError(f"{repo} is not inside a git repository") from None
    hooks = hooks if hooks.is_absolute() else (repo / hooks).resolve()
    return HookPaths(hooks, hooks / HOOK_NAME, hooks / CHAINED_NAME)


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace").splitlines()[:3]
    except (FileNotFoundError, IsADirectoryError):
        return False


def installed_url(path: Path) -> str | None:
    if not is_ours(path):
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(URL_LINE):
            return line.removeprefix(URL_LINE)
    return None


def hook_script(url: str, python: str) -> str:
    """The hook: the chained one first (its status cannot fail a commit: post-commit runs after it), then the
    client detached with every stream closed, so that neither git nor whatever runs git waits for the send."""
    command = shlex.join([python, "-m", "togglbridge.git_hook_client", "send", "--url", url])
    # The commit and its branch are read here, before the sender detaches: by the time it has started, a script
    # or a rebase may have made the next commit, and HEAD would name that one twice.
    return f"""#!/bin/sh
{MARKER}
{URL_LINE}{url}
# It runs the post-commit hook that was here before ({CHAINED_NAME}) first, then
# sends the commit to the bridge in the background: it never slows or fails a commit.
# `togglbridge git-hook uninstall` removes it and puts that hook back.
chained="$(dirname "$0")/{CHAINED_NAME}"
if [ -x "$chained" ]; then
    "$chained" "$@"
fi
sha="$(git rev-parse HEAD 2>/dev/null)"
branch="$(git symbolic-ref --quiet --short HEAD 2>/dev/null)"
nohup {command} --sha "$sha" --branch "$branch" </dev/null >/dev/null 2>&1 &
exit 0
"""


def _write_executable(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.togglbridge-tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o755)
    os.replace(temporary, path)


def install(repo: Path, url: str, python: str = sys.executable) -> tuple[HookPaths, bool]:
    """Install (or rewrite) our hook; True when a hook that was there is now chained."""
    if not url.startswith(("http://", "https://")):
        raise HookError(f"--url must be an http:// or https:// address, not {url!r}")
    paths = hook_paths(repo)
    paths.hooks.mkdir(parents=True, exist_ok=True)
    chained_now = False
    if (paths.hook.exists() or paths.hook.is_symlink()) and not is_ours(paths.hook):
        if paths.chained.exists() or paths.chained.is_symlink():
            raise HookError(
                f"{paths.hook} is not ours and {paths.chained} exists already: move one of them away first"
            )
        os.replace(paths.hook, paths.chained)  # a rename: the old hook keeps its bytes and its mode
        chained_now = True
    _write_executable(paths.hook, hook_script(url, python))
    return paths, chained_now


def uninstall(repo: Path) -> tuple[HookPaths, bool, bool]:
    """Remove our hook and put back the one it chained: (paths, removed, restored)."""
    paths = hook_paths(repo)
    if not is_ours(paths.hook):
        return paths, False, False
    paths.hook.unlink()
    restored = paths.chained.exists() or paths.chained.is_symlink()
    if restored:
        os.replace(paths.chained, paths.hook)
    return paths, True, restored


def _fail(error: HookError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@click.group("git-hook")
def git_hook_group() -> None:
    """The local post-commit hook: each commit reaches the bridge as it is made, before any push."""


@git_hook_group.command("install")
@repo_option
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    help="The bridge's address (the hook posts to <URL>/hooks/git).",
)
@click.option(
    "--store-secret",
    is_flag=True,
    help=(
        f"Keep the secret in .git/{client.STATE_DIR}/{client.SECRET_FILE} (readable by you alone, never committed), "
        f"read from ${client.SECRET_ENV} or asked for. Without it the hook reads ${client.SECRET_ENV} when you "
        "commit."
    ),
)
def install_command(repo: Path, url: str, store_secret: bool) -> None:
    """Install the post-commit hook (again: it is rewritten with this URL). A post-commit hook already there is
    kept and run first."""
    try:
        paths, chained = install(repo, url)
    except HookError as error:
        _fail(error)
        return
    click.echo(f"installed {paths.hook}, sending to {client.hook_url(url)}")
    if chained:
        click.echo(f"the hook that was there is now {paths.chained.name}, run first by ours")
    if store_secret:
        secret = os.environ.get(client.SECRET_ENV) or click.prompt(
            "The git hook secret (as the bridge's TOGGLBRIDGE_GIT_HOOK_SECRET)", hide_input=True
        )
        kept = client.store_secret(repo, secret)
        click.echo(f"the secret is in {kept} (readable by you alone, never committed)")
    elif client.secret_of(repo) is None:
        click.echo(
            f"no secret yet: set {client.SECRET_ENV} where you commit, or install again with --store-secret; "
            "until then commits wait in the spool"
        )


@git_hook_group.command("uninstall")
@repo_option
def uninstall_command(repo: Path) -> None:
    """Remove the hook (and the secret --store-secret kept), putting back the post-commit hook it chained."""
    try:
        paths, removed, restored = uninstall(repo)
    except HookError as error:
        _fail(error)
        return
    if not removed:
        click.echo(f"not installed: {paths.hook} is not togglbridge's hook; nothing changed")
        return
    click.echo(f"removed {paths.hook}")
    if restored:
        click.echo(f"restored the hook it chained ({paths.chained.name} -> {paths.hook.name})")
    if client.forget_stored_secret(repo):
        click.echo("removed the secret kept for this repository")
    waiting = len(client.read_spool(client.state_dir(repo)))
    if waiting:
        click.echo(f"{waiting} commits are still spooled in {client.state_dir(repo)} and will not be sent")


@git_hook_group.command("status")
@repo_option
def status_command(repo: Path) -> None:
    """Whether the hook is installed, where it sends, where the secret comes from (never the secret), how many
    commits wait in the spool and how the last send went."""
    try:
        paths = hook_paths(repo)
    except HookError as error:
        _fail(error)
        return
    url = installed_url(paths.hook)
    if url is not None:
        click.echo(f"hook: installed ({paths.hook})")
        click.echo(f"sends to: {client.hook_url(url)}")
    elif paths.hook.exists():
        click.echo(f"hook: not installed ({paths.hook} is another hook)")
    else:
        click.echo(f"hook: not installed ({paths.hooks})")
    if paths.chained.exists() or paths.chained.is_symlink():
        click.echo(f"chained: {paths.chained.name} (run first)")
    found = client.secret_of(repo)
    where = f"from {found[1]}" if found else f"not set ({client.SECRET_ENV} or install --store-secret)"
    click.echo(f"secret: {where}")
    directory = client.state_dir(repo)
    click.echo(f"spooled: {len(client.read_spool(directory))} commits ({directory / client.SPOOL_FILE})")
    rejected = directory / client.REJECTED_FILE
    if rejected.exists():
        count = sum(1 for line in rejected.read_text(encoding="utf-8").splitlines() if line.strip())
        click.echo(f"rejected: {count} commits the bridge refused ({rejected})")
    last = client.last_send(directory)
    click.echo(f"last send: {last[1] if last else 'none yet'}")
