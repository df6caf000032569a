"""The import rules of pyproject.toml's [tool.importlinter] hold, so that `pytest` alone catches a violation
(`make lint` runs the same contracts)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import togglbridge
import togglbridge.toggl

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_simulator_contract_names_every_other_module() -> None:
    """The simulator's contract lists what it must not import; a module added to togglbridge joins the list."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (standalone,) = [c for c in contracts if c.get("source_modules") == ["togglbridge.toggl.sim"]]

    def children(package: object, prefix: str) -> set[str]:
        return {prefix + module.name for module in pkgutil.iter_modules(package.__path__)}  # type: ignore[attr-defined]

    everything_else = (
        (children(togglbridge, "togglbridge.") - {"togglbridge.toggl"})
        | (children(togglbridge.toggl, "togglbridge.toggl.") - {"togglbridge.toggl.sim"})
        | {"workers"}
    )
    assert set(standalone["forbidden_modules"]) == everything_else
