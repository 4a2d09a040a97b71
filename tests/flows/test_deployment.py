"""The scheduled deployment in prefect.yaml, deployed to a real Prefect server and read back.

A temporary Prefect server (`prefect server start`, its own PREFECT_HOME and SQLite database,
a free port on 127.0.0.1) is started as a subprocess; the test creates the process work pool
the deployment names, runs `prefect --no-prompt deploy --all` from the repository root as an
operator would (docs/operations.md), and reads the deployment back with the Prefect client:
cron schedule at 02:00 in its timezone and active, the parameters, the entrypoint, the work
pool, and the pull step that runs the flow from this checkout. The server's process group is
stopped in a `finally`, whatever happens.

About 30-50 s on a busy 2-core machine (server start ~15-20 s, the two CLI calls ~15 s), so
it stays in the default suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).parent / "prefect"
DEPLOYMENT = "rcm-nightly/nightly"
WORK_POOL = "rcm-local"
SERVER_START_TIMEOUT = 120  # seconds; ~15-20 s on a busy 2-core machine
CLI_TIMEOUT = 180
SCHEDULER_TIMEOUT = 60  # the scheduler picks up a new deployment within a few seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """The environment without any outside Prefect configuration, pointed at `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group, SIGKILL if it is still there after 20 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server on a free port; yields (api_url, PREFECT_HOME)."""
    home = tmp_path_factory.mktemp("prefect_home")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=_prefect_env(home),
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches all of it
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"prefect server exited with {proc.returncode}: "
                    + (home / "server.log").read_text()[-2000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server did not answer /api/health in {SERVER_START_TIMEOUT}s")
            time.sleep(0.5)
        yield api_url, home
    finally:
        _stop(proc)
        log.close()


def _prefect(args: list[str], api_url: str, home: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(PREFECT), *args],
        env=_prefect_env(home, api_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"prefect {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def deployed(prefect_server):
    """Work pool created and prefect.yaml deployed with the operator's commands."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url, home = prefect_server
    _prefect(["work-pool", "create", WORK_POOL, "--type", "process"], api_url, home)
    _prefect(["--no-prompt", "deploy", "--all"], api_url, home)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
            pool = client.read_work_pool(WORK_POOL)
    return deployment, pool


def _declared() -> dict:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (nightly,) = [d for d in config["deployments"] if d["name"] == "nightly"]
    return nightly


def test_schedule_is_nightly_at_two_in_its_timezone(deployed) -> None:
    from zoneinfo import ZoneInfo

    deployment, _ = deployed
    assert len(deployment.schedules) == 1
    (schedule,) = deployment.schedules
    assert schedule.active is True
    assert schedule.schedule.cron == "0 2 * * *"  # 02:00 every day
    assert schedule.schedule.timezone == "America/New_York"
    ZoneInfo(schedule.schedule.timezone)  # a real IANA zone (DST handled by Prefect)
    assert deployment.paused is False


def test_server_schedules_runs_at_two_new_york_time(prefect_server, deployed) -> None:
    """The server's scheduler turns the schedule into runs at 02:00 local (07:00 or 06:00 UTC)."""
    from zoneinfo import ZoneInfo

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url, _ = prefect_server
    deployment, _ = deployed
    runs = []
    deadline = time.monotonic() + SCHEDULER_TIMEOUT
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        with get_client(sync_client=True) as client:
            while not runs and time.monotonic() < deadline:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
                )
                runs = [run for run in runs if run.auto_scheduled]
                if not runs:
                    time.sleep(1)
    assert runs, f"no scheduled run within {SCHEDULER_TIMEOUT} s of the deployment"
    new_york = ZoneInfo("America/New_York")
    starts = sorted(run.expected_start_time.astimezone(new_york) for run in runs)
    assert all((start.hour, start.minute) == (2, 0) for start in starts), starts
    assert len({start.date() for start in starts}) == len(starts)  # one run a day
    assert all(run.parameters == deployment.parameters for run in runs)


def test_parameters_entrypoint_and_pool(deployed) -> None:
    deployment, pool = deployed
    declared = _declared()
    assert deployment.entrypoint == "flows/nightly.py:nightly"
    assert deployment.parameters == {
        "landing": "data/sample/landing",
        "warehouse": "data/warehouse.duckdb",
    }
    assert deployment.parameters == declared["parameters"]
    assert set(deployment.parameter_openapi_schema["properties"]) == {"landing", "warehouse"}
    assert deployment.work_pool_name == WORK_POOL
    assert deployment.work_queue_name == "default"
    assert pool.type == "process"


def test_flow_runs_from_this_checkout(deployed) -> None:
    """One pull step, set_working_directory to this checkout: nothing cloned or fetched."""
    deployment, _ = deployed
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    assert deployment.storage_document_id is None


def test_serve_uses_the_declared_deployment() -> None:
    """`python -m flows.serve` serves the same deployment: name, schedule, parameters."""
    from flows.serve import deployment_config

    config = deployment_config()
    assert config == _declared()
    assert config["name"] == "nightly"
    assert [(s["cron"], s["timezone"]) for s in config["schedules"]] == [
        ("0 2 * * *", "America/New_York")
    ]
