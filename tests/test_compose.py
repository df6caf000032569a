"""docker-compose.yml cannot run here (no Docker engine): check its shape and every command against the CLI."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import requires
from pathlib import Path, PurePosixPath
from typing import Any

import click
import pytest
import yaml
from packaging.requirements import Requirement

from togglbridge.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _parse_cli(argv: list[str]) -> None:
    """Parse argv exactly as the `togglbridge` entry point would, without running the command."""
    program, name, *rest = argv
    assert program == "togglbridge"
    context = main.make_context(program, [name])
    command = main.get_command(context, name)
    if command is None:
        raise click.UsageError(f"{name} is not a togglbridge command")
    command.make_context(name, rest, parent=context)


def test_the_services_are_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"redis", "api", "worker", "beat", "flower", "prometheus", "grafana"}


def test_redis_is_durable_and_never_evicts(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    volume = redis["volumes"][0]
    assert volume.endswith(":/data") and volume.split(":")[0] in compose["volumes"]


def test_one_beat_and_flower_behind_a_profile(compose: dict[str, Any]) -> None:
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1
    assert compose["services"]["flower"]["profiles"] == ["monitoring"]
    for name in ("api", "worker", "beat"):
        assert "profiles" not in compose["services"][name]


@pytest.mark.parametrize("service", ["api", "worker", "beat"])
def test_each_command_is_a_real_cli_command(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    _parse_cli(spec["command"])
    assert spec["environment"]["TOGGLBRIDGE_REDIS_URL"].startswith("redis://redis:")


def test_a_wrong_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        _parse_cli(["togglbridge", "worker", "--no-such-option"])
    with pytest.raises(click.UsageError):
        _parse_cli(["togglbridge", "serve-everything"])


def test_flower_points_at_the_celery_app(compose: dict[str, Any]) -> None:
    # The command is a shell script (it checks the credential first); its last statement starts flower.
    last = compose["services"]["flower"]["command"][-1].rsplit(";", 1)[-1]
    assert shlex.split(last)[:5] == ["exec", "celery", "-A", "workers.app", "flower"]
    assert hasattr(importlib.import_module("workers.app"), "app")


def test_the_image_installs_what_the_commands_need() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY togglbridge" in dockerfile and "COPY workers" in dockerfile
    assert "[monitoring]" in dockerfile  # flower


# The image and the rest of the compose file. Nothing here builds or pulls: Docker has no engine on the machines
# that run these tests, so each check reads the files and runs what can run without it.

DOCKERFILE = ROOT / "Dockerfile"
CONSTRAINTS = ROOT / "constraints.txt"


@dataclass
class Instruction:
    keyword: str
    value: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for value in self.all("ENV"):
            for pair in shlex.split(value):
                key, _, setting = pair.partition("=")
                values[key] = setting
        return values


def _stages() -> list[Stage]:
    """The Dockerfile's stages: comments dropped, continued lines joined, one Instruction per instruction."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[Stage] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            image, _, name = value.partition(" AS ")
            stages.append(Stage(image.strip(), name.strip() or None))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, value))
    return stages


def _copies(stage: Stage) -> list[tuple[list[str], PurePosixPath]]:
    """(sources, absolute destination) of each COPY from the build context (not from another stage)."""
    copies = []
    workdir = PurePosixPath("/")
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = workdir / instruction.value
        if instruction.keyword != "COPY":
            continue
        words = shlex.split(instruction.value)
        if any(word.startswith("--from") for word in words):
            continue
        *sources, destination = [word for word in words if not word.startswith("--")]
        target = workdir / destination
        # A destination ending in / is a directory: each source lands inside it under its own name.
        copies += (
            [([source], target / PurePosixPath(source).name) for source in sources]
            if destination.endswith("/")
            else [(sources, target)]
        )
    return copies


def _in_image(stage: Stage, path: PurePosixPath) -> Path:
    """The repository file that ``stage`` copies to the absolute ``path`` (failing when none does)."""
    for sources, into in _copies(stage):
        if path == into or into in path.parents:
            (source,) = sources
            return ROOT / source / path.relative_to(into)
    raise AssertionError(f"nothing in the image's last stage is copied to {path}")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    """constraints.txt as {normalized name: version}; any line that is not an exact pin fails."""
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"not a pin: {line}"
        pins[_normalized(requirement.name)] = specifier.version
    return pins


def test_the_default_command_runs_the_bridge_with_a_rule_file_in_the_image() -> None:
    final = _stages()[-1]
    (cmd,) = final.all("CMD")
    argv = json.loads(cmd)  # the exec form: no shell between docker and the process, so signals reach it
    _parse_cli(argv)
    assert argv[1] == "up" and argv[argv.index("--host") + 1] == "0.0.0.0"
    # The rule file: named by the image's environment unless the command names one.
    config = (
        argv[argv.index("--config") + 1] if "--config" in argv else final.env()["TOGGLBRIDGE_CONFIG_FILE"]
    )
    workdir = PurePosixPath(final.all("WORKDIR")[-1])
    rule_file = _in_image(final, workdir / config)
    assert rule_file.is_file() and rule_file == ROOT / "examples" / "togglbridge.yaml"
    assert yaml.safe_load(rule_file.read_text())["identities"]


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert ".env" in ignored  # secrets never reach a builder
    for stage in _stages():
        for sources, _ in _copies(stage):
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
                assert source not in ignored and PurePosixPath(source).parts[0] not in ignored


def test_the_non_root_user_owns_the_data_dir() -> None:
    final = _stages()[-1]
    (user,) = final.all("USER")
    assert user not in ("root", "0")
    assert any(run.startswith("useradd") and run.split()[-1] == user for run in final.all("RUN"))
    data_dir = final.env()["TOGGLBRIDGE_DATA_DIR"]
    assert PurePosixPath(data_dir).is_absolute()
    commands = [part.strip() for run in final.all("RUN") for part in run.split("&&")]
    assert f"mkdir -p {data_dir}" in commands
    assert f"chown {user}:{user} {data_dir}" in commands
    # Created and chowned before the image switches to the user (RUN after USER would not be root).
    keywords = [(i.keyword, i.value) for i in final.instructions]
    assert keywords.index(("USER", user)) > max(
        n for n, (keyword, value) in enumerate(keywords) if keyword == "RUN" and data_dir in value
    )


def test_the_image_installs_pinned_versions() -> None:
    stages = _stages()
    installs = [run for stage in stages for run in stage.all("RUN") if "pip install" in run]
    project = [run for run in installs if "'.[monitoring]'" in run]
    assert project and all("-c constraints.txt" in run for run in project)
    build = next(stage for stage in stages if any(run in stage.all("RUN") for run in project))
    assert any("constraints.txt" in sources for sources, _ in _copies(build))
    # Every base image names its version; the Python one is the version constraints.txt is resolved for.
    makefile = (ROOT / "Makefile").read_text()
    (image_python,) = re.findall(r"^IMAGE_PYTHON := (\S+)$", makefile, re.MULTILINE)
    for stage in stages:
        assert re.fullmatch(rf"python:{re.escape(image_python)}-slim-\w+", stage.image), stage.image


def test_the_constraints_pin_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    wanted = [*project["dependencies"], *project["optional-dependencies"]["monitoring"]]
    for line in wanted:
        requirement = Requirement(line)
        name = _normalized(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in constraints.txt: run `make constraints`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} no longer meets pyproject.toml's {requirement}: run `make constraints`"
        )
        # What an extra pulls in (celery[redis], redis[hiredis]) is pinned too.
        for extra in requirement.extras:
            for needed in map(Requirement, requires(requirement.name) or []):
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    assert _normalized(needed.name) in pins, f"{needed.name} ({requirement}) is not pinned"


def test_the_constraints_say_how_to_regenerate_them() -> None:
    header = CONSTRAINTS.read_text().splitlines()[:3]
    assert any("make constraints" in line for line in header)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\.PHONY:.*\bconstraints\b", makefile, re.MULTILINE)
    (recipe,) = re.findall(r"^constraints:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert (
        "pip compile pyproject.toml --extra monitoring" in recipe
        and "--output-file constraints.txt" in recipe
    )
    assert "$(BIN)" not in recipe  # the tool runs from a throwaway venv, never from .venv


def test_redis_image_is_pinned(compose: dict[str, Any]) -> None:
    assert re.fullmatch(r"redis:\d+\.\d+(\.\d+)?-alpine", compose["services"]["redis"]["image"])


def test_the_rule_file_is_mounted_where_the_services_read_it(compose: dict[str, Any]) -> None:
    for name in ("api", "worker", "beat", "flower"):
        spec = compose["services"][name]
        (mount,) = spec["volumes"]
        assert mount["type"] == "bind" and mount["read_only"] is True
        # A missing ./togglbridge.yaml stops compose instead of becoming an empty directory.
        assert mount["bind"]["create_host_path"] is False
        assert mount["target"] == spec["environment"]["TOGGLBRIDGE_CONFIG_FILE"]
        assert (ROOT / "examples" / Path(mount["source"]).name).is_file()  # the README's `cp` source


def test_api_health_is_readiness(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    kind, program, flag, code = api["healthcheck"]["test"]
    assert (kind, program, flag) == ("CMD", "python", "-c")  # the slim image has no curl
    port = api["command"][api["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/readyz" in code and "timeout=" in code


def _free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
    return port


@pytest.mark.integration
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-down"])
def test_the_healthcheck_fails_when_redis_does(
    compose: dict[str, Any], redis_url: str, redis_up: bool
) -> None:
    """The healthcheck's own code, run against a real receiver: healthy only while Redis answers."""
    from celery import Celery

    from togglbridge.api.app import create_app
    from togglbridge.queues import QUEUE_INGEST, TASK_PLAN
    from togglbridge.serving import serve_in_thread
    from togglbridge.settings import Settings
    from togglbridge.sources.secrets import SourceSecrets

    url = redis_url if redis_up else f"redis://127.0.0.1:{_free_port()}/0"
    receiver = create_app(
        Settings(_env_file=None, redis_url=url),
        secrets=SourceSecrets.of(),
        redis_url=url,
        celery_app=Celery("healthcheck"),
        ingest_task=TASK_PLAN,
        ingest_queue=QUEUE_INGEST,
    )
    code = compose["services"]["api"]["healthcheck"]["test"][-1]
    with serve_in_thread(receiver, lifespan="on", name="healthcheck") as base:
        check = subprocess.run(
            [sys.executable, "-c", code.replace("http://127.0.0.1:8080", base)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert (check.returncode == 0) == redis_up, check.stderr


def test_flower_needs_a_credential_from_the_environment(compose: dict[str, Any]) -> None:
    flower = compose["services"]["flower"]
    # From .env or the shell, and no fallback credential in the file.
    assert flower["environment"]["FLOWER_BASIC_AUTH"] in ("${FLOWER_BASIC_AUTH:-}", "${FLOWER_BASIC_AUTH}")
    assert "basic_auth=" not in " ".join(flower["command"])  # never on a command line, where ps shows it
    # Reachable from the host only: basic auth over plain HTTP must not face the network.
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    assert "FLOWER_BASIC_AUTH" in (ROOT / ".env.example").read_text()


def _run_flower_command(
    compose: dict[str, Any], tmp_path: Path, credential: str | None
) -> subprocess.CompletedProcess[str]:
    """Flower's compose command through a real shell, with a stand-in `celery` that prints its arguments."""
    program, flag, script = compose["services"]["flower"]["command"]
    assert (program, flag) == ("sh", "-c")
    celery = tmp_path / "celery"
    celery.write_text('#!/bin/sh\necho "$@"\n')
    celery.chmod(0o755)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    if credential is not None:
        env["FLOWER_BASIC_AUTH"] = credential
    # Compose turns $$ into $ before the container sees the command.
    return subprocess.run(
        [program, flag, script.replace("$$", "$")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("credential", [None, ""])
def test_flower_refuses_to_start_without_a_credential(
    compose: dict[str, Any], tmp_path: Path, credential: str | None
) -> None:
    run = _run_flower_command(compose, tmp_path, credential)
    assert run.returncode != 0 and run.stdout == ""
    assert "FLOWER_BASIC_AUTH" in run.stderr


def test_flower_starts_on_the_celery_app_with_a_credential(compose: dict[str, Any], tmp_path: Path) -> None:
    from celery.bin.celery import celery as celery_cli

    run = _run_flower_command(compose, tmp_path, "admin:s3cret")
    assert run.returncode == 0, run.stderr
    argv = run.stdout.split()
    assert argv[:3] == ["-A", "workers.app", "flower"] and "--port=5555" in argv
    # celery's own options parse (flower's are tornado's and accept anything, so only celery's are checkable).
    context = celery_cli.make_context("celery", argv)
    assert context.params["app"] == "workers.app"


def test_task_events_are_off_until_flower_asks_for_them(compose: dict[str, Any]) -> None:
    """Task events cost a PUBLISH each; flower enables them in the workers while it runs (its enable_events
    option, on by default: the compose command must not turn it off)."""
    from celery import Celery

    from workers.app import configure

    conf = configure(Celery("events"), "redis://127.0.0.1:6379/12").conf
    assert conf.worker_send_task_events is False
    assert conf.task_send_sent_event is False
    assert "enable_events" not in " ".join(compose["services"]["flower"]["command"])


# -- the monitoring profile: Prometheus and Grafana beside flower --------------------------------------------------

PROMETHEUS_YML = ROOT / "examples" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "examples" / "grafana"
DASHBOARD = GRAFANA / "togglbridge-dashboard.json"
MONITORING = ("flower", "prometheus", "grafana")


def _mounts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A service's bind mounts by target (named volumes left out)."""
    return {m["target"]: m for m in spec["volumes"] if isinstance(m, dict) and m["type"] == "bind"}


def _script(spec: dict[str, Any]) -> str:
    program, flag, script = spec["entrypoint"]
    assert (program, flag) == ("sh", "-c")
    return str(script).replace("$$", "$")  # compose turns $$ into $ before the container sees it


def test_the_monitoring_profile_holds_flower_prometheus_and_grafana(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {name for name, spec in services.items() if spec.get("profiles") == ["monitoring"]} == set(
        MONITORING
    )
    for name in ("prometheus", "grafana"):
        assert re.fullmatch(rf"{'prom/prometheus' if name == 'prometheus' else 'grafana/grafana'}:v?\d+\.\d+\.\d+",
                            services[name]["image"])  # fmt: skip
    # No login in front of Prometheus, Grafana's over plain HTTP: reachable from this machine only.
    assert services["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]


def test_the_monitoring_files_are_mounted_read_only_and_exist(compose: dict[str, Any]) -> None:
    for name in ("prometheus", "grafana"):
        for target, mount in _mounts(compose["services"][name]).items():
            assert mount["read_only"] is True and mount["bind"]["create_host_path"] is False, target
            source = ROOT / mount["source"]
            assert source.exists(), f"{name} mounts {mount['source']}, which is not in the repository"
    grafana = _mounts(compose["services"]["grafana"])
    assert (ROOT / grafana["/etc/grafana/provisioning"]["source"]).resolve() == (GRAFANA / "provisioning")
    (dashboard_target,) = [t for t, m in grafana.items() if (ROOT / m["source"]).resolve() == DASHBOARD]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "togglbridge.yml").read_text())
    (dashboards,) = provider["providers"]
    assert dashboards["type"] == "file"
    assert PurePosixPath(dashboard_target).parent == PurePosixPath(dashboards["options"]["path"])


def test_prometheus_scrapes_the_receiver_with_the_token_as_a_secret(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    config_target = next(t for t, m in _mounts(prometheus).items() if (ROOT / m["source"]) == PROMETHEUS_YML)
    assert f"--config.file={config_target}" in _script(prometheus)
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    api = compose["services"]["api"]["command"]
    assert job["static_configs"] == [{"targets": [f"api:{api[api.index('--port') + 1]}"]}]
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/dashboard_token"}
    # The secret comes from the same variable the receiver reads, and is never written in a file of ours.
    assert prometheus["secrets"] == ["dashboard_token"]
    assert compose["secrets"]["dashboard_token"] == {"environment": "TOGGLBRIDGE_DASHBOARD_TOKEN"}
    assert "credentials:" not in PROMETHEUS_YML.read_text().replace("credentials_file:", "")
    assert re.search(r"^TOGGLBRIDGE_DASHBOARD_TOKEN=$", (ROOT / ".env.example").read_text(), re.MULTILINE)


def test_grafana_reads_prometheus_and_needs_a_password(compose: dict[str, Any]) -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "--web.listen-address" not in _script(compose["services"]["prometheus"])  # so 9090 it is
    grafana = compose["services"]["grafana"]
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password in ("${GRAFANA_ADMIN_PASSWORD:-}", "${GRAFANA_ADMIN_PASSWORD}")  # no fallback password
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GRAFANA_ADMIN_PASSWORD" in (ROOT / ".env.example").read_text()


def _run_entrypoint(script: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _stand_in(tmp_path: Path, name: str) -> Path:
    """A program that prints its arguments, in place of the image's own."""
    program = tmp_path / name
    program.write_text('#!/bin/sh\necho started "$@"\n')
    program.chmod(0o755)
    return program


@pytest.mark.parametrize("password", [None, ""])
def test_grafana_refuses_to_start_without_a_password(
    compose: dict[str, Any], tmp_path: Path, password: str | None
) -> None:
    script = _script(compose["services"]["grafana"]).replace("/run.sh", str(_stand_in(tmp_path, "run.sh")))
    run = _run_entrypoint(
        script, tmp_path, {} if password is None else {"GF_SECURITY_ADMIN_PASSWORD": password}
    )
    assert run.returncode != 0 and run.stdout == "" and "GRAFANA_ADMIN_PASSWORD" in run.stderr
    run = _run_entrypoint(script, tmp_path, {"GF_SECURITY_ADMIN_PASSWORD": "s3cret"})
    assert run.returncode == 0 and run.stdout.startswith("started"), run.stderr


@pytest.mark.parametrize("token", [None, ""])
def test_prometheus_refuses_to_start_without_the_token(
    compose: dict[str, Any], tmp_path: Path, token: str | None
) -> None:
    secret = tmp_path / "dashboard_token"
    if token is not None:
        secret.write_text(token)
    script = (
        _script(compose["services"]["prometheus"])
        .replace("/run/secrets/dashboard_token", str(secret))
        .replace("exec /bin/prometheus", f"exec {_stand_in(tmp_path, 'prometheus')}")
    )
    run = _run_entrypoint(script, tmp_path, {})
    assert run.returncode != 0 and run.stdout == "" and "TOGGLBRIDGE_DASHBOARD_TOKEN" in run.stderr
    secret.write_text("a-token")
    run = _run_entrypoint(script, tmp_path, {})
    assert run.returncode == 0 and "--config.file=/etc/prometheus/prometheus.yml" in run.stdout, run.stderr


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


METRIC_NAME = re.compile(r"\btogglbridge_[a-z0-9_]+\b")


@pytest.mark.integration
def test_the_dashboard_asks_only_for_what_the_bridge_exposes(redis_url: str) -> None:
    from tests.test_metrics import scraped_names

    dashboard = json.loads(DASHBOARD.read_text())
    assert 36 <= dashboard["schemaVersion"] <= 41 and dashboard["uid"] and dashboard["title"]
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    panels = [p for p in _panels(dashboard["panels"]) if p["type"] != "row"]
    assert len({p["id"] for p in _panels(dashboard["panels"])}) == len(list(_panels(dashboard["panels"])))
    asked: set[str] = set()
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["targets"] and {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
            asked |= set(METRIC_NAME.findall(target["expr"]))
    exposed = scraped_names(redis_url)
    assert asked <= exposed, (
        f"the dashboard asks for series /metrics does not have: {sorted(asked - exposed)}"
    )
    # ... and shows every metric the bridge has (a histogram through its buckets, a counter through _total)
    shown = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in asked}
    families = {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in exposed}
    assert families <= shown, f"no panel shows {sorted(families - shown)}"
